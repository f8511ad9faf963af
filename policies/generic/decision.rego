# An example policy for an API behind the `generic` upstream kind, for a public
# REST API with things at /v1/things/{id}. The gateway POSTs
# {"input": <document>} to /v1/data/writegate/generic/decision for every write;
# see policies/README.md for the input and decision contracts. Copy this file
# into a package of its own for each API and write its rules against the path
# templates of the upstream's configuration.
package writegate.generic

decision := {"allow": count(deny) == 0, "deny": deny, "warn": warn}

violation(rule, msg) := {"rule": rule, "msg": sprintf("%s [%s]", [msg, rule])}

# The configured path template whose `{id}` names a thing.
thing := "/v1/things/{id}"

# protected-thing-delete: things whose id starts with "prod-" are production
# things and are not deleted through the gateway.
deny contains violation(
	"protected-thing-delete",
	sprintf("thing %q is a production thing and cannot be deleted", [input.request.params.id]),
) if {
	input.request.operation == "DELETE"
	input.request.resource == thing
	startswith(input.request.params.id, "prod-")
}

# unknown-path-write: a write to a path no configured template matches is let
# through with a warning, so that new endpoints show up in the decision log.
warn contains violation(
	"unknown-path-write",
	sprintf("%s %s matches no configured path template", [input.method, input.path]),
) if {
	input.request.resource == ""
}
