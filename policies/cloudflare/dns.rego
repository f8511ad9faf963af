package writegate.cloudflare

# dns_writes: the writes of a request to a zone's DNS records, one per record
# (a batch gives one per element).
dns_writes contains w if {
	input.request.resource == "dns_records"
	some w in writes
}

# dns-min-ttl: very short TTLs multiply resolver traffic and rarely help;
# 1 is Cloudflare's "automatic" TTL (developers.cloudflare.com/dns/manage-dns-records/reference/ttl/).
deny contains violation(
	"dns-min-ttl",
	sprintf("%sDNS record %q has TTL %v: use 1 (automatic) or at least %v seconds", [w.at, object.get(w.object, "name", ""), ttl, min_ttl]),
) if {
	some w in dns_writes
	w.operation in {"CREATE", "UPDATE"}
	ttl := w.object.ttl
	is_number(ttl)
	ttl != 1
	ttl < min_ttl
}

# A TTL written as a string is refused rather than compared: the rule above
# compares numbers only, and "30" must not pass for whatever the API makes of it.
deny contains violation(
	"dns-min-ttl",
	sprintf("%sDNS record %q has TTL %q: give the TTL as a number", [w.at, object.get(w.object, "name", ""), w.object.ttl]),
) if {
	some w in dns_writes
	w.operation in {"CREATE", "UPDATE"}
	is_string(w.object.ttl)
}

# The names the zone apex goes by in a record: "@" (Cloudflare's shorthand) and
# the zone's name, with or without the final dot. Compared in lower case, as
# DNS names are (RFC 4343).
apex_names := {"@", "@.", zone, concat("", [zone, "."])} if zone := lower(input.request.zoneName)

# Whitespace that a trim removes (JavaScript's String.prototype.trim and Go's
# strings.TrimSpace between them): " example.com" may be stored as the apex.
whitespace := {
	" ", "\t", "\n", "\r", "\f", "\u000b", "\u0085", "\u00a0", "\u1680",
	"\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a",
	"\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff",
}

# dns-record-name: a record name with whitespace is refused, not compared: the
# API may trim it into a name the rules below would not recognise.
deny contains violation(
	"dns-record-name",
	sprintf("%sDNS record name %q contains whitespace: write the name without it", [w.at, w.object.name]),
) if {
	some w in dns_writes
	w.operation in {"CREATE", "UPDATE"}
	some c in whitespace
	contains(w.object.name, c)
}

# Record types Cloudflare can proxy (developers.cloudflare.com/dns/proxy-status/).
proxiable_types := {"A", "AAAA", "CNAME"}

# apex-proxied: the zone apex serves the site itself; unproxied, its origin
# address is published and traffic bypasses the WAF. Cloudflare's default for
# an absent `proxied` is false, so an absent field is not proxied.
deny contains violation(
	"apex-proxied",
	sprintf("%sDNS %s record %q at the zone apex must stay proxied: set \"proxied\" to true", [w.at, w.object.type, object.get(w.object, "name", "")]),
) if {
	some w in dns_writes
	w.operation in {"CREATE", "UPDATE"}
	w.object.type in proxiable_types
	lower(w.object.name) in apex_names
	object.get(w.object, "proxied", false) != true
}

# protected-record-delete: records tagged with the protected tag are not
# deleted through the gateway; removing the tag first is a separate, visible
# write.
deny contains violation(
	"protected-record-delete",
	sprintf("%sDNS record %q is tagged %q and cannot be deleted: remove the tag first", [w.at, object.get(w.oldObject, "name", ""), protected_tag]),
) if {
	some w in dns_writes
	w.operation == "DELETE"
	protected_tag in w.oldObject.tags
}

# ci-no-record-delete: CI identities (a member of ci_groups) create and update
# records as pipelines do, but a deletion is a person's decision: a DNS record
# delete by one is refused, alone or in a batch.
ci_caller if {
	some group in input.request.userInfo.groups
	group in ci_groups
}

deny contains violation(
	"ci-no-record-delete",
	sprintf("%sDNS record %q cannot be deleted by the CI identity %q: a person deletes records", [w.at, object.get(w.oldObject, "name", ""), input.request.userInfo.username]),
) if {
	ci_caller
	some w in dns_writes
	w.operation == "DELETE"
}
