package writegate.aws

# --- Security groups ---------------------------------------------------------
# input.request.permissions: the ingress rules the request adds, rewrites or
# names, each {ipProtocol, fromPort, toPort, ipRanges: [cidr],
# ipv6Ranges: [cidr], groups: [group], prefixListIds: [id]}: from
# IpPermissions.N.* (and the older top-level CidrIp/FromPort form) of
# Authorize*, Revoke* and UpdateSecurityGroupRuleDescriptions*, and from
# SecurityGroupRule.N.SecurityGroupRule.* of ModifySecurityGroupRules (whose
# egress rules are in input.request.permissionsEgress instead).

# The security-group writes this policy judges. Every other write whose name
# says it changes a security group or a managed prefix list (which rules use as
# their source) is denied by sg-action-unknown.
understood_sg_actions := {
	"CreateSecurityGroup",
	"DeleteSecurityGroup",
	"AuthorizeSecurityGroupIngress",
	"AuthorizeSecurityGroupEgress",
	"RevokeSecurityGroupIngress",
	"RevokeSecurityGroupEgress",
	"ModifySecurityGroupRules",
	"UpdateSecurityGroupRuleDescriptionsIngress",
	"UpdateSecurityGroupRuleDescriptionsEgress",
}

# The actions whose `permissions` are ingress rules the group has once they run.
ingress_actions := {"AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules", "UpdateSecurityGroupRuleDescriptionsIngress"}

# sg-action-unknown: a security-group write this policy does not know could
# open what the rules below guard; it is refused rather than let through.
deny contains violation(
	"sg-action-unknown",
	sprintf("%s changes security groups or the prefix lists their rules use, and this policy does not judge it", [action]),
) if {
	object.get(input.request, "service", "") == "ec2"
	some word in {"SecurityGroup", "ManagedPrefixList"}
	contains(action, word)
	not action in understood_sg_actions
}

# wide_rules: each ingress rule of the request with a range wider than the
# minimum prefix for admin ports, with that range: a range not written
# ADDRESS/LENGTH, or whose LENGTH is not an allowed one (a set difference rather
# than a negation, which keeps the package's residual exact).
wide_rules contains {"rule": p, "cidr": c, "min": admin_port_min_prefix_ipv4} if {
	action in ingress_actions
	some p in object.get(input.request, "permissions", [])
	some c in object.get(p, "ipRanges", [])
	count(split(c, "/")) != 2
}

wide_rules contains {"rule": p, "cidr": c, "min": admin_port_min_prefix_ipv4} if {
	action in ingress_actions
	some p in object.get(input.request, "permissions", [])
	some c in object.get(p, "ipRanges", [])
	parts := split(c, "/")
	count(parts) == 2
	count({parts[1]} - admin_port_prefixes_ipv4) == 1
}

wide_rules contains {"rule": p, "cidr": c, "min": admin_port_min_prefix_ipv6} if {
	action in ingress_actions
	some p in object.get(input.request, "permissions", [])
	some c in object.get(p, "ipv6Ranges", [])
	count(split(c, "/")) != 2
}

wide_rules contains {"rule": p, "cidr": c, "min": admin_port_min_prefix_ipv6} if {
	action in ingress_actions
	some p in object.get(input.request, "permissions", [])
	some c in object.get(p, "ipv6Ranges", [])
	parts := split(c, "/")
	count(parts) == 2
	count({parts[1]} - admin_port_prefixes_ipv6) == 1
}

# Whether rule p opens `port`: all protocols (-1) open every port; TCP (by name
# or number 6) opens its range, an absent or -1 bound meaning all.
opens(p, _) if lower(object.get(p, "ipProtocol", "")) in {"-1", "all"}

opens(p, port) if {
	lower(object.get(p, "ipProtocol", "")) in {"tcp", "6"}
	lower_bound_ok(object.get(p, "fromPort", null), port)
	upper_bound_ok(object.get(p, "toPort", null), port)
}

lower_bound_ok(from, _) if from == null

lower_bound_ok(from, _) if from == -1

lower_bound_ok(from, port) if {
	is_number(from)
	from <= port
}

upper_bound_ok(to, _) if to == null

upper_bound_ok(to, _) if to == -1

upper_bound_ok(to, port) if {
	is_number(to)
	port <= to
}

sg_group := object.get(params, "GroupId", object.get(params, "GroupName", ""))

# sg-admin-port-world: SSH and RDP are never opened to the whole internet, nor
# to any range wider than the minimum prefix (admin_port_min_prefix_ipv4/_ipv6).
deny contains violation(
	"sg-admin-port-world",
	sprintf("security group %s (admin ports only from a /%d or narrower): ingress from %s would open admin port %d (%s); allow a narrower CIDR", [sg_group, w.min, w.cidr, port, w.rule.ipProtocol]),
) if {
	some w in wide_rules
	some port in admin_ports
	opens(w.rule, port)
}

# sg-admin-port-prefix-list: an admin port opened to a prefix list is refused:
# the policy does not read a prefix list's entries, which may be any range.
deny contains violation(
	"sg-admin-port-prefix-list",
	sprintf("security group %s: ingress from prefix list %s would open admin port %d (%s), and its entries are not judged; allow a CIDR", [sg_group, id, port, p.ipProtocol]),
) if {
	action in ingress_actions
	some p in object.get(input.request, "permissions", [])
	some id in object.get(p, "prefixListIds", [])
	some port in admin_ports
	opens(p, port)
}
