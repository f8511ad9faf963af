package writegate.aws

# --- Access keys (CreateAccessKey, UpdateAccessKey, DeleteAccessKey) ---------
# The gateway reads the user and its keys first (input.request.oldObject:
# {userName, user: {tags}, accessKeys: [{accessKeyId, status, createDate, ageDays}]}).
# (Written without comprehensions over the input, which the gateway's
# in-process residual evaluator does not fold: these rules are decided locally
# when they allow.)

old_keys := object.get(object.get(input.request, "oldObject", {}), "accessKeys", [])

key_user := object.get(object.get(input.request, "oldObject", {}), "userName", "")

is_service_user if input.request.oldObject.user.tags[service_user_tag] == "true"

# A rotation: a new key for a user who already has an active one.
is_rotation if {
	action == "CreateAccessKey"
	some k in old_keys
	k.status == "Active"
}

# key-rotation-service-user: people do not get a second key; only users tagged
# as service users are rotated through the gateway.
deny contains violation(
	"key-rotation-service-user",
	sprintf("user %q already has an active access key and is not tagged %s=true: only service users' keys are rotated", [key_user, service_user_tag]),
) if {
	is_rotation
	not is_service_user
}

old_enough_active_key if {
	some k in old_keys
	k.status == "Active"
	k.ageDays >= rotation_min_age_days
}

# key-rotation-min-age: a rotation waits until the oldest active key is old
# enough (a key rotated every day is as good as a shared one).
deny contains violation(
	"key-rotation-min-age",
	sprintf("user %q: no active access key is %d days old yet; rotate only keys at least that old", [key_user, rotation_min_age_days]),
) if {
	is_rotation
	not old_enough_active_key
}

# one-active-key: after a rotation the user has one active key. A new key while
# two are active, or re-activating a key while another is active, is refused:
# deactivate the old key first.
deny contains violation(
	"one-active-key",
	sprintf("user %q has access keys %s and %s active: deactivate the older one before creating another", [key_user, a.accessKeyId, b.accessKeyId]),
) if {
	action == "CreateAccessKey"
	some a in old_keys
	some b in old_keys
	a.status == "Active"
	b.status == "Active"
	a.accessKeyId < b.accessKeyId
}

deny contains violation(
	"one-active-key",
	sprintf("user %q: access key %s cannot be made active while %s is active; at most one active key after a rotation", [key_user, params.AccessKeyId, k.accessKeyId]),
) if {
	action == "UpdateAccessKey"
	params.Status == "Active"
	some k in old_keys
	k.status == "Active"
	k.accessKeyId != params.AccessKeyId
}

# --- AdministratorAccess ---------------------------------------------------
# The AWS-managed policy arn:aws:iam::aws:policy/AdministratorAccess (compared
# without case, as IAM policy names are unique without case).
is_admin_policy(arn) if endswith(lower(arn), ":policy/administratoraccess")

admin_attach_actions := {"AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"}

# admin-policy-break-glass: AdministratorAccess is attached to the break-glass
# group only; users get it by joining that group, which is a visible write.
deny contains violation(
	"admin-policy-break-glass",
	sprintf("%s of AdministratorAccess to %q: attach it only to the group %q", [action, target, break_glass_group]),
) if {
	action in admin_attach_actions
	is_admin_policy(object.get(params, "PolicyArn", ""))
	target := object.get(params, "UserName", object.get(params, "RoleName", object.get(params, "GroupName", "")))
	not admin_target_allowed
}

admin_target_allowed if {
	action == "AttachGroupPolicy"
	params.GroupName == break_glass_group
}

# protected-user: the users of `protected_users` (the gateway's own identity
# among them) are not changed through the gateway at all.
deny contains violation(
	"protected-user",
	sprintf("%s on user %q: the user is protected (writegate.config.aws.protected_users)", [action, params.UserName]),
) if {
	input.request.service == "iam"
	params.UserName in protected_users
}
