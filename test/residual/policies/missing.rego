# Undefined propagation: `!=` on a missing field is undefined (so false), `not ... ==` on a missing field is true,
# object.get defaults, and truthiness of refs (`false` fails, any other defined value holds).
package writegate.tricky.missing

import rego.v1

default allow := false

allow if {
	input.request.namespace != "kube-system"
	not input.request.userInfo.username == "mallory"
	object.get(input.request, ["object", "metadata", "labels", "tier"], "none") != "forbidden"
}

allow if {
	input.request.dryRun
	input.request.operation == "DELETE"
}

warn contains "no name" if {
	input.request.operation == "CREATE"
	not input.request.name
}

decision := {"allow": allow, "deny": set(), "warn": warn}
