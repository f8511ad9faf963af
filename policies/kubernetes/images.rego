package writegate.kubernetes

# no-latest-tag: ":latest" (spelled out or implied by a missing tag) pulls
# whatever was pushed last, so two replicas can run different code and a
# rollback cannot return to a known image. A digest pins the image whatever the
# tag says, so any reference with "@" is accepted.
deny contains violation(
	"no-latest-tag",
	sprintf("%s %q uses image %q: pin a tag or digest instead of :latest", [entry.label, entry.container.name, entry.container.image]),
) if {
	some entry in pod_containers
	not contains(entry.container.image, "@")
	endswith(entry.container.image, ":latest")
}

deny contains violation(
	"no-latest-tag",
	sprintf("%s %q uses image %q without a tag, which means :latest: pin a tag or digest", [entry.label, entry.container.name, entry.container.image]),
) if {
	some entry in pod_containers
	untagged(entry.container.image)
}

# An image reference is [registry[:port]/]path[:tag][@digest]. The tag can only
# sit in the last path segment: in "registry:5000/app" the colon belongs to the
# registry's port and the image has no tag.
untagged(image) if {
	not contains(image, "@")
	segments := split(image, "/")
	not contains(segments[count(segments) - 1], ":")
}
