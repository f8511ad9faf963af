# Audit rules for Cloudflare objects that exist (`writegate audit`): zones, DNS
# records and rulesets, each POSTed as {"input": <audit document>} to
# /v1/data/writegate/cloudflare/audit/violations (policies/README.md, "Audit
# input"). An object is judged by the write rules as if it were created now,
# keeping the rules about what the object is.
package writegate.cloudflare.audit

import data.writegate.cloudflare

# The write rules that describe an object's state.
state_rules := {"dns-min-ttl", "apex-proxied", "dns-record-name"}

# The write document a CREATE of the object would be; zone names come with the
# audit document's context.
review := {"request": {
	"operation": "CREATE",
	"resource": input.resource,
	"name": object.get(input.object, "id", ""),
	"object": input.object,
	"oldObject": null,
	"zone": object.get(input.context, "zone", ""),
	"zoneName": object.get(input.context, "zoneName", ""),
}}

violations contains v if {
	input.operation == "AUDIT"
	found := cloudflare.deny with input as review
	some v in found
	v.rule in state_rules
}
