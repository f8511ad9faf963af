package writegate.kubernetes_test

import data.writegate.kubernetes

test_decision_allows_a_clean_deployment if {
	d := kubernetes.decision with input as workload_input("Deployment", good_labels, pod_spec([container("nginx", "nginx:1.27.3")]))
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_decision_collects_every_violation if {
	spec := {"containers": [object.union(container("nginx", "nginx"), {"securityContext": {"privileged": true}})]}
	d := kubernetes.decision with input as workload_input("Deployment", {}, spec)
	d.allow == false
	rules_of(d.deny) == {"no-privileged-containers", "no-latest-tag", "require-owner-label"}
	rules_of(d.warn) == {"recommend-app-name-label"}
}

test_decision_is_defined_for_an_empty_input if {
	d := kubernetes.decision with input as {}
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_messages_end_with_the_rule_id if {
	d := kubernetes.decision with input as pod_input(pod_spec([container("nginx", "nginx:latest")]))
	d.deny == {{
		"rule": "no-latest-tag",
		"msg": `container "nginx" uses image "nginx:latest": pin a tag or digest instead of :latest [no-latest-tag]`,
	}}
}

test_warn_alone_allows if {
	d := kubernetes.decision with input as workload_input("Deployment", {"owner": "team-web"}, pod_spec([container("nginx", "nginx:1.27.3")]))
	d.allow == true
	rules_of(d.warn) == {"recommend-app-name-label"}
}

# dryRun requests (kubectl --dry-run=server) are judged exactly like real ones:
# a client must not learn that a write would pass when it would not.
test_dry_run_gets_the_same_decision if {
	inputs := [
		pod_input(pod_spec([container("nginx", "nginx")])),
		workload_input("CronJob", {}, pod_spec([container("job", "busybox:1.36")])),
		delete_input("pods", "production", ""),
		connect_input("exec", "kube-system", alice),
		connect_input("exec", "dev", alice),
		workload_input("Deployment", good_labels, pod_spec([container("nginx", "nginx:1.27.3")])),
		eviction_input("kube-system", "coredns-0"),
		binding_input("default", "web-0", alice),
		proxy_input("nodes", "", alice),
	]
	every doc in inputs {
		real := kubernetes.decision with input as doc
		dry := kubernetes.decision with input as dry_run(doc)
		real == dry
	}
}

test_dry_run_denies if {
	d := kubernetes.decision with input as dry_run(delete_input("pods", "production", "web-0"))
	d.allow == false
}
