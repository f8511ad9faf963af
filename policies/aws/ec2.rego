package writegate.aws

# --- Security-group ingress (AuthorizeSecurityGroupIngress) ----------------
# input.request.permissions: the rules the request adds, each
# {ipProtocol, fromPort, toPort, ipRanges: [cidr], ipv6Ranges: [cidr], ...},
# from IpPermissions.N.* and from the older top-level CidrIp/FromPort form.

# world_rules: each rule of the request open to a whole address space (a CIDR
# with prefix length 0: 0.0.0.0/0, ::/0), with that range.
world_rules contains {"rule": p, "cidr": c} if {
	some p in object.get(input.request, "permissions", [])
	some c in object.get(p, "ipRanges", [])
	endswith(c, "/0")
}

world_rules contains {"rule": p, "cidr": c} if {
	some p in object.get(input.request, "permissions", [])
	some c in object.get(p, "ipv6Ranges", [])
	endswith(c, "/0")
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

# sg-admin-port-world: SSH and RDP are never opened to the whole internet.
deny contains violation(
	"sg-admin-port-world",
	sprintf("security group %s: ingress from %s would open admin port %d (%s); allow a narrower CIDR", [group, w.cidr, port, w.rule.ipProtocol]),
) if {
	action == "AuthorizeSecurityGroupIngress"
	group := object.get(params, "GroupId", object.get(params, "GroupName", ""))
	some w in world_rules
	some port in admin_ports
	opens(w.rule, port)
}
