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

test_delete_of_other_namespace_allowed_to_platform_admins if {
	d := kubernetes.decision with input as namespace_delete_as("feature-123", platform_admin, null)
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_delete_of_other_namespace_denied_outside_platform_admins if {
	d := kubernetes.deny with input as namespace_delete_input("feature-123")
	d == {{
		"rule": "namespace-delete-group",
		"msg": `deleting namespace "feature-123" is reserved to members of platform-admins, and "alice" is not one [namespace-delete-group]`,
	}}
}

# Asking the apiserver to act as a platform admin does not make the caller one.
test_namespace_delete_impersonating_an_admin_denied if {
	d := kubernetes.deny with input as namespace_delete_as("feature-123", alice, platform_admin)
	rules_of(d) == {"namespace-delete-group"}
}

# A platform admin cannot delete a namespace as someone who may not.
test_namespace_delete_by_an_admin_impersonating_an_outsider_denied if {
	d := kubernetes.deny with input as namespace_delete_as("feature-123", platform_admin, alice)
	d == {{
		"rule": "namespace-delete-group",
		"msg": `deleting namespace "feature-123" is reserved to members of platform-admins, and the impersonated "alice" is not one [namespace-delete-group]`,
	}}
}

test_namespace_delete_by_an_admin_impersonating_an_admin_allowed if {
	d := kubernetes.decision with input as namespace_delete_as("feature-123", platform_admin, platform_admin)
	d.allow == true
}

test_namespace_delete_groups_from_operator_data if {
	d := kubernetes.decision with input as namespace_delete_input("feature-123")
		with data.writegate.config.kubernetes.namespace_delete_groups as ["devs"]
	d.allow == true
}

# Deleting anything else in a namespace is not reserved.
test_delete_in_namespace_not_reserved if {
	d := kubernetes.decision with input as delete_input("configmaps", "feature-123", "settings")
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

# F10 (issue 8): an eviction deleted a pod in kube-system while the DELETE of
# the same pod was denied.
test_eviction_in_protected_namespace_denied if {
	d := kubernetes.deny with input as eviction_input("kube-system", "coredns-0")
	d == {{
		"rule": "protected-namespace-delete",
		"msg": `evicting pods "coredns-0" in protected namespace "kube-system" is not allowed [protected-namespace-delete]`,
	}}
}

test_eviction_gets_the_decision_of_the_delete_it_amounts_to if {
	every ns in {"production", "kube-system", "staging", "dev"} {
		evict := kubernetes.decision with input as eviction_input(ns, "web-0")
		delete := kubernetes.decision with input as delete_input("pods", ns, "web-0")
		evict.allow == delete.allow
	}
}

test_eviction_elsewhere_allowed if {
	d := kubernetes.decision with input as eviction_input("staging", "web-0")
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_deletion_covers_deletes_and_evictions if {
	kubernetes.deletion with input as delete_input("pods", "staging", "web-0")
	kubernetes.deletion with input as eviction_input("staging", "web-0")
	not kubernetes.deletion with input as pod_input(pod_spec([container("app", "app:1.0")]))
}

test_eviction_honours_operator_namespaces if {
	d := kubernetes.deny with input as eviction_input("payments", "web-0")
		with data.writegate.config.kubernetes.protected_namespaces as ["payments"]
	rules_of(d) == {"protected-namespace-delete"}
}

test_cluster_wide_deletecollection_denied if {
	every resource in {"pods", "clusterroles", "persistentvolumes", "widgets"} {
		d := kubernetes.deny with input as delete_input(resource, "", "")
		d == {{
			"rule": "protected-namespace-delete",
			"msg": sprintf("deleting all %s of the cluster at once (deletecollection) would reach protected namespaces and is not allowed [protected-namespace-delete]", [resource]),
		}}
	}
}

# A deletecollection deletes every matching object of its namespace, so it is
# allowed only where the delete of one object there is.
collection_scopes := [[ns, resource] |
	some ns in ["production", "kube-system", "staging", ""]
	some resource in ["pods", "configmaps", "nodes", "namespaces"]
]

allowed_scopes(name) := {[ns, resource] |
	some [ns, resource] in collection_scopes
	d := kubernetes.decision with input as delete_input(resource, ns, name)
	d.allow == true
}

test_deletecollection_is_at_least_as_strict_as_delete if {
	allowed_scopes("") == {["staging", "pods"], ["staging", "configmaps"]}
	allowed_scopes("") - allowed_scopes("x") == set()
}

test_crd_delete_denied if {
	doc := object.union(delete_input("customresourcedefinitions", "", "widgets.example.com"), {"request": {"resource": {"group": "apiextensions.k8s.io"}}})
	d := kubernetes.deny with input as doc
	d == {{
		"rule": "protected-namespace-delete",
		"msg": `deleting customresourcedefinitions "widgets.example.com" deletes every object of its kind in every namespace, protected namespaces included, and is not allowed [protected-namespace-delete]`,
	}}
}

test_node_delete_denied if {
	d := kubernetes.deny with input as delete_input("nodes", "", "worker-1")
	rules_of(d) == {"protected-namespace-delete"}
}

test_custom_resource_named_like_a_crd_in_another_group_allowed if {
	d := kubernetes.decision with input as delete_input("customresourcedefinitions", "", "x")
	d.allow == true
}
