package writegate.terraform_test

import data.writegate.terraform

bucket(tags) := {"bucket": "b", "tags": tags, "tags_all": tags}

test_protected_delete_denied if {
	d := terraform.deny with input as plan([delete("aws_s3_bucket", "b", bucket({"protected": "true"}))])
	d == {{
		"rule": "protected-delete",
		"address": "aws_s3_bucket.b",
		"msg": `aws_s3_bucket.b: the resource is tagged "protected" and would be destroyed (delete): remove the tag in a separate apply first [protected-delete]`,
	}}
}

test_protected_replace_denied if {
	every actions in [["delete", "create"], ["create", "delete"]] {
		replace := change("aws_s3_bucket", "b", actions, bucket({"protected": "yes"}), bucket({"protected": "yes"}))
		rules_of(terraform.deny) == {"protected-delete"} with input as plan([replace])
	}
}

test_default_tags_protect if {
	before := {"bucket": "b", "tags": null, "tags_all": {"protected": "True"}}
	rules_of(terraform.deny) == {"protected-delete"} with input as plan([delete("aws_s3_bucket", "b", before)])
}

test_unprotected_delete_allowed if {
	every before in [bucket({"protected": "false"}), bucket({"protected": "FALSE"}), bucket({"team": "a"}), bucket({"name": "protected"}), bucket({"name": "protected:true"}), bucket(null), {"id": "x"}] {
		terraform.decision == clean with input as plan([delete("aws_s3_bucket", "b", before)])
	}
}

test_update_of_protected_allowed if {
	update := change("aws_s3_bucket", "b", ["update"], bucket({"protected": "true"}), bucket({"protected": "true", "team": "a"}))
	terraform.decision == clean with input as plan([update])
}

test_protected_tag_setting if {
	d := terraform.deny with input as plan([delete("aws_s3_bucket", "b", bucket({"keep": "1"}))])
		with data.writegate.config.terraform.protected_tag as "keep"
	rules_of(d) == {"protected-delete"}
}

test_labels_protect if {
	rules_of(terraform.deny) == {"protected-delete"} with input as plan([delete("google_storage_bucket", "b", {"labels": {"protected": "true"}})])
}

test_tag_lists if {
	every tags in [["protected"], ["team:a", "protected:true"], ["protected:"]] {
		rules_of(terraform.deny) == {"protected-delete"} with input as plan([delete("digitalocean_droplet", "d", {"tags": tags})])
	}
	every tags in [["team:a"], ["protected:false"], ["protected:FALSE"], ["unprotected"], ["protectedx:true"], []] {
		terraform.decision == clean with input as plan([delete("digitalocean_droplet", "d", {"tags": tags})])
	}
}
