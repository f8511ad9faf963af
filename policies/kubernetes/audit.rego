# Audit rules for Kubernetes objects that exist (`writegate audit`). The audit
# POSTs {"input": <audit document>} to /v1/data/writegate/kubernetes/audit/violations
# once per object (policies/README.md, "Audit input"). The write rules judge
# what a write would store; an object that exists is judged by the same rules,
# as if it were created now, keeping the rules about what the object is (not
# about who writes it or how).
package writegate.kubernetes.audit

import data.writegate.kubernetes

# The write rules that describe an object's state.
state_rules := {"no-privileged-containers", "no-latest-tag", "no-host-path", "no-host-namespaces", "baseline-capabilities"}

# The admission review a CREATE of the object would be.
review := {"request": {
	"operation": "CREATE",
	"kind": input.context.kind,
	"namespace": object.get(input.object.metadata, "namespace", ""),
	"name": object.get(input.object.metadata, "name", ""),
	"object": input.object,
	"oldObject": null,
	"userInfo": {"username": "", "groups": []},
	"dryRun": false,
}}

violations contains v if {
	input.operation == "AUDIT"
	found := kubernetes.deny with input as review
	some v in found
	v.rule in state_rules
}
