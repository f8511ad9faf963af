package writegate.kubernetes_test

import data.writegate.kubernetes

app := pod_spec([container("app", "app:1.0")])

test_owner_label_required_on_every_workload_kind if {
	every kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"} {
		d := kubernetes.decision with input as workload_input(kind, {"app.kubernetes.io/name": "web"}, app)
		rules_of(d.deny) == {"require-owner-label"}
	}
}

test_owner_label_message if {
	d := kubernetes.deny with input as workload_input("StatefulSet", {"app.kubernetes.io/name": "web"}, app)
	d == {{
		"rule": "require-owner-label",
		"msg": `StatefulSet "web" has no "owner" label: set metadata.labels.owner to the owning team [require-owner-label]`,
	}}
}

test_owner_label_required_on_update if {
	doc := object.union(workload_input("Deployment", {}, app), {"request": {"operation": "UPDATE"}})
	d := kubernetes.deny with input as doc
	rules_of(d) == {"require-owner-label"}
}

test_empty_owner_label_denied if {
	d := kubernetes.deny with input as workload_input("Deployment", {"owner": "", "app.kubernetes.io/name": "web"}, app)
	rules_of(d) == {"require-owner-label"}
}

test_no_labels_at_all if {
	doc := json.remove(workload_input("Job", {}, app), ["request/object/metadata/labels"])
	d := kubernetes.decision with input as doc
	rules_of(d.deny) == {"require-owner-label"}
	rules_of(d.warn) == {"recommend-app-name-label"}
}

test_labelled_workload_allowed if {
	d := kubernetes.decision with input as workload_input("Deployment", good_labels, app)
	d.deny == set()
	d.warn == set()
}

test_missing_app_name_only_warns if {
	d := kubernetes.decision with input as workload_input("DaemonSet", {"owner": "team-web"}, app)
	d.allow == true
	d.warn == {{
		"rule": "recommend-app-name-label",
		"msg": `DaemonSet "web" has no "app.kubernetes.io/name" label: set it so that tools can group its resources [recommend-app-name-label]`,
	}}
}

test_pods_and_replicasets_need_no_owner if {
	d1 := kubernetes.decision with input as pod_input(app)
	d1.deny == set()
	d2 := kubernetes.decision with input as workload_input("ReplicaSet", {}, app)
	d2.deny == set()
	d2.warn == set()
}

test_subresource_updates_skip_labels if {
	doc := object.union(workload_input("Deployment", {}, app), {"request": {"operation": "UPDATE", "subResource": "status"}})
	d := kubernetes.decision with input as doc
	d.deny == set()
	d.warn == set()
}

test_delete_of_unlabelled_workload_not_judged_on_labels if {
	doc := object.union(workload_input("Deployment", {}, app), {"request": {"operation": "DELETE", "object": null}})
	d := kubernetes.decision with input as doc
	d.allow == true
}
