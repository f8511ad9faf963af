# Audit rules for the resources of a Terraform state (`writegate audit
# --terraform-state FILE`): each managed resource of `terraform show -json
# STATE`, POSTed as {"input": <audit document>} to
# /v1/data/writegate/terraform/audit/violations (policies/README.md, "Audit
# input"). `object` is the state's resource: address, mode, type, name,
# values (sensitive parts replaced), tainted.
package writegate.terraform.audit

import data.writegate.terraform

# The plan rules judge a resource that exists as the create that would make it
# as it is now: every rule about what a resource is applies, none about deletes.
as_planned := {"resource_changes": [{
	"address": input.object.address,
	"mode": "managed",
	"type": input.object.type,
	"name": object.get(input.object, "name", ""),
	"actions": ["create"],
	"before": null,
	"after": object.get(input.object, "values", {}),
	"after_unknown": {},
}]}

violations contains v if {
	input.operation == "AUDIT"
	found := terraform.deny with input as as_planned
	some v in found
}

# tainted-resource: Terraform marked the resource tainted (its create or a
# provisioner failed), so it may be half made and the next apply destroys and
# replaces it.
violations contains terraform.violation(
	input.object,
	"tainted-resource",
	"the resource is tainted in the state (its create or a provisioner failed): fix it and apply again",
) if {
	input.operation == "AUDIT"
	input.object.tainted == true
}
