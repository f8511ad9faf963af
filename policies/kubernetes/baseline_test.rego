package writegate.kubernetes_test

import data.writegate.kubernetes

with_capabilities(caps) := {"containers": [object.union(container("web", "nginx:1.27"), {"securityContext": {"capabilities": {"add": caps}}})]}

test_host_network_denied if {
	spec := {"hostNetwork": true, "containers": [container("web", "nginx:1.27")]}
	d := kubernetes.deny with input as workload_input("Deployment", good_labels, spec)
	d == {{
		"rule": "no-host-namespaces",
		"msg": `spec.hostNetwork is true: host namespaces are not allowed in namespace "default" [no-host-namespaces]`,
	}}
}

test_host_pid_and_ipc_denied_on_a_pod if {
	spec := {"hostPID": true, "hostIPC": true, "containers": [container("web", "nginx:1.27")]}
	d := kubernetes.deny with input as pod_input(spec)
	count(d) == 2
	rules_of(d) == {"no-host-namespaces"}
}

test_host_namespaces_false_allowed if {
	spec := {"hostNetwork": false, "hostPID": false, "containers": [container("web", "nginx:1.27")]}
	d := kubernetes.decision with input as workload_input("Deployment", good_labels, spec)
	d.allow == true
}

test_host_network_allowed_in_kube_system if {
	spec := {"hostNetwork": true, "containers": [container("agent", "cilium:1.16")]}
	d := kubernetes.decision with input as in_namespace(workload_input("DaemonSet", good_labels, spec), "kube-system")
	d.allow == true
}

test_capability_outside_baseline_denied if {
	d := kubernetes.deny with input as workload_input("Deployment", good_labels, with_capabilities(["NET_BIND_SERVICE", "NET_ADMIN"]))
	d == {{
		"rule": "baseline-capabilities",
		"msg": `container "web" adds capability "NET_ADMIN": only the Pod Security Baseline capabilities may be added [baseline-capabilities]`,
	}}
}

test_capability_all_denied if {
	d := kubernetes.deny with input as pod_input(with_capabilities(["ALL"]))
	rules_of(d) == {"baseline-capabilities"}
}

test_baseline_capabilities_allowed if {
	d := kubernetes.decision with input as workload_input("Deployment", good_labels, with_capabilities(["NET_BIND_SERVICE", "CHOWN"]))
	d.allow == true
}
