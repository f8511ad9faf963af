package writegate.netbox

# Operator-tunable settings. Each has a default here; an operator overrides one
# by loading data at data.writegate.config.netbox.<key>, e.g. a bundle's
# data.json: {"writegate": {"config": {"netbox": {"protected_vrfs": [3]}}}}.
# An absent key keeps the default; an empty array means none.
defaults := {
	"device_name_parts": 3,
	"device_name_separator": "-",
	"device_name_characters": "abcdefghijklmnopqrstuvwxyz0123456789",
	"device_name_example": "ams1-leaf-01",
	"protected_tag": "protected",
	"protected_vrfs": [],
	"bulk_delete_warn": 10,
}

setting(key) := data.writegate.config.netbox[key]

setting(key) := defaults[key] if not data.writegate.config.netbox[key]

# The device naming pattern: `device_name_parts` parts joined by
# `device_name_separator`, each a non-empty run of `device_name_characters`.
# (Written without regex.match: the gateway's in-process residual evaluator
# does not implement it, and a policy that calls it is always decided by OPA.)
device_name_parts := setting("device_name_parts")

device_name_separator := setting("device_name_separator")

device_name_characters := {c | some c in split(setting("device_name_characters"), "")}

# What a name may contain: the parts' characters and the separator's.
device_name_allowed := device_name_characters | {c | some c in split(device_name_separator, "")}

device_name_example := setting("device_name_example")

# The slug of the tag that protects an object from deletion.
protected_tag := setting("protected_tag")

# Ids of VRFs in which no prefix may be created.
protected_vrfs := {id | some id in setting("protected_vrfs")}

# A bulk delete of more than this many objects is let through with a warning.
bulk_delete_warn := setting("bulk_delete_warn")
