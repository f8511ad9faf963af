package writegate.netbox_test

import data.writegate.netbox

test_protected_delete_denied if {
	d := netbox.deny with input as delete_of("ipam", "prefixes", prefix(8, "10.0.0.0/16", null, ["protected"]))
	d == {{
		"rule": "protected-delete",
		"msg": `ipam/prefixes "10.0.0.0/16" (id 8) is tagged "protected" and cannot be deleted: remove the tag first [protected-delete]`,
	}}
}

test_protected_device_delete_reports_both if {
	d := netbox.deny with input as delete_of("dcim", "devices", device(12, "ams1-leaf-01", "active", ["core", "protected"]))
	rules_of(d) == {"protected-delete", "active-device-delete"}
}

test_unprotected_delete_allowed if {
	every slugs in [[], ["core"], ["protected-not"]] {
		d := netbox.decision with input as delete_of("ipam", "prefixes", prefix(7, "10.20.0.0/24", null, slugs))
		d == {"allow": true, "deny": set(), "warn": set()}
	}
}

test_protected_update_allowed if {
	old := device(12, "ams1-leaf-01", "active", ["protected"])
	d := netbox.decision with input as device_update(old, {"tags": []})
	d.allow == true
}

test_protected_tag_setting if {
	d := netbox.deny with input as delete_of("ipam", "prefixes", prefix(8, "10.0.0.0/16", null, ["keep"]))
		with data.writegate.config.netbox.protected_tag as "keep"
	rules_of(d) == {"protected-delete"}
}

test_bulk_delete_one_protected_denies_all if {
	d := netbox.deny with input as bulk("ipam", "prefixes", "DELETE", "DELETE", [
		delete_item(prefix(7, "10.20.0.0/24", null, [])),
		delete_item(prefix(8, "10.0.0.0/16", null, ["protected"])),
	])
	d == {{
		"rule": "protected-delete",
		"msg": `items[1]: ipam/prefixes "10.0.0.0/16" (id 8) is tagged "protected" and cannot be deleted: remove the tag first [protected-delete]`,
	}}
}

big_delete(n) := bulk("ipam", "prefixes", "DELETE", "DELETE", [delete_item(prefix(i, "10.0.0.0/24", null, [])) | some i in numbers.range(1, n)])

test_large_bulk_delete_warned if {
	d := netbox.decision with input as big_delete(11)
	d.allow == true
	d.warn == {{"rule": "bulk-delete", "msg": "deleting 11 ipam/prefixes in one request: check the list [bulk-delete]"}}
	d2 := netbox.decision with input as big_delete(10)
	d2 == {"allow": true, "deny": set(), "warn": set()}
}
