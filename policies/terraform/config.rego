package writegate.terraform

# Operator-tunable settings. Each has a default here; an operator overrides one
# by loading data at data.writegate.config.terraform.<key>, e.g. a bundle's
# data.json: {"writegate": {"config": {"terraform": {"min_ttl": 300}}}}.
# An absent key keeps the default.
defaults := {
	"admin_ports": [22, 3389, 5985, 5986],
	"min_ttl": 60,
	"protected_tag": "protected",
	"service_user_path": "/service/",
	"service_user_tag": "service-user",
}

setting(key) := data.writegate.config.terraform[key]

setting(key) := defaults[key] if not data.writegate.config.terraform[key]

# Ports of remote administration that must not be reachable from anywhere:
# SSH, RDP, WinRM over HTTP and HTTPS.
admin_ports := {port | some port in setting("admin_ports")}

# The shortest TTL, in seconds, a DNS record may have. Cloudflare's 1 means
# "automatic" and is always allowed; Route 53 has no such value.
min_ttl := setting("min_ttl")

# The tag key that protects a resource from deletion (any value but "false").
protected_tag := setting("protected_tag")

# A service user is an aws_iam_user whose path starts with service_user_path,
# or that has the tag service_user_tag = "true".
service_user_path := setting("service_user_path")

service_user_tag := setting("service_user_tag")
