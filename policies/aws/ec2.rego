package writegate.aws

# --- Security-group ingress (AuthorizeSecurityGroupIngress) ----------------
# input.request.permissions: the rules the request adds, each
# {ipProtocol, fromPort, toPort, ipRanges: [cidr], ipv6Ranges: [cidr], ...},
# from IpPermissions.N.* and from the older top-level CidrIp/FromPort form.

# A CIDR with prefix length 0 is the whole address space (0.0.0.0/0, ::/0).
world_cidr(c) if endswith(c, "/0")

world_ranges(p) := [c | some c in array.concat(object.get(p, "ipRanges", []), object.get(p, "ipv6Ranges", [])); world_cidr(c)]

# Whether rule p opens `port`: all protocols (-1) open every port; TCP (by name
# or number 6) opens its range, an absent or -1 bound meaning all.
opens(p, _) if lower(object.get(p, "ipProtocol", "")) in {"-1", "all"}

opens(p, port) if {
	lower(object.get(p, "ipProtocol", "")) in {"tcp", "6"}
	from := object.get(p, "fromPort", null)
	to := object.get(p, "toPort", null)
	lower_bound_ok(from, port)
	upper_bound_ok(to, port)
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
	sprintf("security group %s: ingress from %s would open admin port %d (%s); allow a narrower CIDR", [group, concat(", ", world_ranges(p)), port, p.ipProtocol]),
) if {
	action == "AuthorizeSecurityGroupIngress"
	group := object.get(params, "GroupId", object.get(params, "GroupName", ""))
	some p in object.get(input.request, "permissions", [])
	count(world_ranges(p)) > 0
	some port in admin_ports
	opens(p, port)
}
