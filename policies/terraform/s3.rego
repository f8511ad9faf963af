package writegate.terraform

# s3-public-bucket: an S3 bucket readable or writable by anyone. Caught: a
# canned ACL that grants to everyone or to every AWS account (aws_s3_bucket_acl
# and the deprecated `acl` of aws_s3_bucket), a grant to the AllUsers or
# AuthenticatedUsers group, a public access block with a setting turned off,
# and a bucket policy that allows principal "*" without a condition.
deny contains violation(
	change,
	"s3-public-bucket",
	sprintf("canned ACL %q makes the bucket public: use \"private\"", [change.after.acl]),
) if {
	some change in planned
	change.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	change.after.acl in public_acls
}

deny contains violation(
	change,
	"s3-public-bucket",
	sprintf("a grant to %s makes the bucket public", [grantee.uri]),
) if {
	some change in planned
	some grantee in grantees(change)
	grantee.uri in public_groups
}

deny contains violation(
	change,
	"s3-public-bucket",
	sprintf("%s is false: keep all four public access block settings true", [setting_name]),
) if {
	some change in planned
	change.type in {"aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"}
	some setting_name in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]
	change.after[setting_name] == false
}

deny contains violation(
	change,
	"s3-public-bucket",
	"the bucket policy allows principal \"*\" without a condition",
) if {
	some change in planned
	change.type in {"aws_s3_bucket", "aws_s3_bucket_policy"}
	is_string(change.after.policy)
	doc := json.unmarshal(change.after.policy)
	some statement in statements(doc)
	statement.Effect == "Allow"
	everyone(statement.Principal)
	not statement.Condition
}

public_acls := {"public-read", "public-read-write", "authenticated-read"}

public_groups := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

grantees(change) := {grantee |
	some policy in change.after.access_control_policy
	some grant in policy.grant
	some grantee in grant.grantee
} if change.type == "aws_s3_bucket_acl"

grantees(change) := {grant | some grant in change.after.grant} if change.type == "aws_s3_bucket"

# A policy's Statement is one statement or a list of them.
statements(doc) := doc.Statement if is_array(doc.Statement)

statements(doc) := [doc.Statement] if is_object(doc.Statement)

everyone(principal) if principal == "*"

everyone(principal) if principal.AWS == "*"

everyone(principal) if "*" in principal.AWS
