# A package-level decision path (`writegate/tricky/pkg`, the style of many policy libraries): OPA answers the
# package object, whose allow, deny and warn the gate reads. Its helper rules belong to that object too, so
# one that raised a conflict would make OPA's answer an error.
package writegate.tricky.pkg

import rego.v1

default allow := false

allow if input.request.operation in {"CREATE", "UPDATE"}

allow if input.request.userInfo.username == "alice"

deny contains msg if {
	some c in input.request.object.spec.containers
	c.securityContext.privileged
	msg := sprintf("privileged container %v", [c.name])
}

warn contains "no namespace" if not input.request.namespace

team := input.request.object.metadata.labels.team

dev_namespaces := {"dev", "qa"}
