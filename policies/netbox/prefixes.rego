package writegate.netbox

# protected-vrf-prefix: no prefix is created in, or moved into, a protected VRF
# (data.writegate.config.netbox.protected_vrfs, none by default). NetBox takes
# a related object as its id (`"vrf": 3`) or as a nested object
# (`{"id": 3}`, or any unique attributes such as `{"name": "prod"}`), and
# answers it nested (`{"id": 3, "name": ...}`).
prefix_writes contains w if {
	input.request.resource == "ipam/prefixes"
	count(protected_vrfs) > 0
	some w in writes
	w.operation in {"CREATE", "UPDATE"}
}

deny contains violation(
	"protected-vrf-prefix",
	sprintf("%sprefix %q would be in protected VRF %v: use another VRF", [w.at, object.get(w.object, "prefix", ""), id]),
) if {
	some w in prefix_writes
	new := {x | some x in [object.get(w.object, "vrf", null), object.get(w.object, ["vrf", "id"], null)]; is_number(x)}
	old := {x | some x in [object.get(w.oldObject, "vrf", null), object.get(w.oldObject, ["vrf", "id"], null)]; is_number(x)}
	some id in new
	id in protected_vrfs
	not id in old
}

# A VRF given by attributes other than its id cannot be compared with the
# protected ids here; NetBox would resolve it, the policy cannot, so it refuses.
deny contains violation(
	"protected-vrf-prefix",
	sprintf("%sprefix %q names its VRF without an id: give the VRF's numeric id", [w.at, object.get(w.object, "prefix", "")]),
) if {
	some w in prefix_writes
	is_object(w.object.vrf)
	not is_number(object.get(w.object.vrf, "id", null))
}
