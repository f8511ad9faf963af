package writegate.kubernetes.audit_test

import data.writegate.kubernetes.audit

audit_input(kind, obj) := {
	"version": "writegate.dev/v1",
	"operation": "AUDIT",
	"source": "kubernetes",
	"resource": "pods",
	"address": "pods/default/web",
	"object": obj,
	"context": {"kind": {"group": "", "version": "v1", "kind": kind}},
}

pod(container) := {
	"apiVersion": "v1", "kind": "Pod",
	"metadata": {"name": "web", "namespace": "default"},
	"spec": {"containers": [container]},
}

test_privileged_pod_found if {
	found := audit.violations with input as audit_input("Pod", pod({"name": "c", "image": "nginx:1.27", "securityContext": {"privileged": true}}))
	{v.rule | some v in found} == {"no-privileged-containers"}
}

test_latest_image_in_deployment_found if {
	deployment := {
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": {"name": "api", "namespace": "shop"},
		"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "registry.example/api:latest"}]}}},
	}
	found := audit.violations with input as audit_input("Deployment", deployment)
	{v.rule | some v in found} == {"no-latest-tag"}
}

test_clean_pod_has_no_violation if {
	count(audit.violations) == 0 with input as audit_input("Pod", pod({"name": "c", "image": "nginx:1.27"}))
}

test_host_path_allowed_in_kube_system if {
	obj := {
		"apiVersion": "v1", "kind": "Pod",
		"metadata": {"name": "agent", "namespace": "kube-system"},
		"spec": {"containers": [{"name": "a", "image": "agent:1"}], "volumes": [{"name": "root", "hostPath": {"path": "/"}}]},
	}
	count(audit.violations) == 0 with input as audit_input("Pod", obj)
}

test_write_only_rules_do_not_apply if {
	# A configmap without labels: require-owner-label judges writes, not what exists.
	obj := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {}}
	count(audit.violations) == 0 with input as audit_input("ConfigMap", obj)
}

test_not_an_audit_input if {
	count(audit.violations) == 0 with input as object.union(audit_input("Pod", pod({"name": "c", "image": "nginx", "securityContext": {"privileged": true}})), {"operation": "CREATE"})
}
