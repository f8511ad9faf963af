# OPA's decision log for the Cloudflare and NetBox kinds. The gateway masks its own log with
# src/upstreams/cloudflare/mask.ts and src/upstreams/netbox/mask.ts; these rules give OPA's log (which holds the
# full input) the same treatment: every value those functions mask in a write's `body`, `object` and `oldObject`,
# and in each batch item's, is replaced by "**masked**".
#
# OPA addresses a masked value by a slash-separated path whose parts it does not unescape
# (v1/plugins/logs/mask.go: strings.Split, then url.PathEscape of each part), so a value under a key holding "/" or
# a character PathEscape would change cannot be addressed on its own: the whole document holding it is masked
# instead.
package system.log

masked := "**masked**"

# The documents of a write that may carry secrets, with their path under /input/request.
api_documents contains [[field], doc] if {
	some field in ["body", "object", "oldObject"]
	doc := input.input.request[field]
}

api_documents contains [["items", i, field], doc] if {
	some i, item in input.input.request.items
	some field in ["body", "object", "oldObject"]
	doc := item[field]
}

cloudflare_secret_key := `(?i)secret|password|passphrase|private_?key|api_?key|auth_?key|credential|(^|_)token$`

last_key(path) := key if {
	key := path[count(path) - 1]
	is_string(key)
}

# Cloudflare: keys naming secrets (Access and SaaS `client_secret`, `tunnel_secret`, `password`, `private_key`,
# service tokens' `token`...) when they hold a string or a structure, and the `text` of a secret binding.
api_masked_value(_, path, value) if {
	input.input.upstreamKind == "cloudflare"
	regex.match(cloudflare_secret_key, last_key(path))
	not is_number(value)
	not is_boolean(value)
}

api_masked_value(doc, path, _) if {
	input.input.upstreamKind == "cloudflare"
	last_key(path) == "text"
	parent := object.get(doc, array.slice(path, 0, count(path) - 1), null)
	parent.type in {"secret_text", "secret_key"}
}

# NetBox: users' `password`, fields whose name says secret, and the `token` and `key` of users/tokens.
api_masked_value(_, path, value) if {
	input.input.upstreamKind == "netbox"
	regex.match(`(?i)password|secret`, last_key(path))
	not value in {null, ""}
}

api_masked_value(_, path, value) if {
	input.input.upstreamKind == "netbox"
	input.input.request.resource == "users/tokens"
	last_key(path) in {"token", "key"}
	not value in {null, ""}
}

addressable(part) if regex.match(`^[A-Za-z0-9._~$&+,;=:@-]+$`, sprintf("%v", [part]))

mask contains {"op": "upsert", "path": concat("/", array.concat(["", "input", "request"], [sprintf("%v", [p]) | some p in array.concat(prefix, path)])), "value": masked} if {
	some [prefix, doc] in api_documents
	walk(doc, [path, value])
	count(path) > 0
	api_masked_value(doc, path, value)
	every p in array.concat(prefix, path) {
		addressable(p)
	}
}

mask contains {"op": "upsert", "path": concat("/", array.concat(["", "input", "request"], [sprintf("%v", [p]) | some p in prefix])), "value": masked} if {
	some [prefix, doc] in api_documents
	walk(doc, [path, value])
	count(path) > 0
	api_masked_value(doc, path, value)
	some p in array.concat(prefix, path)
	not addressable(p)
}
