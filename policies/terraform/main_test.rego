package writegate.terraform_test

import data.writegate.terraform

test_empty_plan_allowed if {
	terraform.decision with input as plan([]) == clean
}

test_violation_names_the_address if {
	d := terraform.deny with input as plan([create("aws_route53_record", "www", {"name": "www", "type": "A", "ttl": 30})])
	d == {{
		"rule": "dns-min-ttl",
		"address": "aws_route53_record.www",
		"msg": "aws_route53_record.www: TTL 30 is under 60 seconds: use at least 60 [dns-min-ttl]",
	}}
}

test_data_sources_are_not_checked if {
	read := object.union(create("aws_route53_record", "www", {"ttl": 5}), {"mode": "data", "actions": ["read"]})
	terraform.decision with input as plan([read]) == clean
}

test_no_op_is_not_checked if {
	same := change("aws_route53_record", "www", ["no-op"], {"ttl": 5}, {"ttl": 5})
	terraform.decision with input as plan([same]) == clean
}
