package writegate.terraform_test

import data.writegate.terraform

user(name, path, tags) := create("aws_iam_user", name, {"name": name, "path": path, "tags": tags})

key_for(name) := create("aws_iam_access_key", name, {"user": name, "status": "Active", "pgp_key": null})

test_key_for_person_denied if {
	d := terraform.deny with input as plan([user("bob", "/", null), key_for("bob")])
	d == {{
		"rule": "iam-access-key-service-user",
		"address": "aws_iam_access_key.bob",
		"msg": `aws_iam_access_key.bob: access key for user "bob", which is not a service user: give the user the path "/service/" or the tag service-user = "true" [iam-access-key-service-user]`,
	}}
}

test_key_for_service_user_allowed if {
	terraform.decision == clean with input as plan([user("ci", "/service/", null), key_for("ci")])
	terraform.decision == clean with input as plan([user("ci", "/service/deploy/", null), key_for("ci")])
	terraform.decision == clean with input as plan([user("ci", "/", {"service-user": "true"}), key_for("ci")])
}

test_key_for_lookalike_denied if {
	every u in [user("ci", "/services/", null), user("ci", "/", {"service-user": "yes"}), user("other", "/service/", null)] {
		rules_of(terraform.deny) == {"iam-access-key-service-user"} with input as plan([u, key_for("ci")])
	}
}

test_key_for_unmanaged_user_denied if {
	rules_of(terraform.deny) == {"iam-access-key-service-user"} with input as plan([key_for("somebody")])
}

test_key_for_user_known_after_apply_denied if {
	k := create("aws_iam_access_key", "k", {"status": "Active"})
	d := terraform.deny with input as plan([user("ci", "/service/", null), k])
	d == {{
		"rule": "iam-access-key-service-user",
		"address": "aws_iam_access_key.k",
		"msg": `aws_iam_access_key.k: access key for a user known only after apply, which is not a service user: give the user the path "/service/" or the tag service-user = "true" [iam-access-key-service-user]`,
	}}
}

test_existing_service_user_counts if {
	existing := change("aws_iam_user", "ci", ["no-op"], {"name": "ci", "path": "/service/"}, {"name": "ci", "path": "/service/"})
	terraform.decision != clean with input as plan([existing, key_for("ci")])
	moved := change("aws_iam_user", "ci", ["update"], {"name": "ci", "path": "/"}, {"name": "ci", "path": "/service/"})
	terraform.decision == clean with input as plan([moved, key_for("ci")])
}

test_service_user_settings if {
	terraform.decision == clean with input as plan([user("ci", "/robots/", null), key_for("ci")])
		with data.writegate.config.terraform.service_user_path as "/robots/"
	terraform.decision == clean with input as plan([user("ci", "/", {"robot": "true"}), key_for("ci")])
		with data.writegate.config.terraform.service_user_tag as "robot"
}
