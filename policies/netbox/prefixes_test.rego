package writegate.netbox_test

import data.writegate.netbox

test_prefix_in_protected_vrf_denied if {
	every vrf in [3, {"id": 3}, {"id": 3, "name": "prod", "rd": "65000:3"}] {
		d := netbox.deny with input as prefix_create({"prefix": "10.9.0.0/24", "vrf": vrf})
			with data.writegate.config.netbox.protected_vrfs as [3]
		d == {{
			"rule": "protected-vrf-prefix",
			"msg": `prefix "10.9.0.0/24" would be in protected VRF 3: use another VRF [protected-vrf-prefix]`,
		}}
	}
}

test_prefix_elsewhere_allowed if {
	every vrf in [4, {"id": 4}, null] {
		d := netbox.decision with input as prefix_create({"prefix": "10.9.0.0/24", "vrf": vrf})
			with data.writegate.config.netbox.protected_vrfs as [3]
		d.allow == true
	}
	d := netbox.decision with input as prefix_create({"prefix": "10.9.0.0/24"})
		with data.writegate.config.netbox.protected_vrfs as [3]
	d.allow == true
}

test_no_protected_vrfs_by_default if {
	d := netbox.decision with input as prefix_create({"prefix": "10.9.0.0/24", "vrf": 3})
	d.allow == true
}

test_vrf_not_by_numeric_id_denied if {
	d := netbox.deny with input as prefix_create({"prefix": "10.9.0.0/24", "vrf": {"name": "prod"}})
		with data.writegate.config.netbox.protected_vrfs as [3]
	d == {{
		"rule": "protected-vrf-prefix",
		"msg": `prefix "10.9.0.0/24" names its VRF without a numeric id: give the VRF's id [protected-vrf-prefix]`,
	}}
	every vrf in ["3", {"id": "3"}, [3]] {
		d2 := netbox.deny with input as prefix_create({"prefix": "10.9.0.0/24", "vrf": vrf})
			with data.writegate.config.netbox.protected_vrfs as [3]
		rules_of(d2) == {"protected-vrf-prefix"}
	}
}

prefix_update(old, patch) := nb_input(object.union(detail_request("ipam", "prefixes", "UPDATE", "PATCH", old.id), {
	"body": patch, "object": object.union(old, patch), "oldObject": old,
}))

test_prefix_moved_into_protected_vrf_denied if {
	d := netbox.deny with input as prefix_update(prefix(7, "10.20.0.0/24", {"id": 4, "name": "lab"}, []), {"vrf": 3})
		with data.writegate.config.netbox.protected_vrfs as [3]
	rules_of(d) == {"protected-vrf-prefix"}
}

test_prefix_already_in_protected_vrf_updatable if {
	d := netbox.decision with input as prefix_update(prefix(7, "10.20.0.0/24", {"id": 3, "name": "prod"}, []), {"description": "uplinks"})
		with data.writegate.config.netbox.protected_vrfs as [3]
	d.allow == true
}

test_bulk_prefix_create_names_item if {
	d := netbox.deny with input as bulk("ipam", "prefixes", "CREATE", "POST", [
		create_item({"prefix": "10.9.0.0/24", "vrf": 4}),
		create_item({"prefix": "10.9.1.0/24", "vrf": 3}),
	])
		with data.writegate.config.netbox.protected_vrfs as [3]
	{v.msg | some v in d} == {`items[1]: prefix "10.9.1.0/24" would be in protected VRF 3: use another VRF [protected-vrf-prefix]`}
}
