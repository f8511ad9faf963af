package writegate.aws

# --- Access keys (CreateAccessKey, UpdateAccessKey, DeleteAccessKey) ---------
# The gateway reads the user and its keys first (input.request.oldObject:
# {userName, user: {tags}, accessKeys: [{accessKeyId, status, createDate, ageDays}]}).

active_keys := [k | some k in input.request.oldObject.accessKeys; k.status == "Active"]

oldest_active_age := max([k.ageDays | some k in active_keys])

is_service_user if input.request.oldObject.user.tags[service_user_tag] == "true"

# A rotation: a new key for a user who already has an active one.
is_rotation if {
	action == "CreateAccessKey"
	count(active_keys) > 0
}

# key-rotation-service-user: people do not get a second key; only users tagged
# as service users are rotated through the gateway.
deny contains violation(
	"key-rotation-service-user",
	sprintf("user %q already has an active access key and is not tagged %s=true: only service users' keys are rotated", [input.request.oldObject.userName, service_user_tag]),
) if {
	is_rotation
	not is_service_user
}

# key-rotation-min-age: a rotation waits until the oldest active key is old
# enough (a key rotated every day is as good as a shared one).
deny contains violation(
	"key-rotation-min-age",
	sprintf("user %q: the oldest active access key is %d days old; rotate only keys at least %d days old", [input.request.oldObject.userName, oldest_active_age, rotation_min_age_days]),
) if {
	is_rotation
	oldest_active_age < rotation_min_age_days
}

# one-active-key: after a rotation the user has one active key. A new key while
# two are active, or re-activating a key while another is active, is refused:
# deactivate the old key first.
deny contains violation(
	"one-active-key",
	sprintf("user %q has %d active access keys: deactivate the older key before creating another", [input.request.oldObject.userName, count(active_keys)]),
) if {
	action == "CreateAccessKey"
	count(active_keys) > 1
}

deny contains violation(
	"one-active-key",
	sprintf("user %q: access key %s cannot be made active while %s is active; at most one active key after a rotation", [input.request.oldObject.userName, params.AccessKeyId, k.accessKeyId]),
) if {
	action == "UpdateAccessKey"
	params.Status == "Active"
	some k in active_keys
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
	sprintf("%s of AdministratorAccess to %s: attach it only to the group %q", [action, target, break_glass_group]),
) if {
	action in admin_attach_actions
	is_admin_policy(object.get(params, "PolicyArn", ""))
	target := concat(" ", [v | some k in ["UserName", "RoleName", "GroupName"]; v := params[k]])
	not admin_target_allowed
}

admin_target_allowed if {
	action == "AttachGroupPolicy"
	params.GroupName == break_glass_group
}
