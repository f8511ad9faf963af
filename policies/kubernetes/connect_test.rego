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
