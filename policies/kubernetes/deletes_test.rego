package writegate.kubernetes_test

import data.writegate.kubernetes

test_delete_in_production_denied if {
	d := kubernetes.deny with input as delete_input("pods", "production", "web-0")
	d == {{
		"rule": "protected-namespace-delete",
		"msg": `deleting pods "web-0" in protected namespace "production" is not allowed [protected-namespace-delete]`,
	}}
}

test_delete_in_kube_system_denied if {
	d := kubernetes.deny with input as delete_input("configmaps", "kube-system", "coredns")
	rules_of(d) == {"protected-namespace-delete"}
}

test_deletecollection_in_production_denied if {
	d := kubernetes.deny with input as delete_input("pods", "production", "")
	d == {{
		"rule": "protected-namespace-delete",
		"msg": `deleting all pods in protected namespace "production" (deletecollection) is not allowed [protected-namespace-delete]`,
	}}
}

test_delete_elsewhere_allowed if {
	d := kubernetes.decision with input as delete_input("pods", "staging", "web-0")
	d == {"allow": true, "deny": set(), "warn": set()}
	d2 := kubernetes.decision with input as delete_input("pods", "staging", "")
	d2.allow == true
}

test_delete_of_cluster_scoped_object_allowed if {
	d := kubernetes.decision with input as delete_input("clusterroles", "", "old-role")
	d.allow == true
}

test_delete_of_protected_namespace_denied if {
	every name in {"production", "kube-system"} {
		d := kubernetes.deny with input as namespace_delete_input(name)
		d == {{
			"rule": "protected-namespace-delete",
			"msg": sprintf("deleting protected namespace %q is not allowed [protected-namespace-delete]", [name]),
		}}
	}
}

# The gateway may leave request.namespace empty for the cluster-scoped Namespace
# object; the name alone must be enough.
test_delete_of_protected_namespace_with_empty_namespace_field if {
	doc := object.union(namespace_delete_input("production"), {"request": {"namespace": ""}})
	d := kubernetes.deny with input as doc
	rules_of(d) == {"protected-namespace-delete"}
}

test_delete_of_other_namespace_allowed if {
	d := kubernetes.decision with input as namespace_delete_input("feature-123")
	d.allow == true
}

test_deletecollection_of_namespaces_denied if {
	doc := object.union(namespace_delete_input(""), {"request": {"namespace": ""}})
	d := kubernetes.deny with input as doc
	rules_of(d) == {"protected-namespace-delete"}
}

test_create_in_production_allowed if {
	doc := object.union(workload_input("Deployment", good_labels, pod_spec([container("app", "app:1.0")])), {"request": {"namespace": "production"}})
	d := kubernetes.decision with input as doc
	d.allow == true
}
