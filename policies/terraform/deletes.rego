package writegate.terraform

# protected-delete: destroying a resource tagged `protected_tag` (any value but
# "false"), by a delete or by a replacement. Remove the tag in a separate apply
# first. Tags set by the provider's default_tags count too (tags_all).
deny contains violation(
	change,
	"protected-delete",
	sprintf("the resource is tagged %q and would be destroyed (%s): remove the tag in a separate apply first", [protected_tag, concat(", ", change.actions)]),
) if {
	some change in deleted
	protected(change.before)
}

protected(object) if {
	some key in ["tags", "tags_all"]
	value := object[key][protected_tag]
	lower(value) != "false"
}
