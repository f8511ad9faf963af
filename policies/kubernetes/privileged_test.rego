package writegate.kubernetes_test

import data.writegate.kubernetes

privileged(name) := object.union(container(name, "app:1.0"), {"securityContext": {"privileged": true}})

test_privileged_container_denied if {
	d := kubernetes.deny with input as pod_input(pod_spec([privileged("app")]))
	d == {{
		"rule": "no-privileged-containers",
		"msg": `container "app" sets securityContext.privileged: privileged containers are not allowed [no-privileged-containers]`,
	}}
}

test_privileged_false_allowed if {
	c := object.union(container("app", "app:1.0"), {"securityContext": {"privileged": false}})
	d := kubernetes.decision with input as pod_input(pod_spec([c]))
	d.allow == true
}

test_no_security_context_allowed if {
	d := kubernetes.decision with input as pod_input(pod_spec([container("app", "app:1.0")]))
	d.allow == true
}

test_privileged_init_container_denied if {
	spec := {"containers": [container("app", "app:1.0")], "initContainers": [privileged("setup")]}
	d := kubernetes.deny with input as pod_input(spec)
	some v in d
	v.rule == "no-privileged-containers"
	contains(v.msg, `init container "setup"`)
}

# kubectl debug adds ephemeral containers with an UPDATE of pods/ephemeralcontainers.
test_privileged_ephemeral_container_denied if {
	spec := {"containers": [container("app", "app:1.0")], "ephemeralContainers": [privileged("debugger")]}
	doc := object.union(pod_input(spec), {"request": {"operation": "UPDATE", "subResource": "ephemeralcontainers"}})
	d := kubernetes.deny with input as doc
	rules_of(d) == {"no-privileged-containers"}
}

test_privileged_in_every_workload_template if {
	every kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"} {
		d := kubernetes.deny with input as workload_input(kind, good_labels, pod_spec([privileged("app")]))
		rules_of(d) == {"no-privileged-containers"}
	}
}

test_privileged_update_denied if {
	doc := object.union(workload_input("Deployment", good_labels, pod_spec([privileged("app")])), {"request": {"operation": "UPDATE"}})
	d := kubernetes.deny with input as doc
	rules_of(d) == {"no-privileged-containers"}
}
