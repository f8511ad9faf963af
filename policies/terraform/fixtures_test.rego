# Input builders shared by the tests: plan documents shaped as
# policies/README.md defines them ("Terraform plan input").
package writegate.terraform_test

plan(changes) := {
	"version": "writegate.dev/v1",
	"kind": "terraform",
	"terraform_version": "1.11.4",
	"format_version": "1.2",
	"resource_changes": changes,
}

change(type, name, actions, before, after) := {
	"address": sprintf("%s.%s", [type, name]),
	"mode": "managed",
	"type": type,
	"name": name,
	"provider_name": "registry.terraform.io/hashicorp/aws",
	"actions": actions,
	"before": before,
	"after": after,
	"after_unknown": {},
}

create(type, name, after) := change(type, name, ["create"], null, after)

delete(type, name, before) := change(type, name, ["delete"], before, null)

rules_of(violations) := {v.rule | some v in violations}

clean := {"allow": true, "deny": set(), "warn": set()}
