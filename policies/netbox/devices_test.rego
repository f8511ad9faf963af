package writegate.netbox_test

import data.writegate.netbox

test_device_create_with_good_name_allowed if {
	every name in ["ams1-leaf-01", "fra2-spine-1", "x-y-z"] {
		d := netbox.decision with input as device_create({"name": name, "device_type": 3, "role": 2, "site": 1})
		d == {"allow": true, "deny": set(), "warn": set()}
	}
}

test_device_create_with_bad_name_denied if {
	d := netbox.deny with input as device_create({"name": "Leaf_3", "device_type": 3, "role": 2, "site": 1})
	d == {{
		"rule": "device-name-pattern",
		"msg": `device name "Leaf_3" does not follow the naming pattern: 3 parts joined by "-", each of the characters "0123456789abcdefghijklmnopqrstuvwxyz" (e.g. "ams1-leaf-01") [device-name-pattern]`,
	}}
}

test_bad_names_denied if {
	# wrong part count, empty part, upper case, other characters, non-ASCII
	every name in ["ams1-leaf", "ams1-leaf-01-b", "ams1--01", "-leaf-01", "AMS1-leaf-01", "ams1-leaf-0 1", "ams1-leaf_01", "ams1-léaf-01", ""] {
		d := netbox.deny with input as device_create({"name": name, "site": 1})
		rules_of(d) == {"device-name-pattern"}
	}
}

test_unnamed_device_denied if {
	every body in [{"site": 1}, {"name": null, "site": 1}, {"name": 42, "site": 1}] {
		d := netbox.deny with input as device_create(body)
		rules_of(d) == {"device-name-pattern"}
	}
	d := netbox.deny with input as device_create({"site": 1})
	d == {{
		"rule": "device-name-pattern",
		"msg": `device has no name: name it after the naming pattern (e.g. "ams1-leaf-01") [device-name-pattern]`,
	}}
}

test_rename_checked_other_updates_not if {
	legacy := device(12, "Legacy Switch", "active", [])
	d := netbox.decision with input as device_update(legacy, {"status": "offline"})
	d.allow == true
	d2 := netbox.deny with input as device_update(legacy, {"name": "Still Legacy"})
	rules_of(d2) == {"device-name-pattern"}
	d3 := netbox.decision with input as device_update(legacy, {"name": "ams1-leaf-12"})
	d3.allow == true
}

test_name_pattern_settings if {
	body := {"name": "AMS1.CORE", "site": 1}
	d := netbox.decision with input as device_create(body)
		with data.writegate.config.netbox.device_name_parts as 2
		with data.writegate.config.netbox.device_name_separator as "."
		with data.writegate.config.netbox.device_name_characters as "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	d.allow == true
	d2 := netbox.deny with input as device_create({"name": "ams1-leaf-01", "site": 1})
		with data.writegate.config.netbox.device_name_parts as 2
	rules_of(d2) == {"device-name-pattern"}
}

test_other_models_names_not_checked if {
	i := nb_input(object.union(list_request("dcim", "sites", "CREATE", "POST"), {"object": {"name": "Amsterdam 1", "slug": "ams1"}}))
	d := netbox.decision with input as i
	d.allow == true
}

test_active_device_delete_denied if {
	d := netbox.deny with input as delete_of("dcim", "devices", device(12, "ams1-leaf-01", "active", []))
	d == {{
		"rule": "active-device-delete",
		"msg": `device "ams1-leaf-01" is active and cannot be deleted: change its status first [active-device-delete]`,
	}}

	# a status given as a plain value is read too
	d2 := netbox.deny with input as delete_of("dcim", "devices", object.union(device(12, "ams1-leaf-01", "active", []), {"status": "active"}))
	rules_of(d2) == {"active-device-delete"}
}

test_inactive_device_delete_allowed if {
	every status in ["offline", "planned", "decommissioning", "failed"] {
		d := netbox.decision with input as delete_of("dcim", "devices", device(14, "ams1-leaf-14", status, []))
		d == {"allow": true, "deny": set(), "warn": set()}
	}
}

test_active_object_of_other_model_delete_allowed if {
	d := netbox.decision with input as delete_of("dcim", "sites", {"id": 1, "name": "AMS1", "status": {"value": "active"}})
	d.allow == true
}

test_bulk_create_one_bad_name_denies_all if {
	d := netbox.decision with input as bulk("dcim", "devices", "CREATE", "POST", [
		create_item({"name": "ams1-leaf-04", "site": 1}),
		create_item({"name": "AMS1 leaf 5", "site": 1}),
	])
	d.allow == false
	d.deny == {{
		"rule": "device-name-pattern",
		"msg": `items[1]: device name "AMS1 leaf 5" does not follow the naming pattern: 3 parts joined by "-", each of the characters "0123456789abcdefghijklmnopqrstuvwxyz" (e.g. "ams1-leaf-01") [device-name-pattern]`,
	}}
}

test_bulk_delete_names_each_active_device if {
	d := netbox.deny with input as bulk("dcim", "devices", "DELETE", "DELETE", [
		delete_item(device(12, "ams1-leaf-01", "active", [])),
		delete_item(device(14, "ams1-leaf-14", "offline", [])),
		delete_item(device(13, "ams1-leaf-02", "active", [])),
	])
	{v.msg | some v in d} == {
		`items[0]: device "ams1-leaf-01" is active and cannot be deleted: change its status first [active-device-delete]`,
		`items[2]: device "ams1-leaf-02" is active and cannot be deleted: change its status first [active-device-delete]`,
	}
}

test_bulk_update_allowed if {
	old := device(12, "ams1-leaf-01", "active", [])
	patch := {"id": 12, "status": "offline"}
	d := netbox.decision with input as bulk("dcim", "devices", "UPDATE", "PATCH", [{
		"operation": "UPDATE", "id": 12, "body": patch,
		"object": object.union(old, patch), "oldObject": old,
	}])
	d == {"allow": true, "deny": set(), "warn": set()}
}

test_bulk_item_without_operation_denied if {
	d := netbox.deny with input as bulk("dcim", "devices", "CREATE", "POST", [{"body": {}, "object": {"name": "ams1-leaf-04"}}])
	rules_of(d) == {"malformed-input"}
}
