# Iteration over arrays and objects, `some ... in`, `every`, comprehensions, `in` with sets and arrays,
# string builtins, partial set rules feeding other rules, messages built with sprintf.
package writegate.tricky.iteration

import rego.v1

containers contains c if some c in input.request.object.spec.containers

containers contains c if some c in input.request.object.spec.template.spec.containers

deny contains {"msg": sprintf("container %s is privileged", [c.name]), "rule": "privileged"} if {
	some c in containers
	c.securityContext.privileged == true
}

deny contains {"msg": "image from untrusted registry", "image": c.image} if {
	some c in containers
	not startswith(c.image, "reg.io/")
	not c.image in {"nginx:1.25", "busybox"}
}

deny contains "latest tag" if {
	some c in containers
	endswith(c.image, ":latest")
}

deny contains msg if {
	some k, v in input.request.object.metadata.labels
	contains(k, "secret")
	msg := concat("", ["label ", k, " looks secret: ", v])
}

warn contains "no resources" if {
	some c in containers
	not c.resources
}

warn contains "many containers" if count(containers) > 3

warn contains "ops label" if {
	names := [n | some n, _ in input.request.object.metadata.labels; startswith(n, "ops.")]
	count(names) > 0
}

deny contains "all must be named" if {
	count(containers) > 0
	not every_named
}

every_named if {
	every c in containers {
		is_string(c.name)
		c.name != ""
	}
}

decision := {"deny": deny, "warn": warn}
