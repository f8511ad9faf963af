package writegate.cloudflare_test

import data.writegate.cloudflare

test_short_ttl_create_denied if {
	d := cloudflare.deny with input as record_create(record("app.example.com", "A", 30, false, []))
	d == {{
		"rule": "dns-min-ttl",
		"msg": `DNS record "app.example.com" has TTL 30: use 1 (automatic) or at least 60 seconds [dns-min-ttl]`,
	}}
}

test_ttl_boundaries if {
	every ttl in [59, 2, 0] {
		d := cloudflare.deny with input as record_create(record("app.example.com", "A", ttl, false, []))
		rules_of(d) == {"dns-min-ttl"}
	}
	every ttl in [1, 60, 3600] {
		d := cloudflare.decision with input as record_create(record("app.example.com", "A", ttl, false, []))
		d == {"allow": true, "deny": set(), "warn": set()}
	}
}

test_string_ttl_denied if {
	d := cloudflare.deny with input as record_create(record("app.example.com", "A", "300", false, []))
	d == {{
		"rule": "dns-min-ttl",
		"msg": `DNS record "app.example.com" has TTL "300": give the TTL as a number [dns-min-ttl]`,
	}}
}

test_absent_ttl_allowed if {
	d := cloudflare.decision with input as record_create({"name": "app.example.com", "type": "A", "content": "192.0.2.1"})
	d.allow == true
}

test_short_ttl_update_denied if {
	old := record("mail.example.com", "A", 3600, false, [])
	d := cloudflare.deny with input as record_update(old, object.union(old, {"ttl": 30}))
	rules_of(d) == {"dns-min-ttl"}
}

test_delete_of_short_ttl_record_allowed if {
	d := cloudflare.decision with input as record_delete(record("mail.example.com", "A", 30, false, []))
	d.allow == true
}

test_min_ttl_setting if {
	d := cloudflare.deny with input as record_create(record("app.example.com", "A", 120, false, []))
		with data.writegate.config.cloudflare.min_ttl as 300
	rules_of(d) == {"dns-min-ttl"}
	d2 := cloudflare.decision with input as record_create(record("app.example.com", "A", 1, false, []))
		with data.writegate.config.cloudflare.min_ttl as 300
	d2.allow == true
}

test_unproxied_apex_denied if {
	every name in ["@", "@.", "example.com", "Example.COM", "example.com."] {
		d := cloudflare.deny with input as record_create(record(name, "A", 1, false, []))
		rules_of(d) == {"apex-proxied"}
	}
	d := cloudflare.deny with input as record_create(record("@", "AAAA", 1, false, []))
	d == {{
		"rule": "apex-proxied",
		"msg": `DNS AAAA record "@" at the zone apex must stay proxied: set "proxied" to true [apex-proxied]`,
	}}
}

test_apex_without_proxied_field_denied if {
	d := cloudflare.deny with input as record_create({"name": "example.com", "type": "CNAME", "content": "lb.example.net"})
	rules_of(d) == {"apex-proxied"}
}

test_apex_allowed_when_proxied_or_not_proxiable if {
	d := cloudflare.decision with input as record_create(record("example.com", "A", 1, true, []))
	d.allow == true
	every type in ["MX", "TXT", "NS"] {
		d2 := cloudflare.decision with input as record_create(record("example.com", type, 3600, false, []))
		d2.allow == true
	}
}

test_unproxied_non_apex_allowed if {
	every name in ["www.example.com", "example.com.evil.net", "sub.example.com"] {
		d := cloudflare.decision with input as record_create(record(name, "A", 1, false, []))
		d.allow == true
	}
}

test_unproxying_apex_denied if {
	old := record("example.com", "A", 1, true, [])
	d := cloudflare.deny with input as record_update(old, object.union(old, {"proxied": false}))
	rules_of(d) == {"apex-proxied"}
}

test_protected_record_delete_denied if {
	d := cloudflare.deny with input as record_delete(record("api.example.com", "A", 1, true, ["owner:platform", "protected:true"]))
	d == {{
		"rule": "protected-record-delete",
		"msg": `DNS record "api.example.com" is tagged "protected:true" and cannot be deleted: remove the tag first [protected-record-delete]`,
	}}
}

test_unprotected_record_delete_allowed if {
	# Only the exact tag protects: Cloudflare tags are name:value pairs.
	every tags in [[], ["protected:false"], ["owner:platform"], ["protected"]] {
		d := cloudflare.decision with input as record_delete(record("api.example.com", "A", 1, true, tags))
		d.allow == true
	}
}

test_protected_record_update_allowed if {
	old := record("api.example.com", "A", 1, true, ["protected:true"])
	d := cloudflare.decision with input as record_update(old, object.union(old, {"tags": []}))
	d.allow == true
}

test_protected_tag_setting if {
	d := cloudflare.deny with input as record_delete(record("api.example.com", "A", 1, true, ["keep:yes"]))
		with data.writegate.config.cloudflare.protected_tag as "keep:yes"
	rules_of(d) == {"protected-record-delete"}
}

test_batch_allowed if {
	old := record("legacy.example.com", "CNAME", 300, false, [])
	d := cloudflare.decision with input as batch([item_delete(old), item_create(record("app.example.com", "A", 1, true, []))])
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_batch_one_bad_item_denies_all if {
	good := record("app.example.com", "A", 1, true, [])
	bad := record("app2.example.com", "A", 10, false, [])
	d := cloudflare.decision with input as batch([item_create(good), item_create(bad)])
	d.allow == false
	d.deny == {{
		"rule": "dns-min-ttl",
		"msg": `items[1]: DNS record "app2.example.com" has TTL 10: use 1 (automatic) or at least 60 seconds [dns-min-ttl]`,
	}}
}

test_batch_reports_every_item if {
	protected := record("api.example.com", "A", 1, true, ["protected:true"])
	apex := record("example.com", "A", 1, true, [])
	d := cloudflare.deny with input as batch([item_delete(protected), item_put(apex, object.union(apex, {"proxied": false}))])
	{v.msg | some v in d} == {
		`items[0]: DNS record "api.example.com" is tagged "protected:true" and cannot be deleted: remove the tag first [protected-record-delete]`,
		`items[1]: DNS A record "example.com" at the zone apex must stay proxied: set "proxied" to true [apex-proxied]`,
	}
}

test_batch_item_without_operation_denied if {
	d := cloudflare.deny with input as batch([{"object": record("app.example.com", "A", 1, true, [])}])
	rules_of(d) == {"malformed-input"}
}

test_other_resources_unaffected if {
	i := cf_input({
		"operation": "CREATE", "method": "POST", "path": "/client/v4/zones/x/workers/routes",
		"resource": "workers/routes", "body": {"ttl": 5}, "object": {"ttl": 5, "name": "@", "type": "A"},
	})
	d := cloudflare.decision with input as i
	d.allow == true
}

test_name_with_whitespace_denied if {
	every name in [" example.com", "example.com\t", "@\u00a0", "www. example.com", "\ufeffwww.example.com"] {
		d := cloudflare.deny with input as record_create(record(name, "TXT", 1, false, []))
		rules_of(d) == {"dns-record-name"}
	}
	d := cloudflare.deny with input as record_create(record(" @", "A", 1, true, []))
	d == {{
		"rule": "dns-record-name",
		"msg": `DNS record name " @" contains whitespace: write the name without it [dns-record-name]`,
	}}
}

test_delete_of_name_with_whitespace_allowed if {
	d := cloudflare.decision with input as record_delete(record(" odd", "TXT", 1, false, []))
	d.allow == true
}

test_ci_creates_and_updates_records if {
	new := record("app.example.com", "A", 300, false, [])
	d := cloudflare.decision with input as as_caller(record_create(new), ci_bot)
	d == {"allow": true, "deny": set(), "warn": set()}
	u := cloudflare.decision with input as as_caller(record_update(new, object.union(new, {"ttl": 600})), ci_bot)
	u.allow == true
}

test_ci_record_delete_denied if {
	d := cloudflare.deny with input as as_caller(record_delete(record("app.example.com", "A", 300, false, [])), ci_bot)
	d == {{
		"rule": "ci-no-record-delete",
		"msg": `DNS record "app.example.com" cannot be deleted by the CI identity "deploy-bot": a person deletes records [ci-no-record-delete]`,
	}}
}

test_ci_record_delete_in_a_batch_denied if {
	old := record("legacy.example.com", "CNAME", 300, false, [])
	d := cloudflare.deny with input as as_caller(batch([item_delete(old), item_create(record("app.example.com", "A", 1, true, []))]), ci_bot)
	{v.msg | some v in d} == {`items[0]: DNS record "legacy.example.com" cannot be deleted by the CI identity "deploy-bot": a person deletes records [ci-no-record-delete]`}
}

test_ci_groups_from_operator_data if {
	d := cloudflare.decision with input as as_caller(record_delete(record("app.example.com", "A", 300, false, [])), ci_bot)
		with data.writegate.config.cloudflare.ci_groups as ["release-bots"]
	d.allow == true
}
