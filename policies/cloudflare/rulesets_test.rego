package writegate.cloudflare_test

import data.writegate.cloudflare

managed_phase := "http_request_firewall_managed"

test_entrypoint_put_dropping_managed_rule_denied if {
	d := cloudflare.deny with input as entrypoint_put(managed_phase, [execute_rule], [block_rule])
	d == {{
		"rule": "keep-managed-rules",
		"msg": `the change drops the rule that executes managed ruleset "efb7b8c949ac4650a09736fc376e9aee": keep it, enabled, in the ruleset [keep-managed-rules]`,
	}}
}

test_entrypoint_put_with_no_rules_denied if {
	d := cloudflare.deny with input as entrypoint_put(managed_phase, [execute_rule], [])
	rules_of(d) == {"keep-managed-rules"}
}

test_entrypoint_put_disabling_managed_rule_denied if {
	d := cloudflare.deny with input as entrypoint_put(managed_phase, [execute_rule], [object.union(execute_rule, {"enabled": false})])
	rules_of(d) == {"keep-managed-rules"}
}

test_entrypoint_put_swapping_managed_ruleset_denied if {
	other := object.union(execute_rule, {"action_parameters": {"id": "4d21379b4f9f4bb088e0729962c8b3cf"}})
	d := cloudflare.deny with input as entrypoint_put(managed_phase, [execute_rule], [other])
	rules_of(d) == {"keep-managed-rules"}
}

test_entrypoint_put_keeping_managed_rule_allowed if {
	d := cloudflare.decision with input as entrypoint_put(managed_phase, [execute_rule], [block_rule, object.union(execute_rule, {"enabled": true})])
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_entrypoint_put_adding_managed_rule_allowed if {
	d := cloudflare.decision with input as entrypoint_put(managed_phase, [], [execute_rule])
	d.allow == true
}

test_disabled_managed_rule_may_go if {
	d := cloudflare.decision with input as entrypoint_put(managed_phase, [object.union(execute_rule, {"enabled": false})], [])
	d.allow == true
}

test_ruleset_delete_with_managed_rule_denied if {
	i := cf_input({
		"operation": "DELETE", "method": "DELETE",
		"path": sprintf("/client/v4/zones/%s/rulesets/4814384a9e5d4991b9815dcfc25d2f1f", [zone_id]),
		"resource": "rulesets", "name": "4814384a9e5d4991b9815dcfc25d2f1f",
		"oldObject": ruleset(managed_phase, [execute_rule]),
	})
	d := cloudflare.deny with input as i
	rules_of(d) == {"keep-managed-rules"}
}

test_rule_delete_of_managed_rule_denied if {
	# DELETE .../rulesets/<id>/rules/<rule id> is an UPDATE of the ruleset:
	# `object` is the ruleset without the rule.
	i := cf_input({
		"operation": "UPDATE", "method": "DELETE",
		"path": sprintf("/client/v4/zones/%s/rulesets/4814384a9e5d4991b9815dcfc25d2f1f/rules/3a03d665bac047339bb530ecb439a90d", [zone_id]),
		"resource": "rulesets", "name": "4814384a9e5d4991b9815dcfc25d2f1f",
		"object": ruleset(managed_phase, [block_rule]), "oldObject": ruleset(managed_phase, [block_rule, execute_rule]),
	})
	d := cloudflare.deny with input as i
	rules_of(d) == {"keep-managed-rules"}
}

test_custom_firewall_rules_warned if {
	d := cloudflare.decision with input as entrypoint_put("http_request_firewall_custom", [], [block_rule])
	d.allow == true
	d.warn == {{
		"rule": "review-rule-change",
		"msg": "custom firewall rules changed: check them with the zone's owners, they apply to all traffic of the zone [review-rule-change]",
	}}
}

test_other_phases_not_warned if {
	d := cloudflare.decision with input as entrypoint_put("http_request_redirect", [], [block_rule])
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_page_and_firewall_rule_writes_warned if {
	every resource in ["pagerules", "firewall/rules"] {
		every op in ["CREATE", "UPDATE", "DELETE"] {
			i := cf_input({"operation": op, "method": "POST", "path": "/client/v4/zones/x/pagerules", "resource": resource})
			d := cloudflare.decision with input as i
			d.allow == true
			rules_of(d.warn) == {"review-rule-change"}
		}
	}
	i := cf_input({"operation": "CREATE", "method": "POST", "path": "/client/v4/zones/x/pagerules", "resource": "pagerules"})
	w := cloudflare.warn with input as i
	w == {{
		"rule": "review-rule-change",
		"msg": "page rule created: check it with the zone's owners, it applies to all traffic of the zone [review-rule-change]",
	}}
}

test_unknown_operation_denied if {
	i := cf_input({"operation": "CONNECT", "method": "POST", "path": "/client/v4/zones/x/purge_cache", "resource": "purge_cache"})
	d := cloudflare.deny with input as i
	d == {{
		"rule": "malformed-input",
		"msg": `operation "CONNECT" is not CREATE, UPDATE or DELETE: the gateway's input is malformed [malformed-input]`,
	}}
}
