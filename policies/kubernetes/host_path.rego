package writegate.kubernetes

# no-host-path: a hostPath volume reads or writes the node's file system
# (kubelet credentials, the container runtime socket); only node agents in the
# allowed namespaces (default kube-system) may use it.
deny contains violation(
	"no-host-path",
	sprintf("volume %q uses hostPath: hostPath volumes are not allowed in namespace %q", [volume.name, input.request.namespace]),
) if {
	some volume in pod_spec.volumes
	volume.hostPath
	not input.request.namespace in host_path_namespaces
}
