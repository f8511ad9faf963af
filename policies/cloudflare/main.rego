# The Cloudflare starter policy. The gateway POSTs {"input": <document>} to
# /v1/data/writegate/cloudflare/decision for every write to the Cloudflare API
# (v4, /client/v4/...); see policies/README.md for the input and decision
# contracts.
#
# Rules add violations to `deny` (the write is refused with Cloudflare's error
# envelope, one error per violation) or `warn` (the write goes through). Both
# are partial sets, so each rule file contributes independently and an empty
# set is still defined.
package writegate.cloudflare

decision := {"allow": count(deny) == 0, "deny": deny, "warn": warn}

# violation builds the object every rule returns: `rule` for machines (logs,
# audits, tests) and `msg` for people, ending with the rule id.
violation(rule, msg) := {"rule": rule, "msg": sprintf("%s [%s]", [msg, rule])}

# writes holds every write the request makes, so that one rule covers a single
# write and each element of a batch alike:
#   {"at", "operation", "name", "object", "oldObject"}.
# A single write is the request itself, `at` "". A batch
# (POST dns_records/batch) is its `items`, each `at` "items[<index>]: " so that
# a denial names the element; one violating element denies the whole batch, as
# Cloudflare applies a batch all or nothing.
#
# Every field is read with a default: a write must never drop out of this set
# because a field is missing, or every rule would skip it.
writes contains {
	"at": "",
	"operation": object.get(input.request, "operation", ""),
	"name": object.get(input.request, "name", ""),
	"object": object.get(input.request, "object", null),
	"oldObject": object.get(input.request, "oldObject", null),
} if not input.request.items

writes contains {
	"at": sprintf("items[%d]: ", [i]),
	"operation": object.get(item, "operation", ""),
	"name": object.get(item, "name", ""),
	"object": object.get(item, "object", null),
	"oldObject": object.get(item, "oldObject", null),
} if some i, item in input.request.items

# malformed-input: an operation the contract does not define is refused rather
# than judged by rules that test for CREATE, UPDATE or DELETE and would all
# skip it.
deny contains violation(
	"malformed-input",
	sprintf("%soperation %q is not CREATE, UPDATE or DELETE: the gateway's input is malformed", [w.at, w.operation]),
) if {
	some w in writes
	not w.operation in {"CREATE", "UPDATE", "DELETE"}
}
