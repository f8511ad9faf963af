package writegate.terraform_test

import data.writegate.terraform

record(type, ttl) := create(type, "r", {"name": "app.example.com", "type": "A", "ttl": ttl})

test_short_ttl_denied if {
	every type in ["cloudflare_record", "cloudflare_dns_record", "aws_route53_record"] {
		every ttl in [0, 2, 30, 59] {
			rules_of(terraform.deny) == {"dns-min-ttl"} with input as plan([record(type, ttl)])
		}
	}
}

test_ttl_boundaries_allowed if {
	every type in ["cloudflare_record", "cloudflare_dns_record", "aws_route53_record"] {
		every ttl in [60, 300, 86400] {
			terraform.decision == clean with input as plan([record(type, ttl)])
		}
	}
}

test_cloudflare_automatic_ttl_allowed if {
	terraform.decision == clean with input as plan([record("cloudflare_record", 1)])
	terraform.decision == clean with input as plan([record("cloudflare_dns_record", 1)])
}

test_route53_ttl_1_denied if {
	d := terraform.deny with input as plan([record("aws_route53_record", 1)])
	d == {{
		"rule": "dns-min-ttl",
		"address": "aws_route53_record.r",
		"msg": "aws_route53_record.r: TTL 1 is under 60 seconds: use at least 60 [dns-min-ttl]",
	}}
}

test_cloudflare_message_offers_automatic if {
	d := terraform.deny with input as plan([record("cloudflare_dns_record", 30)])
	d == {{
		"rule": "dns-min-ttl",
		"address": "cloudflare_dns_record.r",
		"msg": "cloudflare_dns_record.r: TTL 30 is under 60 seconds: use at least 60 (or 1, automatic) [dns-min-ttl]",
	}}
}

test_alias_record_without_ttl_allowed if {
	alias := create("aws_route53_record", "apex", {"name": "example.com", "type": "A", "ttl": null, "alias": [{"name": "lb.example.com"}]})
	terraform.decision == clean with input as plan([alias])
}

test_update_to_short_ttl_denied if {
	update := change("aws_route53_record", "www", ["update"], {"ttl": 300}, {"ttl": 10})
	rules_of(terraform.deny) == {"dns-min-ttl"} with input as plan([update])
}

test_min_ttl_setting if {
	rules_of(terraform.deny) == {"dns-min-ttl"} with input as plan([record("aws_route53_record", 120)])
		with data.writegate.config.terraform.min_ttl as 300
}

test_unknown_ttl_warns if {
	r := object.union(create("aws_route53_record", "www", {"name": "www"}), {"after_unknown": {"ttl": true}})
	d := terraform.decision with input as plan([r])
	d.allow
	rules_of(d.warn) == {"unknown-at-plan"}
}
