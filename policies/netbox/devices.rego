package writegate.netbox

device_write if input.request.resource == "dcim/devices"

# named_devices: device writes that set a name: every create, and the updates
# that change it (a device named before the pattern existed keeps its name
# through other updates).
named_devices contains w if {
	device_write
	some w in writes
	w.operation == "CREATE"
}

named_devices contains w if {
	device_write
	some w in writes
	w.operation == "UPDATE"
	object.get(w.object, "name", null) != object.get(w.oldObject, "name", null)
}

bad_device_name contains w if {
	some w in named_devices
	count(split(w.object.name, device_name_separator)) != device_name_parts
}

bad_device_name contains w if {
	some w in named_devices
	some part in split(w.object.name, device_name_separator)
	part == ""
}

bad_device_name contains w if {
	some w in named_devices
	some c in split(w.object.name, "")
	not c in device_name_allowed
}

# device-name-pattern: monitoring, DNS and cabling plans are generated from
# device names, so new names follow the site's pattern. NetBox allows unnamed
# devices; the pattern does not.
deny contains violation(
	"device-name-pattern",
	sprintf(
		"%sdevice name %q does not follow the naming pattern: %v parts joined by %q, each of the characters %q (e.g. %q)",
		[w.at, w.object.name, device_name_parts, device_name_separator, concat("", device_name_characters), device_name_example],
	),
) if some w in bad_device_name

deny contains violation(
	"device-name-pattern",
	sprintf("%sdevice has no name: name it after the naming pattern (e.g. %q)", [w.at, device_name_example]),
) if {
	some w in named_devices
	not is_string(object.get(w.object, "name", null))
}

# active-device-delete: an active device is in service; take it out of service
# (status offline, decommissioning...) before deleting it. NetBox answers a
# device's status as {"value": "active", "label": "Active"}; a plain string is
# accepted too.
deny contains violation(
	"active-device-delete",
	sprintf("%sdevice %q is active and cannot be deleted: change its status first", [w.at, object.get(w.oldObject, "display", "")]),
) if {
	device_write
	some w in writes
	w.operation == "DELETE"
	active(w.oldObject.status)
}

active(status) if status.value == "active"

active(status) if status == "active"
