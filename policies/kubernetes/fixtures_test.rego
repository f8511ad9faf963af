# Input builders shared by the tests. Each returns a full writegate.dev/v1 input
# document shaped like the gateway's (see policies/README.md), so the tests
# exercise the same paths the gateway's inputs take.
package writegate.kubernetes_test

alice := {"username": "alice", "uid": "u-alice", "groups": ["devs", "system:authenticated"], "extra": {}}

good_labels := {"owner": "team-web", "app.kubernetes.io/name": "web"}

review(request) := {
	"apiVersion": "admission.k8s.io/v1",
	"kind": "AdmissionReview",
	"request": object.union(
		{
			"uid": "8d5a6f1e-2b3c-4d5e-9f0a-1b2c3d4e5f60",
			"name": "web",
			"namespace": "default",
			"operation": "CREATE",
			"userInfo": alice,
			"object": null,
			"oldObject": null,
			"dryRun": false,
			"options": null,
		},
		request,
	),
	"version": "writegate.dev/v1",
	"upstream": "k8s",
	"upstreamKind": "kubernetes",
}

container(name, image) := {"name": name, "image": image}

pod_spec(containers) := {"containers": containers}

# pod_input: a Pod CREATE in `default` with the given spec.
pod_input(spec) := review({
	"kind": {"group": "", "version": "v1", "kind": "Pod"},
	"resource": {"group": "", "version": "v1", "resource": "pods"},
	"object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": spec},
})

groups := {
	"Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "ReplicaSet": "apps",
	"Job": "batch", "CronJob": "batch", "ReplicationController": "",
}

resources := {
	"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
	"ReplicaSet": "replicasets", "Job": "jobs", "CronJob": "cronjobs",
	"ReplicationController": "replicationcontrollers",
}

template(spec) := {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}, "spec": spec}

workload_spec("CronJob", spec) := {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template(spec)}}}

workload_spec(kind, spec) := {"template": template(spec)} if kind != "CronJob"

# workload_input: a CREATE of `kind` named web in `default` with labels and a pod spec.
workload_input(kind, labels, spec) := review({
	"kind": {"group": groups[kind], "version": "v1", "kind": kind},
	"resource": {"group": groups[kind], "version": "v1", "resource": resources[kind]},
	"object": {
		"apiVersion": api_version(groups[kind]),
		"kind": kind,
		"metadata": {"name": "web", "namespace": "default", "labels": labels},
		"spec": workload_spec(kind, spec),
	},
})

api_version("") := "v1"

api_version(group) := concat("/", [group, "v1"]) if group != ""

delete_input(resource, namespace, name) := review({
	"kind": {"group": "", "version": "v1", "kind": "Pod"},
	"resource": {"group": "", "version": "v1", "resource": resource},
	"operation": "DELETE",
	"namespace": namespace,
	"name": name,
	"options": {"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions"},
})

namespace_delete_input(name) := review({
	"kind": {"group": "", "version": "v1", "kind": "Namespace"},
	"resource": {"group": "", "version": "v1", "resource": "namespaces"},
	"operation": "DELETE",
	"namespace": name,
	"name": name,
	"options": {"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions"},
})

platform_admin := {"username": "pat", "uid": "u-pat", "groups": ["platform-admins", "system:authenticated"], "extra": {}, "authenticatedBy": "x509"}

# namespace_delete_as: a Namespace DELETE by `user`, impersonating `target` (null: no impersonation).
namespace_delete_as(name, user, target) := object.union(namespace_delete_input(name), {"request": {"userInfo": user, "impersonatedUser": target}})

connect_input(subresource, namespace, user) := review({
	"kind": {"group": "", "version": "v1", "kind": "PodExecOptions"},
	"resource": {"group": "", "version": "v1", "resource": "pods"},
	"subResource": subresource,
	"requestSubResource": subresource,
	"operation": "CONNECT",
	"namespace": namespace,
	"name": "web-0",
	"userInfo": user,
	"object": {"kind": "PodExecOptions", "apiVersion": "v1", "command": ["sh"], "container": "web", "stdin": true, "stdout": true, "tty": true},
})

dry_run(doc) := object.union(doc, {"request": {"dryRun": true}})

# rules_of lists the rule ids of a set of violations.
rules_of(violations) := {v.rule | some v in violations}

# eviction_input: POST pods/<name>/eviction (kubectl drain), as the gateway
# builds it for a JSON body: a CREATE of the pods/eviction subresource.
eviction_input(namespace, name) := review({
	"kind": {"group": "policy", "version": "v1", "kind": "Eviction"},
	"resource": {"group": "", "version": "v1", "resource": "pods"},
	"subResource": "eviction",
	"requestSubResource": "eviction",
	"operation": "CREATE",
	"namespace": namespace,
	"name": name,
	"object": {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}},
	"options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
})

# ephemeral_input: kubectl debug's PATCH of pods/ephemeralcontainers; object is
# the whole Pod as it would be stored, with `spec`.
ephemeral_input(namespace, spec, user) := review({
	"kind": {"group": "", "version": "v1", "kind": "Pod"},
	"resource": {"group": "", "version": "v1", "resource": "pods"},
	"subResource": "ephemeralcontainers",
	"requestSubResource": "ephemeralcontainers",
	"operation": "UPDATE",
	"namespace": namespace,
	"name": "web-0",
	"userInfo": user,
	"object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": namespace}, "spec": spec},
	"oldObject": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": namespace}, "spec": json.remove(spec, ["ephemeralContainers"])},
	"options": {"apiVersion": "meta.k8s.io/v1", "kind": "PatchOptions"},
})

# proxy_input: a CONNECT of <resource>/<name>/proxy in `namespace` ("" for nodes).
proxy_input(resource, namespace, user) := review({
	"kind": {"group": "", "version": "v1", "kind": "ProxyOptions"},
	"resource": {"group": "", "version": "v1", "resource": resource},
	"subResource": "proxy",
	"requestSubResource": "proxy",
	"operation": "CONNECT",
	"namespace": namespace,
	"name": "n1",
	"userInfo": user,
	"object": {"kind": "ProxyOptions", "apiVersion": "v1", "path": "/run/kube-system/etcd-0/etcd"},
})

# binding_input: POST pods/<name>/binding, the scheduler's write.
binding_input(namespace, name, user) := review({
	"kind": {"group": "", "version": "v1", "kind": "Binding"},
	"resource": {"group": "", "version": "v1", "resource": "pods"},
	"subResource": "binding",
	"requestSubResource": "binding",
	"operation": "CREATE",
	"namespace": namespace,
	"name": name,
	"userInfo": user,
	"object": {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"kind": "Node", "name": "control-plane-1"}},
	"options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
})
