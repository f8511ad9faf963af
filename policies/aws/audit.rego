# Audit rules for AWS IAM users that exist (`writegate audit`): each user, with
# its access keys and their ages, POSTed as {"input": <audit document>} to
# /v1/data/writegate/aws/audit/violations (policies/README.md, "Audit input").
# `object` is the shape the write rules read as a user's current state
# ({userName, user: {tags}, accessKeys: [{accessKeyId, status, createDate, ageDays}]}).
package writegate.aws.audit

import data.writegate.aws

# one-active-key, as the write rules judge a new key for this user: two active
# keys are a rotation left half done.
violations contains v if {
	input.operation == "AUDIT"
	found := aws.deny with input as {"request": {
		"operation": "CREATE",
		"service": "iam",
		"action": "CreateAccessKey",
		"params": {"UserName": input.object.userName},
		"oldObject": input.object,
	}}
	some v in found
	v.rule == "one-active-key"
}

# access-key-max-age: an active key older than this many days is due for
# rotation (data.writegate.config.aws.access_key_max_age_days, default 90;
# CIS AWS Foundations Benchmark 1.14).
default_max_age_days := 90

max_age_days := data.writegate.config.aws.access_key_max_age_days

max_age_days := default_max_age_days if not data.writegate.config.aws.access_key_max_age_days

violations contains aws.violation(
	"access-key-max-age",
	sprintf("user %q: access key %s is %d days old: rotate active keys within %d days", [input.object.userName, k.accessKeyId, k.ageDays, max_age_days]),
) if {
	input.operation == "AUDIT"
	some k in input.object.accessKeys
	k.status == "Active"
	k.ageDays > max_age_days
}
