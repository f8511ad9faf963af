package writegate.kubernetes

# CONNECT covers exec, attach, portforward and proxy subresources; request.object
# holds the options (PodExecOptions...), and subResource names the action.

# connect_action is the subresource ("exec", "attach", "portforward", "proxy").
connect_action := input.request.subResource

connect_action := "connect" if not input.request.subResource

# protected-namespace-connect: no shell or tunnel into a protected namespace,
# whoever asks.
deny contains violation(
	"protected-namespace-connect",
	sprintf("%s into %s %q in protected namespace %q is not allowed", [connect_action, input.request.resource.resource, input.request.name, input.request.namespace]),
) if {
	input.request.operation == "CONNECT"
	input.request.namespace in protected_namespaces
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
	input.request.operation == "CONNECT"
	not input.request.namespace in protected_namespaces
	not connect_group_member
}
