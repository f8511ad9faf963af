package writegate.aws

# Operator-tunable settings. Each has a default here; an operator overrides one
# by loading data at data.writegate.config.aws.<key>, e.g. a bundle's
# data.json: {"writegate": {"config": {"aws": {"rotation_min_age_days": 30}}}}.
# An absent key keeps the default.
defaults := {
	"service_user_tag": "writegate/service-user",
	"rotation_min_age_days": 90,
	"break_glass_group": "break-glass",
	"admin_ports": [22, 3389],
	"admin_port_min_prefix_ipv4": 16,
	"admin_port_min_prefix_ipv6": 48,
	"protected_users": [],
}

setting(key) := data.writegate.config.aws[key]

setting(key) := defaults[key] if not data.writegate.config.aws[key]

# The IAM user tag (key, value "true") that marks a service user: only service
# users' access keys are rotated through the gateway.
service_user_tag := setting("service_user_tag")

# A rotation (a new access key while one is active) waits until the oldest
# active key is at least this many days old.
rotation_min_age_days := setting("rotation_min_age_days")

# The one IAM group AdministratorAccess may be attached to.
break_glass_group := setting("break_glass_group")

# Ports that must not be open to the whole internet (SSH, RDP).
admin_ports := {p | some p in setting("admin_ports")}

# The shortest prefix an ingress range on an admin port may have: a wider range
# (0.0.0.0/0, but also 0.0.0.0/1 + 128.0.0.0/1, or 10.0.0.0/8 by default) is
# refused, so that a handful of rules cannot add up to the whole internet.
admin_port_min_prefix_ipv4 := setting("admin_port_min_prefix_ipv4")

admin_port_min_prefix_ipv6 := setting("admin_port_min_prefix_ipv6")

# The prefix lengths an admin-port range may be written with (decimal, no
# leading zero): any other spelling is judged too wide.
admin_port_prefixes_ipv4 := {sprintf("%d", [n]) | some n in numbers.range(admin_port_min_prefix_ipv4, 32)}

admin_port_prefixes_ipv6 := {sprintf("%d", [n]) | some n in numbers.range(admin_port_min_prefix_ipv6, 128)}

# IAM users no write through the gateway may touch: list the gateway's own
# held identity here, or a caller could create a key for it, change its
# policies or deactivate its key.
protected_users := {u | some u in setting("protected_users")}
