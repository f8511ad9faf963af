package writegate.kubernetes_test

import data.writegate.kubernetes

scheduler := {"username": "system:kube-scheduler", "groups": ["system:authenticated"]}

test_pod_binding_denied if {
	every user in [alice, admin] {
		d := kubernetes.deny with input as binding_input("default", "web-0", user)
		d == {{
			"rule": "no-direct-scheduling",
			"msg": `binding pod "web-0" in namespace "default" to a node is the scheduler's decision and is not allowed [no-direct-scheduling]`,
		}}
	}
}

# POST /api/v1/namespaces/<ns>/bindings, the resource pods/binding replaced.
test_bindings_resource_denied if {
	doc := json.remove(object.union(binding_input("default", "web-0", alice), {"request": {"resource": {"resource": "bindings"}}}), ["request/subResource", "request/requestSubResource"])
	d := kubernetes.deny with input as doc
	rules_of(d) == {"no-direct-scheduling"}
}

test_scheduler_users_may_bind if {
	d := kubernetes.decision with input as binding_input("default", "web-0", scheduler)
		with data.writegate.config.kubernetes.scheduler_users as ["system:kube-scheduler"]
	d.allow == true
	denied := kubernetes.decision with input as binding_input("default", "web-0", scheduler)
	denied.allow == false
}

on_node(spec) := object.union(spec, {"nodeName": "control-plane-1"})

test_pod_created_on_a_chosen_node_denied if {
	d := kubernetes.deny with input as pod_input(on_node(app_spec))
	d == {{
		"rule": "no-direct-scheduling",
		"msg": `Pod "web" sets spec.nodeName "control-plane-1": which node runs a pod is the scheduler's decision; use a nodeSelector or affinity [no-direct-scheduling]`,
	}}
}

test_template_on_a_chosen_node_denied if {
	every kind in {"Deployment", "DaemonSet", "Job", "CronJob"} {
		d := kubernetes.deny with input as workload_input(kind, good_labels, on_node(app_spec))
		rules_of(d) == {"no-direct-scheduling"}
	}
}

test_empty_node_name_allowed if {
	d := kubernetes.decision with input as pod_input(object.union(app_spec, {"nodeName": ""}))
	d.allow == true
}

# An update of a scheduled pod (labels, status, ephemeral containers) keeps the
# node the scheduler chose.
test_update_keeping_the_node_allowed if {
	pod := pod_input(on_node(app_spec))
	doc := object.union(pod, {"request": {"operation": "UPDATE", "oldObject": pod.request.object}})
	d := kubernetes.decision with input as doc
	d.allow == true
	debug := kubernetes.decision with input as ephemeral_input("staging", on_node(debug_spec), ops_user)
	debug.allow == true
}

test_update_choosing_a_node_denied if {
	old := workload_input("Deployment", good_labels, app_spec)
	new := workload_input("Deployment", good_labels, on_node(app_spec))
	doc := object.union(new, {"request": {"operation": "UPDATE", "oldObject": old.request.object}})
	d := kubernetes.deny with input as doc
	rules_of(d) == {"no-direct-scheduling"}
	moved := object.union(doc, {"request": {"oldObject": {"spec": {"template": {"spec": {"nodeName": "worker-1"}}}}}})
	d2 := kubernetes.deny with input as moved
	rules_of(d2) == {"no-direct-scheduling"}
}

test_cronjob_update_keeping_the_node_allowed if {
	job := workload_input("CronJob", good_labels, on_node(app_spec))
	doc := object.union(job, {"request": {"operation": "UPDATE", "oldObject": job.request.object}})
	d := kubernetes.decision with input as doc
	d.allow == true
}
