package system.log_test

import data.system.log

secret_event(resource, object) := {"input": {"request": {
	"resource": {"group": "", "version": "v1", "resource": resource},
	"object": object,
	"oldObject": null,
}}}

test_secret_by_path_without_kind if {
	masks := log.mask with input as secret_event("secrets", {"metadata": {"name": "s", "annotations": {"a": "b"}}, "data": {"k": "djE="}, "stringData": {"p": "hunter2"}})
	masks == {"/input/request/object/data", "/input/request/object/stringData", "/input/request/object/metadata/annotations"}
}

test_secret_kind_elsewhere if {
	masks := log.mask with input as secret_event("things", {"kind": "Secret", "data": {"k": "djE="}})
	masks == {"/input/request/object/data"}
}

test_old_object_masked if {
	event := {"input": {"request": {"resource": {"group": "", "resource": "secrets"}, "object": null, "oldObject": {"data": {"k": "djE="}}}}}
	masks := log.mask with input as event
	masks == {"/input/request/oldObject/data"}
}

test_configmap_untouched if {
	masks := log.mask with input as secret_event("configmaps", {"kind": "ConfigMap", "data": {"k": "v"}})
	count(masks) == 0
}

test_other_group_secrets_untouched if {
	event := {"input": {"request": {"resource": {"group": "example.com", "resource": "secrets"}, "object": {"data": {"k": "v"}}, "oldObject": null}}}
	masks := log.mask with input as event
	count(masks) == 0
}

test_old_secret_kind_elsewhere if {
	event := {"input": {"request": {"resource": {"group": "x.io", "resource": "things"}, "object": null, "oldObject": {"kind": "Secret", "stringData": {"p": "v"}}}}}
	masks := log.mask with input as event
	masks == {"/input/request/oldObject/stringData"}
}
