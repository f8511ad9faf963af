package writegate.kubernetes

# no-host-namespaces: hostNetwork, hostPID and hostIPC share the node's network
# stack, processes and IPC with the pod (Pod Security Standards, Baseline); like
# hostPath they are for node agents in the host-path namespaces only.
deny contains violation(
	"no-host-namespaces",
	sprintf("spec.%s is true: host namespaces are not allowed in namespace %q", [field, input.request.namespace]),
) if {
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	pod_spec[field] == true
	not input.request.namespace in host_path_namespaces
}

# Capabilities a container may add under the Pod Security Standards' Baseline
# profile (the container runtime's defaults); anything else (NET_ADMIN, SYS_ADMIN,
# SYS_PTRACE, ALL, ...) widens what a container can do to its node.
baseline_capabilities := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

# baseline-capabilities: a container adding a capability outside the Baseline set.
deny contains violation(
	"baseline-capabilities",
	sprintf("%s %q adds capability %q: only the Pod Security Baseline capabilities may be added", [entry.label, entry.container.name, capability]),
) if {
	some entry in pod_containers
	some capability in entry.container.securityContext.capabilities.add
	not capability in baseline_capabilities
}
