package writegate.kubernetes

# Workloads that must say who owns them.
labelled_kinds := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

# labelled_write holds for a CREATE or UPDATE of a workload itself. Subresources
# (status, scale) are skipped, as an admission webhook registered for
# "deployments" skips "deployments/status": labels cannot change through them.
labelled_write if {
	input.request.operation in {"CREATE", "UPDATE"}
	input.request.kind.kind in labelled_kinds
	not input.request.subResource
}

has_label(key) if input.request.object.metadata.labels[key] != ""

# require-owner-label: on-call needs to know whom to page for a workload.
deny contains violation(
	"require-owner-label",
	sprintf("%s %q has no \"owner\" label: set metadata.labels.owner to the owning team", [input.request.kind.kind, input.request.name]),
) if {
	labelled_write
	not has_label("owner")
}

# recommend-app-name-label: the recommended label that dashboards and
# `kubectl get -l` group by; missing it is worth a warning, not a refusal.
warn contains violation(
	"recommend-app-name-label",
	sprintf("%s %q has no \"app.kubernetes.io/name\" label: set it so that tools can group its resources", [input.request.kind.kind, input.request.name]),
) if {
	labelled_write
	not has_label("app.kubernetes.io/name")
}
