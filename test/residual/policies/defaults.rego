# Boolean decision with a default, several allow bodies, helper functions, complex negation, `in` on arrays
# and objects, split.
package writegate.tricky.defaults

import rego.v1

default allow := false

admins := {"alice", "root"}

is_admin(user) if user in admins

is_admin(user) if startswith(user, "admin-")

protected(ns) if ns in ["kube-system", "kube-public"]

protected(ns) if {
	parts := split(ns, "-")
	parts[0] == "sys"
}

allow if is_admin(input.request.userInfo.username)

allow if {
	not protected(input.request.namespace)
	input.request.operation in {"CREATE", "UPDATE"}
	not privileged_anywhere
}

allow if {
	"break-glass" in input.request.userInfo.groups
	input.headers["x-ticket"]
}

privileged_anywhere if {
	some c in input.request.object.spec.containers
	c.securityContext.privileged
}
