package writegate.kubernetes_test

import data.writegate.kubernetes

ops_user := {"username": "olga", "uid": "u-olga", "groups": ["ops", "system:authenticated"], "extra": {}}

admin := {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}

test_exec_into_production_denied_even_for_ops if {
	every user in [alice, ops_user, admin] {
		d := kubernetes.deny with input as connect_input("exec", "production", user)
		d == {{
			"rule": "protected-namespace-connect",
			"msg": `exec into pods "web-0" in protected namespace "production" is not allowed [protected-namespace-connect]`,
		}}
	}
}

test_attach_and_portforward_into_kube_system_denied if {
	every sub in {"attach", "portforward"} {
		d := kubernetes.deny with input as connect_input(sub, "kube-system", ops_user)
		rules_of(d) == {"protected-namespace-connect"}
	}
}

test_connect_without_subresource_is_still_judged if {
	doc := json.remove(connect_input("exec", "production", ops_user), ["request/subResource"])
	d := kubernetes.deny with input as doc
	some v in d
	startswith(v.msg, `connect into pods "web-0"`)
}

test_ops_and_masters_connect_silently_elsewhere if {
	every user in [ops_user, admin] {
		d := kubernetes.decision with input as connect_input("exec", "staging", user)
		d == {"allow": true, "deny": set(), "warn": set()}
	}
}

test_others_connect_with_a_warning if {
	d := kubernetes.decision with input as connect_input("portforward", "staging", alice)
	d.allow == true
	d.warn == {{
		"rule": "connect-by-non-ops",
		"msg": `"alice" is not in ops or system:masters: portforward into pods "web-0" in namespace "staging" is recorded for review [connect-by-non-ops]`,
	}}
}

test_user_without_groups_gets_a_warning if {
	doc := json.remove(connect_input("exec", "staging", alice), ["request/userInfo/groups"])
	d := kubernetes.decision with input as doc
	rules_of(d.warn) == {"connect-by-non-ops"}
}

test_non_connect_writes_get_no_connect_warning if {
	d := kubernetes.decision with input as delete_input("pods", "staging", "web-0")
	d.warn == set()
}

debug_spec := {
	"containers": [container("app", "app:1.0")],
	"ephemeralContainers": [object.union(container("debugger-x7k", "busybox:1.36"), {"targetContainerName": "app"})],
}

# kubectl debug into a protected namespace runs a shell there, as exec would.
test_ephemeral_container_in_protected_namespace_denied if {
	every user in [alice, ops_user, admin] {
		d := kubernetes.deny with input as ephemeral_input("kube-system", debug_spec, user)
		d == {{
			"rule": "protected-namespace-connect",
			"msg": `ephemeral container into pods "web-0" in protected namespace "kube-system" is not allowed [protected-namespace-connect]`,
		}}
	}
}

test_ephemeral_container_elsewhere_warns_like_exec if {
	d := kubernetes.decision with input as ephemeral_input("staging", debug_spec, alice)
	d.allow == true
	d.warn == {{
		"rule": "connect-by-non-ops",
		"msg": `"alice" is not in ops or system:masters: ephemeral container into pods "web-0" in namespace "staging" is recorded for review [connect-by-non-ops]`,
	}}
	quiet := kubernetes.decision with input as ephemeral_input("staging", debug_spec, ops_user)
	quiet == {"allow": true, "deny": set(), "warn": set()}
}

# The container rules of a pod create hold for the container being added.
test_ephemeral_container_gets_the_pod_container_rules if {
	spec := {
		"containers": [container("app", "app:1.0")],
		"ephemeralContainers": [object.union(container("debugger", "busybox"), {"securityContext": {"privileged": true}})],
		"volumes": [{"name": "root", "hostPath": {"path": "/"}}],
	}
	d := kubernetes.deny with input as ephemeral_input("staging", spec, ops_user)
	rules_of(d) == {"no-privileged-containers", "no-latest-tag", "no-host-path"}
}

test_node_proxy_denied_for_everyone if {
	every user in [alice, ops_user, admin] {
		d := kubernetes.decision with input as proxy_input("nodes", "", user)
		d.deny == {{
			"rule": "protected-namespace-connect",
			"msg": `proxy into nodes "n1" reaches the kubelet, which runs commands in every pod of the node, protected namespaces included: not allowed [protected-namespace-connect]`,
		}}
		d.warn == set()
	}
}

# /api/v1/proxy/nodes/<name>/... names no subresource: the verb is proxy.
test_legacy_node_proxy_path_denied if {
	doc := json.remove(proxy_input("nodes", "", ops_user), ["request/subResource", "request/requestSubResource"])
	d := kubernetes.deny with input as doc
	rules_of(d) == {"protected-namespace-connect"}
}

test_pod_and_service_proxy_follow_the_connect_rules if {
	every resource in {"pods", "services"} {
		denied := kubernetes.deny with input as proxy_input(resource, "kube-system", admin)
		rules_of(denied) == {"protected-namespace-connect"}
		warned := kubernetes.decision with input as proxy_input(resource, "staging", alice)
		warned.allow == true
		rules_of(warned.warn) == {"connect-by-non-ops"}
	}
}

test_node_writes_that_are_not_connects_are_not_connect_rules if {
	doc := object.union(proxy_input("nodes", "", alice), {"request": {"operation": "UPDATE", "subResource": "status"}})
	d := kubernetes.decision with input as doc
	d == {"allow": true, "deny": set(), "warn": set()}
}
