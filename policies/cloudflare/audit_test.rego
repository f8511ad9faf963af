package writegate.cloudflare.audit_test

import data.writegate.cloudflare.audit

record(name, ttl, proxied) := {
	"version": "writegate.dev/v1",
	"operation": "AUDIT",
	"source": "cloudflare",
	"resource": "dns_records",
	"address": "zones/example.com/dns_records/r1",
	"object": {"id": "r1", "name": name, "type": "A", "content": "192.0.2.1", "ttl": ttl, "proxied": proxied},
	"context": {"zone": "z1", "zoneName": "example.com"},
}

test_short_ttl_found if {
	found := audit.violations with input as record("mail.example.com", 30, false)
	{v.rule | some v in found} == {"dns-min-ttl"}
}

test_unproxied_apex_found if {
	found := audit.violations with input as record("example.com", 3600, false)
	{v.rule | some v in found} == {"apex-proxied"}
}

test_automatic_ttl_is_clean if {
	count(audit.violations) == 0 with input as record("www.example.com", 1, true)
}

test_ruleset_is_clean if {
	ruleset := {
		"version": "writegate.dev/v1", "operation": "AUDIT", "source": "cloudflare", "resource": "rulesets",
		"address": "zones/example.com/rulesets/rs1", "object": {"id": "rs1", "rules": []},
		"context": {"zone": "z1", "zoneName": "example.com"},
	}
	count(audit.violations) == 0 with input as ruleset
}
