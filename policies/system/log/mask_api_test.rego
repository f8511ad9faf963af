package system.log_test

import data.system.log

api_event(kind, request) := {"input": {"upstreamKind": kind, "request": request}}

upsert(path) := {"op": "upsert", "path": path, "value": "**masked**"}

test_cloudflare_secret_fields_masked if {
	body := {"name": "idp", "config": {"client_id": "abc", "client_secret": "s3cr3t", "claims": ["a"]}, "tunnel_secret": {"b": 1}, "ttl": 1}
	masks := log.mask with input as api_event("cloudflare", {"body": body, "object": body, "oldObject": null})
	masks == {
		upsert("/input/request/body/config/client_secret"), upsert("/input/request/body/tunnel_secret"),
		upsert("/input/request/object/config/client_secret"), upsert("/input/request/object/tunnel_secret"),
	}
}

test_cloudflare_secret_binding_text_masked_other_text_kept if {
	body := {"bindings": [{"type": "secret_text", "name": "API_KEY_NAME", "text": "hunter2"}, {"type": "plain_text", "name": "GREETING", "text": "hello"}]}
	masks := log.mask with input as api_event("cloudflare", {"body": body})
	masks == {upsert("/input/request/body/bindings/0/text")}
}

test_cloudflare_numbers_and_booleans_under_secret_names_kept if {
	masks := log.mask with input as api_event("cloudflare", {"body": {"secret_count": 3, "require_token": true}})
	count(masks) == 0
}

test_cloudflare_batch_items_masked if {
	items := [{"body": {"name": "a"}}, {"body": {"password": "pw"}}]
	masks := log.mask with input as api_event("cloudflare", {"items": items})
	masks == {upsert("/input/request/items/1/body/password")}
}

test_netbox_password_and_token_masked if {
	user := log.mask with input as api_event("netbox", {"resource": "users/users", "body": {"username": "u", "password": "pw", "token": "not-a-token-here"}})
	user == {upsert("/input/request/body/password")}
	token := log.mask with input as api_event("netbox", {"resource": "users/tokens", "object": {"key": "k", "token": "t", "user": 1}})
	token == {upsert("/input/request/object/key"), upsert("/input/request/object/token")}
}

test_netbox_empty_secrets_kept if {
	masks := log.mask with input as api_event("netbox", {"resource": "core/data-sources", "body": {"parameters": {"password": "", "aws_secret_access_key": null}}})
	count(masks) == 0
}

# OPA splits a mask path on "/" and does not unescape its parts: a key it cannot address masks its whole document.
test_unaddressable_key_masks_the_document if {
	masks := log.mask with input as api_event("cloudflare", {"body": {"a/b": {"password": "pw"}, "c d": {"private_key": "k"}}})
	masks == {upsert("/input/request/body")}
}

test_kubernetes_inputs_untouched_by_api_rules if {
	event := {"input": {"upstreamKind": "kubernetes", "request": {"resource": {"group": "", "resource": "configmaps"}, "object": {"data": {"password": "x"}}}}}
	masks := log.mask with input as event
	count(masks) == 0
}
