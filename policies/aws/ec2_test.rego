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
