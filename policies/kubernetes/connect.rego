package writegate.kubernetes

# CONNECT covers exec, attach, portforward and proxy subresources; request.object
# holds the options (PodExecOptions...), and subResource names the action.

# Adding an ephemeral container (`kubectl debug`: an UPDATE or PATCH of
# pods/ephemeralcontainers, whose object is the whole Pod) starts a process of
# the caller's choosing inside a running pod, in its network namespace and,
# with targetContainerName, in a container's process namespace: what exec
# does. Such writes get exec's rules here besides the container rules that
# every pod write gets (pods.rego). A GET of the subresource is a read and
# never reaches the policy.
connect_like if input.request.operation == "CONNECT"

connect_like if ephemeral_containers_write

ephemeral_containers_write if {
	input.request.resource.group == ""
	input.request.resource.resource == "pods"
	input.request.subResource == "ephemeralcontainers"
}

# nodes/proxy (and the old /api/v1/proxy/nodes/<name> form, which arrives
# without a subresource) reaches the node's kubelet API, whose /exec, /run and
# /attach endpoints run commands in any pod on the node: exec into every
# namespace at once, protected ones included.
node_connect if {
	input.request.operation == "CONNECT"
	input.request.resource.group == ""
	input.request.resource.resource == "nodes"
}

# connect_action names the action in messages ("exec", "attach", "portforward",
# "proxy", "ephemeral container").
connect_action := input.request.subResource if {
	input.request.subResource
	not ephemeral_containers_write
}

connect_action := "ephemeral container" if ephemeral_containers_write

connect_action := "connect" if not input.request.subResource

# protected-namespace-connect: no shell or tunnel into a protected namespace,
# whoever asks.
deny contains violation(
	"protected-namespace-connect",
	sprintf("%s into %s %q in protected namespace %q is not allowed", [connect_action, input.request.resource.resource, input.request.name, input.request.namespace]),
) if {
	connect_like
	input.request.namespace in protected_namespaces
}

deny contains violation(
	"protected-namespace-connect",
	sprintf("%s into nodes %q reaches the kubelet, which runs commands in every pod of the node, protected namespaces included: not allowed", [connect_action, input.request.name]),
) if {
	node_connect
}

connect_group_member if {
	some group in input.request.userInfo.groups
	group in connect_groups
}

# connect-by-non-ops: elsewhere, members of the connect groups work silently and
# anyone else is let through with a warning that lands in the decision log.
warn contains violation(
	"connect-by-non-ops",
	sprintf("%q is not in %s: %s into %s %q in namespace %q is recorded for review", [input.request.userInfo.username, concat(" or ", connect_groups), connect_action, input.request.resource.resource, input.request.name, input.request.namespace]),
) if {
	connect_like
	not input.request.namespace in protected_namespaces
	not node_connect
	not connect_group_member
}
