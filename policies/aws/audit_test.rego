package writegate.aws.audit_test

import data.writegate.aws.audit

user(keys) := {
	"version": "writegate.dev/v1",
	"operation": "AUDIT",
	"source": "aws",
	"resource": "users",
	"address": "iam/users/deploy",
	"object": {"userName": "deploy", "user": {"userName": "deploy", "tags": {}}, "accessKeys": keys},
	"context": {},
}

key(id, status, age) := {"accessKeyId": id, "status": status, "createDate": "2026-01-01T00:00:00Z", "ageDays": age}

test_two_active_keys_found if {
	found := audit.violations with input as user([key("AKIA1", "Active", 3), key("AKIA2", "Active", 1)])
	{v.rule | some v in found} == {"one-active-key"}
}

test_old_key_found if {
	found := audit.violations with input as user([key("AKIA1", "Active", 91)])
	{v.rule | some v in found} == {"access-key-max-age"}
}

test_old_inactive_key_is_clean if {
	count(audit.violations) == 0 with input as user([key("AKIA1", "Inactive", 400), key("AKIA2", "Active", 10)])
}

test_max_age_setting if {
	found := audit.violations with input as user([key("AKIA1", "Active", 31)])
		with data.writegate.config.aws.access_key_max_age_days as 30
	{v.rule | some v in found} == {"access-key-max-age"}
}

test_user_without_keys_is_clean if {
	count(audit.violations) == 0 with input as user([])
}
