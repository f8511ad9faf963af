package writegate.terraform_test

import data.writegate.terraform

sg(rules) := create("aws_security_group", "sg", {"name": "sg", "ingress": rules, "egress": []})

inline(protocol, from, to, cidrs, ipv6) := {
	"protocol": protocol, "from_port": from, "to_port": to, "cidr_blocks": cidrs, "ipv6_cidr_blocks": ipv6,
	"description": "", "prefix_list_ids": [], "security_groups": [], "self": false,
}

test_ssh_from_anywhere_denied if {
	d := terraform.deny with input as plan([sg([inline("tcp", 22, 22, ["0.0.0.0/0"], [])])])
	d == {{
		"rule": "sg-admin-port-open",
		"address": "aws_security_group.sg",
		"msg": "aws_security_group.sg: ingress from 0.0.0.0/0 reaches port 22 (protocol tcp): open admin ports to known networks only [sg-admin-port-open]",
	}}
}

test_open_ranges_denied if {
	every rule in [
		inline("tcp", 0, 65535, ["10.0.0.0/8", "0.0.0.0/0"], []),
		inline("TCP", 3389, 3389, [], ["::/0"]),
		inline("udp", 3000, 4000, ["0.0.0.0/0"], []),
		inline("6", 5985, 5986, ["0.0.0.0/0"], []),
		inline("-1", 0, 0, ["0.0.0.0/0"], []),
		inline("all", 0, 0, [], ["::/0"]),
	] {
		rules_of(terraform.deny) == {"sg-admin-port-open"} with input as plan([sg([rule])])
	}
}

test_safe_ingress_allowed if {
	every rule in [
		inline("tcp", 443, 443, ["0.0.0.0/0"], ["::/0"]),
		inline("tcp", 22, 22, ["10.0.0.0/8"], []),
		inline("icmp", -1, -1, ["0.0.0.0/0"], []),
		inline("-1", 0, 0, ["192.168.0.0/16"], null),
		inline("tcp", 23, 3388, ["0.0.0.0/0"], []),
	] {
		terraform.decision == clean with input as plan([sg([rule])])
	}
}

test_security_group_rule if {
	open := create("aws_security_group_rule", "ssh", {"type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": null})
	rules_of(terraform.deny) == {"sg-admin-port-open"} with input as plan([open])
	egress := object.union(open, {"after": object.union(open.after, {"type": "egress"})})
	terraform.decision == clean with input as plan([egress])
}

test_vpc_ingress_rule if {
	open := create("aws_vpc_security_group_ingress_rule", "rdp", {"ip_protocol": "tcp", "from_port": 3389, "to_port": 3389, "cidr_ipv4": null, "cidr_ipv6": "::/0"})
	rules_of(terraform.deny) == {"sg-admin-port-open"} with input as plan([open])
	all_traffic := create("aws_vpc_security_group_ingress_rule", "all", {"ip_protocol": "-1", "from_port": null, "to_port": null, "cidr_ipv4": "0.0.0.0/0", "cidr_ipv6": null})
	rules_of(terraform.deny) == {"sg-admin-port-open"} with input as plan([all_traffic])
	narrow := create("aws_vpc_security_group_ingress_rule", "ssh", {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "10.0.0.0/8", "cidr_ipv6": null})
	terraform.decision == clean with input as plan([narrow])
}

test_deleted_group_allowed if {
	gone := delete("aws_security_group", "sg", {"name": "sg", "ingress": [inline("tcp", 22, 22, ["0.0.0.0/0"], [])]})
	terraform.decision == clean with input as plan([gone])
}

test_admin_ports_setting if {
	rules_of(terraform.deny) == {"sg-admin-port-open"} with input as plan([sg([inline("tcp", 5432, 5432, ["0.0.0.0/0"], [])])])
		with data.writegate.config.terraform.admin_ports as [5432]
	terraform.decision == clean with input as plan([sg([inline("tcp", 22, 22, ["0.0.0.0/0"], [])])])
		with data.writegate.config.terraform.admin_ports as [5432]
}

test_unknown_cidrs_warn if {
	r := object.union(
		create("aws_security_group_rule", "ssh", {"type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22}),
		{"after_unknown": {"cidr_blocks": true}},
	)
	d := terraform.decision with input as plan([r])
	d.allow
	d.warn == {{
		"rule": "unknown-at-plan",
		"address": "aws_security_group_rule.ssh",
		"msg": "aws_security_group_rule.ssh: cidr_blocks is known only after apply, so it is not checked [unknown-at-plan]",
	}}
}
