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

# The VRF id of a write's object (or oldObject) is the nested object's `id`,
# else the value itself (an id, null, or what NetBox would have to resolve).
# Paths through `w`, which is always an object, are defined whatever `w` holds.
deny contains violation(
	"protected-vrf-prefix",
	sprintf("%sprefix %q would be in protected VRF %v: use another VRF", [w.at, object.get(w.object, "prefix", ""), new]),
) if {
	some w in prefix_writes
	new := object.get(w, ["object", "vrf", "id"], object.get(w, ["object", "vrf"], null))
	new in protected_vrfs
	object.get(w, ["oldObject", "vrf", "id"], object.get(w, ["oldObject", "vrf"], null)) != new
}

# A VRF given other than by its numeric id (by attributes such as
# {"name": "prod"}, or as a string, which NetBox also resolves) cannot be
# compared with the protected ids here; NetBox would resolve it, the policy
# cannot, so it refuses.
deny contains violation(
	"protected-vrf-prefix",
	sprintf("%sprefix %q names its VRF without a numeric id: give the VRF's id", [w.at, object.get(w.object, "prefix", "")]),
) if {
	some w in prefix_writes
	new := object.get(w, ["object", "vrf", "id"], object.get(w, ["object", "vrf"], null))
	new != null
	type_name(new) != "number"
}
