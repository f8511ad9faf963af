package writegate.kubernetes

# no-direct-scheduling: the node a pod runs on is the scheduler's decision, made
# against taints, affinity, resources and the node restrictions. A Binding
# (pods/binding, or the older core/v1 bindings resource; both set the pod's
# spec.nodeName, pkg/registry/core/pod/storage/storage.go BindingREST) or a
# spec.nodeName set by the writer places a pod on the node the caller picks,
# a control-plane node included, and the kubelet there runs it. The scheduler
# talks to the apiserver directly, not through the gateway; callers named in
# scheduler_users (none by default) may still bind.
binding_write if input.request.subResource == "binding"

binding_write if {
	input.request.resource.group == ""
	input.request.resource.resource == "bindings"
}

deny contains violation(
	"no-direct-scheduling",
	sprintf("binding pod %q in namespace %q to a node is the scheduler's decision and is not allowed", [input.request.name, input.request.namespace]),
) if {
	binding_write
	not input.request.userInfo.username in scheduler_users
}

# stored_node_names holds the node name of the PodSpec stored now (oldObject),
# wherever the kind keeps it. A partial set, not a complete rule like
# pod_spec: the gateway's residual engine evaluates complete rules with
# several definitions on every write, to check them for conflicts.
stored_node_names contains input.request.oldObject.spec.nodeName if input.request.kind.kind == "Pod"

stored_node_names contains input.request.oldObject.spec.template.spec.nodeName if input.request.kind.kind in template_kinds

stored_node_names contains input.request.oldObject.spec.jobTemplate.spec.template.spec.nodeName if input.request.kind.kind == "CronJob"

# node_name_chosen holds for a write that picks the node: a create with a node
# name, or an update that sets or changes it. An update that keeps the stored
# node name (of a running pod, its status or ephemeral containers) decides
# nothing new.
node_name_chosen if {
	input.request.operation == "CREATE"
	pod_spec.nodeName != ""
}

node_name_chosen if {
	input.request.operation == "UPDATE"
	pod_spec.nodeName != ""
	not pod_spec.nodeName in stored_node_names
}

deny contains violation(
	"no-direct-scheduling",
	sprintf("%s %q sets spec.nodeName %q: which node runs a pod is the scheduler's decision; use a nodeSelector or affinity", [input.request.kind.kind, input.request.name, pod_spec.nodeName]),
) if {
	node_name_chosen
	not input.request.userInfo.username in scheduler_users
}
