package writegate.netbox

# protected-delete: an object of any model tagged with the protected tag is not
# deleted through the gateway; removing the tag first is a separate, visible
# write. NetBox answers tags as nested objects, [{"id", "name", "slug", ...}];
# the slug is what identifies a tag.
deny contains violation(
	"protected-delete",
	sprintf("%s%s %q (id %v) is tagged %q and cannot be deleted: remove the tag first", [w.at, input.request.resource, object.get(w.oldObject, "display", ""), w.id, protected_tag]),
) if {
	some w in writes
	w.operation == "DELETE"
	some tag in w.oldObject.tags
	tag.slug == protected_tag
}

# bulk-delete: many objects deleted by one request is worth a second look
# (NetBox deletes them all or none, with their dependent objects).
warn contains violation(
	"bulk-delete",
	sprintf("deleting %d %s in one request: check the list", [count(input.request.items), input.request.resource]),
) if {
	input.request.operation == "DELETE"
	count(input.request.items) > bulk_delete_warn
}
