# Input builders shared by the tests. Each returns a full writegate.dev/v1
# input document shaped as policies/README.md defines it for the cloudflare
# kind, so the tests exercise the paths the gateway's inputs take.
package writegate.cloudflare_test

zone_id := "023e105f4ecef8ad9ca31a8372d0c353"

alice := {"username": "alice@example.com", "uid": "f267e341f3dd4697bd3b9f71dd96247f", "groups": [], "extra": {}, "authenticatedBy": "upstream"}

cf_input(request) := {
	"version": "writegate.dev/v1",
	"upstream": "cf",
	"upstreamKind": "cloudflare",
	"method": request.method,
	"path": request.path,
	"query": {},
	"headers": {"content-type": "application/json"},
	"request": object.union(
		{
			"query": {},
			"body": null,
			"object": null,
			"oldObject": null,
			"userInfo": alice,
			"name": "",
			"account": "01a7362d577a6c3019a474fd6f485823",
			"zone": zone_id,
			"zoneName": "example.com",
		},
		request,
	),
}

records_path := sprintf("/client/v4/zones/%s/dns_records", [zone_id])

record(name, type, ttl, proxied, tags) := {
	"id": "372e67954025e0ba6aaa6d586b9e0b59",
	"name": name,
	"type": type,
	"content": "192.0.2.1",
	"ttl": ttl,
	"proxied": proxied,
	"tags": tags,
}

record_create(obj) := cf_input({
	"operation": "CREATE", "method": "POST", "path": records_path,
	"resource": "dns_records", "body": obj, "object": obj,
})

record_update(old, new) := cf_input({
	"operation": "UPDATE", "method": "PATCH", "path": concat("/", [records_path, old.id]),
	"resource": "dns_records", "name": old.id, "body": new, "object": new, "oldObject": old,
})

# ci_bot: a CI identity as listen.auth authenticates it (a token of the gateway's token file, group "ci").
ci_bot := {"username": "deploy-bot", "uid": "u-deploy", "groups": ["ci", "system:authenticated"], "extra": {}, "authenticatedBy": "token"}

# as_caller: the same input, sent by `user`.
as_caller(doc, user) := object.union(doc, {"request": {"userInfo": user}})

record_delete(old) := cf_input({
	"operation": "DELETE", "method": "DELETE", "path": concat("/", [records_path, old.id]),
	"resource": "dns_records", "name": old.id, "oldObject": old,
})

# batch: POST dns_records/batch with the given items (in Cloudflare's order:
# deletes, patches, puts, posts).
batch(items) := cf_input({
	"operation": "CREATE", "method": "POST", "path": concat("/", [records_path, "batch"]),
	"resource": "dns_records", "body": {}, "items": items,
})

item_create(obj) := {"operation": "CREATE", "method": "POST", "name": "", "body": obj, "object": obj, "oldObject": null}

item_put(old, new) := {"operation": "UPDATE", "method": "PUT", "name": old.id, "body": new, "object": new, "oldObject": old}

item_delete(old) := {"operation": "DELETE", "method": "DELETE", "name": old.id, "body": {"id": old.id}, "object": null, "oldObject": old}

managed_id := "efb7b8c949ac4650a09736fc376e9aee"

execute_rule := {"id": "3a03d665bac047339bb530ecb439a90d", "action": "execute", "expression": "true", "action_parameters": {"id": managed_id}}

block_rule := {"action": "block", "expression": "http.request.uri.path eq \"/admin\""}

ruleset(phase, rules) := {"id": "4814384a9e5d4991b9815dcfc25d2f1f", "name": "default", "kind": "zone", "phase": phase, "rules": rules}

# entrypoint_put: PUT .../rulesets/phases/<phase>/entrypoint replacing the old
# rules with the new ones.
entrypoint_put(phase, old_rules, new_rules) := cf_input({
	"operation": "UPDATE", "method": "PUT",
	"path": sprintf("/client/v4/zones/%s/rulesets/phases/%s/entrypoint", [zone_id, phase]),
	"resource": "rulesets", "name": "4814384a9e5d4991b9815dcfc25d2f1f",
	"body": {"rules": new_rules},
	"object": ruleset(phase, new_rules), "oldObject": ruleset(phase, old_rules),
})

rules_of(violations) := {v.rule | some v in violations}
