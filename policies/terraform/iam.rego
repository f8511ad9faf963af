package writegate.terraform

# iam-access-key-service-user: long-lived access keys only for service users,
# never for people (who sign in with SSO and short-lived credentials). A
# service user is an aws_iam_user of the same plan whose path starts with
# service_user_path ("/service/") or that is tagged service_user_tag
# ("service-user") = "true". A key for a user this plan does not manage, or
# whose name is known only after apply, cannot be shown to be for a service
# user and is refused.
deny contains violation(
	change,
	"iam-access-key-service-user",
	sprintf("access key for %s, which is not a service user: give the user the path %q or the tag %s = \"true\"", [user_name(change), service_user_path, service_user_tag]),
) if {
	some change in planned
	change.type == "aws_iam_access_key"
	"create" in change.actions
	not for_service_user(change)
}

user_name(change) := sprintf("user %q", [change.after.user]) if is_string(change.after.user)

user_name(change) := "a user known only after apply" if not is_string(object.get(change.after, "user", null))

# for_service_user(change) holds when the key's user is a service user of the
# plan; it takes the change, not its user, so that an unknown user (absent
# from `after`) makes it false rather than the rule undefined.
for_service_user(change) if {
	some user in service_users
	user.name == change.after.user
}

service_users contains change.after if {
	some change in planned
	change.type == "aws_iam_user"
	startswith(change.after.path, service_user_path)
}

service_users contains change.after if {
	some change in planned
	change.type == "aws_iam_user"
	change.after.tags[service_user_tag] == "true"
}
