package writegate.terraform

# unknown-at-plan: an attribute a rule reads that Terraform knows only after
# apply (computed from another resource), so the plan cannot be checked for
# it. A warning: the check passes, and the reader decides.
warn contains violation(
	change,
	"unknown-at-plan",
	sprintf("%s is known only after apply, so it is not checked", [attribute]),
) if {
	some change in planned
	some attribute in checked_attributes[change.type]
	change.after_unknown[attribute] == true
}

checked_attributes := {
	"aws_s3_bucket_policy": ["policy"],
	"aws_s3_bucket_acl": ["acl"],
	"aws_security_group_rule": ["cidr_blocks", "ipv6_cidr_blocks", "from_port", "to_port"],
	"aws_vpc_security_group_ingress_rule": ["cidr_ipv4", "cidr_ipv6", "from_port", "to_port"],
	"aws_route53_record": ["ttl"],
	"cloudflare_record": ["ttl"],
	"cloudflare_dns_record": ["ttl"],
}
