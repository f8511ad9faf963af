package writegate.aws_test

import data.writegate.aws

ingress(permissions) := ec2_input("AuthorizeSecurityGroupIngress", {"GroupId": "sg-1"}, permissions, group)

test_ssh_to_world_denied if {
	d := aws.deny with input as ingress([perm("tcp", 22, 22, ["0.0.0.0/0"], [])])
	rules(d) == {"sg-admin-port-world"}
}

test_rdp_to_world_v6_denied if {
	d := aws.deny with input as ingress([perm("tcp", 3389, 3389, [], ["::/0"])])
	rules(d) == {"sg-admin-port-world"}
}

test_port_range_over_ssh_denied if {
	d := aws.deny with input as ingress([perm("tcp", 0, 1024, ["10.0.0.0/8", "0.0.0.0/0"], [])])
	rules(d) == {"sg-admin-port-world"}
}

test_all_protocols_to_world_denied if {
	d := aws.deny with input as ingress([perm("-1", null, null, ["0.0.0.0/0"], [])])
	rules(d) == {"sg-admin-port-world"}
}

test_protocol_number_six_is_tcp if {
	d := aws.deny with input as ingress([perm("6", 22, 22, ["0.0.0.0/0"], [])])
	rules(d) == {"sg-admin-port-world"}
}

test_https_to_world_allowed if {
	d := aws.decision with input as ingress([perm("tcp", 443, 443, ["0.0.0.0/0"], ["::/0"])])
	d.allow
}

test_ssh_from_office_allowed if {
	d := aws.decision with input as ingress([perm("tcp", 22, 22, ["203.0.113.0/24"], [])])
	d.allow
}

test_udp_22_to_world_allowed if {
	d := aws.decision with input as ingress([perm("udp", 22, 22, ["0.0.0.0/0"], [])])
	d.allow
}

test_egress_not_judged_by_the_ingress_rule if {
	d := aws.decision with input as ec2_input("AuthorizeSecurityGroupEgress", {"GroupId": "sg-1"}, [perm("tcp", 22, 22, ["0.0.0.0/0"], [])], group)
	d.allow
}

test_admin_ports_from_data if {
	d := aws.deny with input as ingress([perm("tcp", 8443, 8443, ["0.0.0.0/0"], [])])
		with data.writegate.config.aws.admin_ports as [8443]
	rules(d) == {"sg-admin-port-world"}
}

modify(permissions) := ec2_input("ModifySecurityGroupRules", {"GroupId": "sg-1"}, permissions, group)

test_modify_rule_to_world_denied if {
	d := aws.deny with input as modify([perm("tcp", 22, 22, ["0.0.0.0/0"], [])])
	rules(d) == {"sg-admin-port-world"}
}

test_modify_rule_narrower_allowed if {
	d := aws.decision with input as modify([perm("tcp", 22, 22, ["10.1.2.0/24"], [])])
	d.allow
}

test_modify_egress_rule_not_judged_by_the_ingress_rule if {
	d := aws.decision with input as object.union(modify([]), {"request": object.union(modify([]).request, {"permissionsEgress": [perm("tcp", 22, 22, ["0.0.0.0/0"], [])]})})
	d.allow
}

test_description_update_of_world_ssh_denied if {
	d := aws.deny with input as ec2_input("UpdateSecurityGroupRuleDescriptionsIngress", {"GroupId": "sg-1"}, [perm("tcp", 22, 22, ["0.0.0.0/0"], [])], group)
	rules(d) == {"sg-admin-port-world"}
}

test_two_halves_of_ipv4_denied if {
	d := aws.deny with input as ingress([perm("tcp", 22, 22, ["0.0.0.0/1", "128.0.0.0/1"], [])])
	count(d) == 2
	rules(d) == {"sg-admin-port-world"}
}

test_range_wider_than_min_prefix_denied if {
	d := aws.deny with input as ingress([perm("tcp", 3389, 3389, ["10.0.0.0/8"], ["2001:db8::/32"])])
	count(d) == 2
}

test_range_at_min_prefix_allowed if {
	d := aws.decision with input as ingress([perm("tcp", 22, 22, ["10.0.0.0/16"], ["2001:db8::/48"])])
	d.allow
}

test_prefix_spellings_other_than_decimal_denied if {
	every c in ["0.0.0.0/00", "0.0.0.0", "10.0.0.0/24/0", "10.0.0.0/ 24", "10.0.0.0/024"] {
		rules(aws.deny) == {"sg-admin-port-world"} with input as ingress([perm("tcp", 22, 22, [c], [])])
	}
}

test_min_prefix_from_data if {
	d := aws.deny with input as ingress([perm("tcp", 22, 22, ["10.1.0.0/16"], [])])
		with data.writegate.config.aws.admin_port_min_prefix_ipv4 as 24
	rules(d) == {"sg-admin-port-world"}
}

test_admin_port_from_prefix_list_denied if {
	p := object.union(perm("tcp", 22, 22, [], []), {"prefixListIds": ["pl-1"]})
	d := aws.deny with input as ingress([p])
	rules(d) == {"sg-admin-port-prefix-list"}
}

test_https_from_prefix_list_allowed if {
	p := object.union(perm("tcp", 443, 443, [], []), {"prefixListIds": ["pl-1"]})
	d := aws.decision with input as ingress([p])
	d.allow
}

test_unknown_security_group_write_denied if {
	every a in ["AssociateSecurityGroupVpc", "ModifyManagedPrefixList", "ModifySecurityGroupRulesV2"] {
		rules(aws.deny) == {"sg-action-unknown"} with input as ec2_input(a, {"GroupId": "sg-1"}, [], group)
	}
}

test_create_security_group_allowed if {
	d := aws.decision with input as ec2_input("CreateSecurityGroup", {"GroupName": "web"}, [], group)
	d.allow
}
