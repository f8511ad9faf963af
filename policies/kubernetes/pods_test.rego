package writegate.kubernetes_test

import data.writegate.kubernetes

app_spec := pod_spec([container("app", "app:1.0")])

test_pod_spec_of_a_pod if {
	kubernetes.pod_spec == app_spec with input as pod_input(app_spec)
}

test_pod_spec_of_template_kinds if {
	every kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"} {
		kubernetes.pod_spec == app_spec with input as workload_input(kind, good_labels, app_spec)
	}
}

test_pod_spec_of_a_cronjob if {
	kubernetes.pod_spec == app_spec with input as workload_input("CronJob", good_labels, app_spec)
}

test_no_pod_spec_for_other_kinds if {
	doc := review({
		"kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
		"resource": {"group": "", "version": "v1", "resource": "configmaps"},
		"object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}, "spec": app_spec},
	})
	not kubernetes.pod_spec with input as doc
}

test_no_pod_spec_on_delete if {
	doc := object.union(pod_input(app_spec), {"request": {"operation": "DELETE", "object": null}})
	not kubernetes.pod_spec with input as doc
}

test_pod_containers_covers_all_three_lists if {
	all := {
		"containers": [container("app", "app:1.0")],
		"initContainers": [container("init", "init:1.0")],
		"ephemeralContainers": [container("debug", "busybox:1.36")],
	}
	labels := {[e.label, e.container.name] | some e in kubernetes.pod_containers} with input as pod_input(all)
	labels == {["container", "app"], ["init container", "init"], ["ephemeral container", "debug"]}
}
