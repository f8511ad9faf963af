package writegate.terraform

# dns-min-ttl: a DNS record with a TTL under min_ttl (60 s) makes resolvers ask
# the authoritative servers too often and hides mistakes in caches for less
# time than it takes to notice them. Cloudflare's TTL 1 is "automatic" and is
# allowed; Route 53 alias records have no TTL.
deny contains violation(
	change,
	"dns-min-ttl",
	sprintf("TTL %v is under %d seconds: use at least %d%s", [change.after.ttl, min_ttl, min_ttl, automatic(change.type)]),
) if {
	some change in planned
	change.type in dns_types
	ttl := change.after.ttl
	is_number(ttl)
	ttl < min_ttl
	not automatic_ttl(change.type, ttl)
}

dns_types := {"cloudflare_record", "cloudflare_dns_record", "aws_route53_record"}

automatic_ttl(type, 1) if type in {"cloudflare_record", "cloudflare_dns_record"}

automatic(type) := " (or 1, automatic)" if type in {"cloudflare_record", "cloudflare_dns_record"}

automatic(type) := "" if type == "aws_route53_record"
