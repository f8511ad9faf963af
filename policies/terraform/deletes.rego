package writegate.terraform

# protected-delete: destroying a resource tagged `protected_tag`, by a delete
# or by a replacement. Remove the tag in a separate apply first. Tags are read
# where providers keep them: a map (`tags`, `tags_all` with the AWS provider's
# default_tags, `labels`) with the key `protected_tag` and any value but
# "false"; or a list of strings (`tags` of DigitalOcean or Cloudflare) with
# the entry `protected_tag`, or `protected_tag:<value>` with any value but
# "false".
deny contains violation(
	change,
	"protected-delete",
	sprintf("the resource is tagged %q and would be destroyed (%s): remove the tag in a separate apply first", [protected_tag, concat(", ", change.actions)]),
) if {
	some change in deleted
	protected(change.before)
}

protected(object) if {
	some key in ["tags", "tags_all", "labels"]
	value := object[key][protected_tag]
	lower(value) != "false"
}

protected(object) if {
	is_array(object.tags)
	protected_tag in object.tags
}

protected(object) if {
	is_array(object.tags)
	some tag in object.tags
	startswith(tag, concat("", [protected_tag, ":"]))
	lower(substring(tag, count(protected_tag) + 1, -1)) != "false"
}
