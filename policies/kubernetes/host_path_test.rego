package writegate.kubernetes_test

import data.writegate.kubernetes

host_path_spec := {
	"containers": [container("agent", "fluent-bit:3.1")],
	"volumes": [
		{"name": "config", "configMap": {"name": "fluent-bit"}},
		{"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
	],
}

in_namespace(doc, ns) := object.union(doc, {"request": {"namespace": ns}})

test_host_path_denied_outside_kube_system if {
	d := kubernetes.deny with input as workload_input("DaemonSet", good_labels, host_path_spec)
	d == {{
		"rule": "no-host-path",
		"msg": `volume "varlog" uses hostPath: hostPath volumes are not allowed in namespace "default" [no-host-path]`,
	}}
}

test_host_path_denied_in_production if {
	d := kubernetes.deny with input as in_namespace(pod_input(host_path_spec), "production")
	rules_of(d) == {"no-host-path"}
}

test_host_path_allowed_in_kube_system if {
	d := kubernetes.decision with input as in_namespace(workload_input("DaemonSet", good_labels, host_path_spec), "kube-system")
	d.allow == true
}

test_host_path_in_cronjob_denied if {
	d := kubernetes.deny with input as workload_input("CronJob", good_labels, host_path_spec)
	rules_of(d) == {"no-host-path"}
}

test_other_volumes_allowed if {
	spec := json.remove(host_path_spec, ["volumes/1"])
	d := kubernetes.decision with input as workload_input("Deployment", good_labels, spec)
	d.allow == true
}
