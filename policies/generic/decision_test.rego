package writegate.generic_test

import data.writegate.generic

generic_input(method, path, operation, resource, params) := {
	"version": "writegate.dev/v1",
	"upstream": "things",
	"upstreamKind": "generic",
	"method": method,
	"path": path,
	"query": {},
	"headers": {},
	"request": {
		"operation": operation, "method": method, "path": path, "query": {}, "body": null,
		"object": null, "oldObject": null,
		"userInfo": {"username": "", "uid": "", "groups": [], "extra": {}, "authenticatedBy": "none"},
		"resource": resource, "name": object.get(params, "id", ""), "params": params,
	},
}

test_prod_thing_delete_denied if {
	d := generic.decision with input as generic_input("DELETE", "/v1/things/prod-7", "DELETE", "/v1/things/{id}", {"id": "prod-7"})
	d == {
		"allow": false, "deny": {{
			"rule": "protected-thing-delete",
			"msg": `thing "prod-7" is a production thing and cannot be deleted [protected-thing-delete]`,
		}},
		"warn": set(),
	}
}

test_other_thing_delete_allowed if {
	every id in ["test-42", "production", "xprod-1"] {
		d := generic.decision with input as generic_input("DELETE", concat("/", ["/v1/things", id]), "DELETE", "/v1/things/{id}", {"id": id})
		d == {"allow": true, "deny": set(), "warn": set()}
	}
}

test_prod_thing_update_allowed if {
	d := generic.decision with input as generic_input("PUT", "/v1/things/prod-7", "UPDATE", "/v1/things/{id}", {"id": "prod-7"})
	d.allow == true
}

test_unknown_path_warned if {
	d := generic.decision with input as generic_input("POST", "/v1/searches", "CREATE", "", {})
	d.allow == true
	d.warn == {{"rule": "unknown-path-write", "msg": "POST /v1/searches matches no configured path template [unknown-path-write]"}}
}
