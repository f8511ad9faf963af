package writegate.terraform_test

import data.writegate.terraform

acl(value) := create("aws_s3_bucket_acl", "b", {"acl": value, "expected_bucket_owner": null})

test_public_canned_acl_denied if {
	d := terraform.deny with input as plan([acl("public-read")])
	d == {{
		"rule": "s3-public-bucket",
		"address": "aws_s3_bucket_acl.b",
		"msg": `aws_s3_bucket_acl.b: canned ACL "public-read" makes the bucket public: use "private" [s3-public-bucket]`,
	}}
	every value in ["public-read-write", "authenticated-read"] {
		rules_of(terraform.deny) == {"s3-public-bucket"} with input as plan([acl(value)])
	}
	rules_of(terraform.deny) == {"s3-public-bucket"} with input as plan([create("aws_s3_bucket", "b", {"bucket": "b", "acl": "public-read"})])
}

test_private_acl_allowed if {
	every value in ["private", "log-delivery-write", "bucket-owner-full-control", null] {
		terraform.decision == clean with input as plan([acl(value)])
	}
}

test_public_grant_denied if {
	grant := create("aws_s3_bucket_acl", "b", {"access_control_policy": [{
		"owner": [{"id": "o"}],
		"grant": [{"permission": "READ", "grantee": [{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}]}],
	}]})
	rules_of(terraform.deny) == {"s3-public-bucket"} with input as plan([grant])
	inline := create("aws_s3_bucket", "b", {"bucket": "b", "grant": [{"type": "Group", "permissions": ["READ"], "uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}]})
	rules_of(terraform.deny) == {"s3-public-bucket"} with input as plan([inline])
	owner := create("aws_s3_bucket_acl", "b", {"access_control_policy": [{"grant": [{"grantee": [{"type": "CanonicalUser", "id": "abc", "uri": null}]}]}]})
	terraform.decision == clean with input as plan([owner])
}

block(values) := create("aws_s3_bucket_public_access_block", "b", object.union(
	{"bucket": "b", "block_public_acls": true, "block_public_policy": true, "ignore_public_acls": true, "restrict_public_buckets": true},
	values,
))

test_public_access_block if {
	terraform.decision == clean with input as plan([block({})])
	d := terraform.deny with input as plan([block({"restrict_public_buckets": false})])
	d == {{
		"rule": "s3-public-bucket",
		"address": "aws_s3_bucket_public_access_block.b",
		"msg": "aws_s3_bucket_public_access_block.b: restrict_public_buckets is false: keep all four public access block settings true [s3-public-bucket]",
	}}
}

bucket_policy(statement) := create("aws_s3_bucket_policy", "b", {"bucket": "b", "policy": json.marshal({"Version": "2012-10-17", "Statement": statement})})

test_public_bucket_policy_denied if {
	every statement in [
		{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
		[{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
		[{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}, "Action": "s3:*", "Resource": "*"}],
	] {
		rules_of(terraform.deny) == {"s3-public-bucket"} with input as plan([bucket_policy(statement)])
	}
}

test_private_bucket_policy_allowed if {
	every statement in [
		{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
		{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"},
		{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}},
		{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject", "Resource": "*"},
	] {
		terraform.decision == clean with input as plan([bucket_policy(statement)])
	}
}

test_unknown_policy_warns if {
	p := object.union(create("aws_s3_bucket_policy", "b", {}), {"after_unknown": {"bucket": true, "policy": true}})
	d := terraform.decision with input as plan([p])
	d.allow
	rules_of(d.warn) == {"unknown-at-plan"}
}
