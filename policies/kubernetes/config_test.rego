package writegate.kubernetes_test

import data.writegate.kubernetes

test_defaults if {
	kubernetes.protected_namespaces == {"production", "kube-system"}
	kubernetes.connect_groups == {"system:masters", "ops"}
	kubernetes.host_path_namespaces == {"kube-system"}
}

test_operator_data_overrides_protected_namespaces if {
	ns := kubernetes.protected_namespaces with data.writegate.config.kubernetes.protected_namespaces as ["payments"]
	ns == {"payments"}
}

test_overriding_one_key_keeps_the_other_defaults if {
	groups := kubernetes.connect_groups with data.writegate.config.kubernetes.protected_namespaces as ["payments"]
	groups == {"system:masters", "ops"}
}

test_empty_list_switches_protection_off if {
	d := kubernetes.decision with input as delete_input("pods", "production", "web-0")
		with data.writegate.config.kubernetes.protected_namespaces as []
	d.allow == true
}

test_overridden_namespace_is_protected if {
	d := kubernetes.decision with input as delete_input("pods", "payments", "web-0")
		with data.writegate.config.kubernetes.protected_namespaces as ["payments"]
	rules_of(d.deny) == {"protected-namespace-delete"}
}

test_overridden_connect_groups if {
	sre := object.union(alice, {"groups": ["sre"]})
	d := kubernetes.decision with input as connect_input("exec", "dev", sre)
		with data.writegate.config.kubernetes.connect_groups as ["sre"]
	d.warn == set()
}

test_overridden_host_path_namespaces if {
	spec := {"containers": [container("agent", "agent:1.0")], "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}
	doc := object.union(workload_input("DaemonSet", good_labels, spec), {"request": {"namespace": "monitoring"}})
	d := kubernetes.decision with input as doc
		with data.writegate.config.kubernetes.host_path_namespaces as ["kube-system", "monitoring"]
	d.allow == true
}

test_empty_host_path_namespaces_allow_host_path_nowhere if {
	spec := {"containers": [container("agent", "agent:1.0")], "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}
	doc := object.union(workload_input("DaemonSet", good_labels, spec), {"request": {"namespace": "kube-system"}})
	d := kubernetes.deny with input as doc
		with data.writegate.config.kubernetes.host_path_namespaces as []
	rules_of(d) == {"no-host-path"}
}

test_empty_connect_groups_warn_everyone if {
	ops := object.union(alice, {"groups": ["ops"]})
	d := kubernetes.warn with input as connect_input("exec", "dev", ops)
		with data.writegate.config.kubernetes.connect_groups as []
	rules_of(d) == {"connect-by-non-ops"}
}
