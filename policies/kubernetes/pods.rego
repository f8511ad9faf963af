package writegate.kubernetes

# Kinds that embed a pod template at spec.template.spec (apps/v1, batch/v1 and
# core/v1 ReplicationController, which would otherwise be a way around the rules).
template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}

# pod_spec is the PodSpec a CREATE or UPDATE would store, wherever the kind keeps
# it. It is undefined for DELETE (object is null) and CONNECT (object holds the
# connect options, not a pod), so pod rules never fire there.
pod_spec := input.request.object.spec if input.request.kind.kind == "Pod"

pod_spec := input.request.object.spec.template.spec if input.request.kind.kind in template_kinds

pod_spec := input.request.object.spec.jobTemplate.spec.template.spec if input.request.kind.kind == "CronJob"

# The three container lists of a PodSpec, with the words used in messages.
# Ephemeral containers arrive as an UPDATE of the pods/ephemeralcontainers
# subresource whose object is the whole Pod, so they are checked like the rest.
container_lists := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
}

# pod_containers holds one entry per container of the PodSpec under review.
pod_containers contains {"label": label, "container": container} if {
	some list, label in container_lists
	some container in pod_spec[list]
}
