package writegate.netbox.audit_test

import data.writegate.netbox.audit

audit_input(resource, obj) := {
	"version": "writegate.dev/v1",
	"operation": "AUDIT",
	"source": "netbox",
	"resource": resource,
	"address": sprintf("%s/%v", [resource, obj.id]),
	"object": obj,
	"context": {},
}

test_badly_named_device_found if {
	found := audit.violations with input as audit_input("dcim/devices", {"id": 7, "name": "Router One", "status": {"value": "active"}})
	{v.rule | some v in found} == {"device-name-pattern"}
}

test_well_named_device_is_clean if {
	count(audit.violations) == 0 with input as audit_input("dcim/devices", {"id": 8, "name": "ams1-core-01", "status": {"value": "active"}})
}

test_prefix_in_protected_vrf_found if {
	found := audit.violations with input as audit_input("ipam/prefixes", {"id": 3, "prefix": "10.0.0.0/24", "vrf": {"id": 5, "name": "prod"}})
		with data.writegate.config.netbox.protected_vrfs as [5]
	{v.rule | some v in found} == {"protected-vrf-prefix"}
}

test_ip_address_is_clean if {
	count(audit.violations) == 0 with input as audit_input("ipam/ip-addresses", {"id": 1, "address": "10.0.0.1/24"})
}
