# Audit rules for NetBox objects that exist (`writegate audit`): devices,
# prefixes and IP addresses, each POSTed as {"input": <audit document>} to
# /v1/data/writegate/netbox/audit/violations (policies/README.md, "Audit
# input"). An object is judged by the write rules as if it were created now,
# keeping the rules about what the object is.
package writegate.netbox.audit

import data.writegate.netbox

# The write rules that describe an object's state.
state_rules := {"device-name-pattern", "protected-vrf-prefix"}

# The write document a CREATE of the object would be.
review := {"request": {
	"operation": "CREATE",
	"resource": input.resource,
	"id": object.get(input.object, "id", null),
	"object": input.object,
	"oldObject": null,
}}

violations contains v if {
	input.operation == "AUDIT"
	found := netbox.deny with input as review
	some v in found
	v.rule in state_rules
}
