package writegate.aws_test

import data.writegate.aws

test_first_key_allowed if {
	d := aws.decision with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "alice"}, user_keys("alice", {}, []))
	d.allow
}

test_rotation_of_old_service_key_allowed if {
	d := aws.decision with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "svc"}, user_keys("svc", service_tags, [key("AKIA1", "Active", 120)]))
	d.allow
}

test_rotation_of_a_person_denied if {
	d := aws.deny with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "alice"}, user_keys("alice", {}, [key("AKIA1", "Active", 120)]))
	rules(d) == {"key-rotation-service-user"}
}

test_service_tag_must_say_true if {
	d := aws.deny with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "svc"}, user_keys("svc", {"writegate/service-user": "false"}, [key("AKIA1", "Active", 120)]))
	rules(d) == {"key-rotation-service-user"}
}

test_rotation_of_young_key_denied if {
	d := aws.deny with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "svc"}, user_keys("svc", service_tags, [key("AKIA1", "Active", 10)]))
	rules(d) == {"key-rotation-min-age"}
	some v in d
	contains(v.msg, "no active access key is 90 days old")
}

test_rotation_age_is_the_oldest_active_key if {
	keys := [key("AKIA1", "Active", 100), key("AKIA2", "Inactive", 400)]
	d := aws.deny with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "svc"}, user_keys("svc", service_tags, keys))
	d == set()
}

test_rotation_age_from_data if {
	d := aws.deny with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "svc"}, user_keys("svc", service_tags, [key("AKIA1", "Active", 10)]))
		with data.writegate.config.aws.rotation_min_age_days as 7
	d == set()
}

test_third_active_key_denied if {
	keys := [key("AKIA1", "Active", 200), key("AKIA2", "Active", 150)]
	d := aws.deny with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "svc"}, user_keys("svc", service_tags, keys))
	rules(d) == {"one-active-key"}
}

test_reactivating_old_key_denied if {
	keys := [key("AKIA1", "Inactive", 200), key("AKIA2", "Active", 1)]
	d := aws.deny with input as iam_input("UpdateAccessKey", "UPDATE", {"UserName": "svc", "AccessKeyId": "AKIA1", "Status": "Active"}, user_keys("svc", service_tags, keys))
	rules(d) == {"one-active-key"}
}

test_deactivating_old_key_allowed if {
	keys := [key("AKIA1", "Active", 200), key("AKIA2", "Active", 1)]
	d := aws.decision with input as iam_input("UpdateAccessKey", "UPDATE", {"UserName": "svc", "AccessKeyId": "AKIA1", "Status": "Inactive"}, user_keys("svc", service_tags, keys))
	d.allow
}

test_deleting_active_key_warns if {
	keys := [key("AKIA1", "Active", 200)]
	d := aws.decision with input as iam_input("DeleteAccessKey", "DELETE", {"UserName": "svc", "AccessKeyId": "AKIA1"}, user_keys("svc", service_tags, keys))
	d.allow
	rules(d.warn) == {"active-key-delete"}
}

admin_arn := "arn:aws:iam::aws:policy/AdministratorAccess"

test_admin_to_user_denied if {
	d := aws.deny with input as iam_input("AttachUserPolicy", "CREATE", {"UserName": "alice", "PolicyArn": admin_arn}, null)
	rules(d) == {"admin-policy-break-glass"}
}

test_admin_to_role_denied_whatever_the_case if {
	d := aws.deny with input as iam_input("AttachRolePolicy", "CREATE", {"RoleName": "deployer", "PolicyArn": "arn:aws:iam::aws:policy/administratoraccess"}, null)
	rules(d) == {"admin-policy-break-glass"}
}

test_admin_to_other_group_denied if {
	d := aws.deny with input as iam_input("AttachGroupPolicy", "CREATE", {"GroupName": "devs", "PolicyArn": admin_arn}, null)
	rules(d) == {"admin-policy-break-glass"}
}

test_admin_to_break_glass_allowed if {
	d := aws.decision with input as iam_input("AttachGroupPolicy", "CREATE", {"GroupName": "break-glass", "PolicyArn": admin_arn}, null)
	d.allow
}

test_other_policy_to_user_allowed if {
	d := aws.decision with input as iam_input("AttachUserPolicy", "CREATE", {"UserName": "alice", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, null)
	d.allow
}

test_unknown_operation_denied if {
	d := aws.deny with input as iam_input("CreateUser", "CONNECT", {"UserName": "x"}, null)
	rules(d) == {"malformed-input"}
}

test_protected_user_denied if {
	d := aws.deny with input as iam_input("CreateAccessKey", "CREATE", {"UserName": "writegate-gateway"}, user_keys("writegate-gateway", {}, []))
		with data.writegate.config.aws.protected_users as ["writegate-gateway"]
	rules(d) == {"protected-user"}
}

test_no_protected_user_by_default if {
	d := aws.decision with input as iam_input("AttachUserPolicy", "CREATE", {"UserName": "writegate-gateway", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, null)
	d.allow
}
