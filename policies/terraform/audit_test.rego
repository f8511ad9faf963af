package writegate.terraform.audit_test

import data.writegate.terraform.audit

resource(type, values, tainted) := {
	"version": "writegate.dev/v1",
	"operation": "AUDIT",
	"source": "terraform",
	"resource": type,
	"address": sprintf("%s.this", [type]),
	"object": {"address": sprintf("%s.this", [type]), "mode": "managed", "type": type, "name": "this", "values": values, "tainted": tainted},
	"context": {},
}

test_tainted_resource_found if {
	found := audit.violations with input as resource("terraform_data", {"input": "x"}, true)
	{[v.rule, v.address] | some v in found} == {["tainted-resource", "terraform_data.this"]}
}

test_plan_rule_applies_to_state if {
	found := audit.violations with input as resource("cloudflare_record", {"name": "www", "type": "A", "ttl": 30, "proxied": false}, false)
	"dns-min-ttl" in {v.rule | some v in found}
}

test_clean_resource if {
	count(audit.violations) == 0 with input as resource("terraform_data", {"input": "x"}, false)
}
