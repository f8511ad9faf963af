package writegate.terraform

# sg-admin-port-open: an ingress rule that lets the whole internet (0.0.0.0/0
# or ::/0) reach an admin port. Read from the three ways the AWS provider
# writes ingress: inline `ingress` blocks of aws_security_group,
# aws_security_group_rule with type "ingress", and
# aws_vpc_security_group_ingress_rule.
deny contains violation(
	rule.change,
	"sg-admin-port-open",
	sprintf("ingress from %s reaches port %d (protocol %s): open admin ports to known networks only", [rule.cidr, port, rule.protocol]),
) if {
	some rule in ingress
	rule.cidr in {"0.0.0.0/0", "::/0"}
	some port in admin_ports
	opens(rule, port)
}

# ingress holds {change, protocol, from, to, cidr} for every source range of
# every planned ingress rule.
ingress contains {"change": change, "protocol": lower(r.protocol), "from": r.from_port, "to": r.to_port, "cidr": cidr} if {
	some change in planned
	change.type == "aws_security_group"
	some r in change.after.ingress
	some cidr in cidrs(r, ["cidr_blocks", "ipv6_cidr_blocks"])
}

ingress contains {"change": change, "protocol": lower(r.protocol), "from": r.from_port, "to": r.to_port, "cidr": cidr} if {
	some change in planned
	change.type == "aws_security_group_rule"
	r := change.after
	r.type == "ingress"
	some cidr in cidrs(r, ["cidr_blocks", "ipv6_cidr_blocks"])
}

ingress contains {"change": change, "protocol": lower(r.ip_protocol), "from": r.from_port, "to": r.to_port, "cidr": cidr} if {
	some change in planned
	change.type == "aws_vpc_security_group_ingress_rule"
	r := change.after
	some key in ["cidr_ipv4", "cidr_ipv6"]
	cidr := r[key]
	is_string(cidr)
}

cidrs(r, keys) := {cidr |
	some key in keys
	is_array(r[key])
	some cidr in r[key]
}

# Protocol "-1" (or "all") is every protocol on every port; EC2 ignores the
# port range then.
opens(rule, _) if rule.protocol in {"-1", "all"}

# TCP and UDP by name or number (RDP also listens on UDP).
opens(rule, port) if {
	rule.protocol in {"tcp", "udp", "6", "17"}
	rule.from <= port
	port <= rule.to
}
