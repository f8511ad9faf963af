package writegate.cloudflare

# Operator-tunable settings. Each has a default here; an operator overrides one
# by loading data at data.writegate.config.cloudflare.<key>, e.g. a bundle's
# data.json: {"writegate": {"config": {"cloudflare": {"min_ttl": 120}}}}.
# An absent key keeps the default.
defaults := {
	"min_ttl": 60,
	"protected_tag": "protected:true",
	"ci_groups": ["ci"],
}

setting(key) := data.writegate.config.cloudflare[key]

setting(key) := defaults[key] if not data.writegate.config.cloudflare[key]

# The shortest TTL, in seconds, a DNS record may have; 1 means "automatic" to
# Cloudflare and is always allowed.
min_ttl := setting("min_ttl")

# The record tag that protects a record from deletion. Cloudflare record tags
# are "<name>:<value>" strings (developers.cloudflare.com/dns/manage-dns-records/reference/record-attributes/).
protected_tag := setting("protected_tag")

# Groups of CI identities (userInfo.groups, as listen.auth authenticates them):
# they may create and update DNS records but not delete them.
ci_groups := {group | some group in setting("ci_groups")}
