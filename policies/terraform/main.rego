# The Terraform starter policy. `writegate check terraform PLAN.json` POSTs
# {"input": <plan document>} to /v1/data/writegate/terraform/decision once per
# plan; the document holds every resource change of `terraform show -json`
# (see policies/README.md, "Terraform plan input").
#
# Rules add violations to `deny` (the check fails) or `warn` (printed, the
# check passes). Each violation names the resource address it is about.
package writegate.terraform

decision := {"allow": count(deny) == 0, "deny": deny, "warn": warn}

# violation builds the object every rule returns: `rule` and `address` for
# machines (CI reports, tests) and `msg` for people, starting with the address
# and ending with the rule id.
violation(change, rule, msg) := {
	"rule": rule,
	"address": change.address,
	"msg": sprintf("%s: %s [%s]", [change.address, msg, rule]),
}

# managed holds the changes of managed resources; data sources (mode "data")
# are read, never written, and share type names with resources.
managed contains change if {
	some change in input.resource_changes
	change.mode == "managed"
}

# planned holds the managed resources that exist after apply with new values:
# creates, updates and both halves of a replacement. `after` is the planned
# object; a value Terraform knows only after apply is absent from it and true
# in `after_unknown`.
planned contains change if {
	some change in managed
	some action in change.actions
	action in {"create", "update"}
}

# deleted holds the managed resources that apply destroys: deletes and
# replacements (["delete", "create"] and ["create", "delete"]). `before` is the
# object as it is in the state.
deleted contains change if {
	some change in managed
	"delete" in change.actions
}
