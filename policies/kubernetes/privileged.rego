package writegate.kubernetes

# no-privileged-containers: a privileged container has every capability and the
# host's devices, so it can take over the node.
deny contains violation(
	"no-privileged-containers",
	sprintf("%s %q sets securityContext.privileged: privileged containers are not allowed", [entry.label, entry.container.name]),
) if {
	some entry in pod_containers
	entry.container.securityContext.privileged == true
}
