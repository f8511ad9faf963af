# The AWS starter policy. The gateway POSTs {"input": <document>} to
# /v1/data/writegate/aws/decision for every write to an AWS Query-protocol
# service behind a `kind: aws` mount (IAM, EC2): every action that is not a
# Get*, List* or Describe*. See policies/README.md ("AWS") for the input.
#
# Rules add violations to `deny` (the write is refused with 403 AccessDenied in
# the service's own XML error envelope, naming every violation; the AWS CLI and
# Terraform print it) or `warn` (the write goes through). Both are partial sets,
# so each rule file contributes independently and an empty set is still defined.
package writegate.aws

decision := {"allow": count(deny) == 0, "deny": deny, "warn": warn}

# violation builds the object every rule returns: `rule` for machines (logs,
# audits, tests) and `msg` for people, ending with the rule id.
violation(rule, msg) := {"rule": rule, "msg": sprintf("%s [%s]", [msg, rule])}

# The request's parameters (`Tags.member.1.Key` already a list of objects),
# read with a default so that a rule never drops out on a missing field.
params := object.get(input.request, "params", {})

action := object.get(input.request, "action", "")

# malformed-input: an operation the contract does not define is refused rather
# than judged by rules that test for CREATE, UPDATE or DELETE and would all
# skip it.
deny contains violation(
	"malformed-input",
	sprintf("operation %q is not CREATE, UPDATE or DELETE: the gateway's input is malformed", [object.get(input.request, "operation", "")]),
) if {
	not object.get(input.request, "operation", "") in {"CREATE", "UPDATE", "DELETE"}
}

# active-key-delete: deleting a key that is still active cuts off whatever uses
# it at once; deactivating it first (UpdateAccessKey Status=Inactive) shows
# what breaks while it can still be undone.
warn contains violation(
	"active-key-delete",
	sprintf("access key %s of user %q is still active: deactivate it first to see what breaks", [params.AccessKeyId, params.UserName]),
) if {
	action == "DeleteAccessKey"
	some k in input.request.oldObject.accessKeys
	k.accessKeyId == params.AccessKeyId
	k.status == "Active"
}
