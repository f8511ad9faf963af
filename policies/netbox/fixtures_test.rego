# Input builders shared by the tests. Each returns a full writegate.dev/v1
# input document shaped as policies/README.md defines it for the netbox kind,
# so the tests exercise the paths the gateway's inputs take.
package writegate.netbox_test

alice := {"username": "alice", "uid": "4", "groups": ["network-engineers"], "extra": {}, "authenticatedBy": "upstream"}

nb_input(request) := {
	"version": "writegate.dev/v1",
	"upstream": "netbox",
	"upstreamKind": "netbox",
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
			"id": null,
		},
		request,
	),
}

list_request(app, model, op, method) := {
	"operation": op, "method": method, "path": sprintf("/api/%s/%s/", [app, model]),
	"resource": sprintf("%s/%s", [app, model]), "app": app, "model": model,
}

detail_request(app, model, op, method, id) := object.union(list_request(app, model, op, method), {
	"path": sprintf("/api/%s/%s/%d/", [app, model, id]),
	"name": sprintf("%d", [id]), "id": id,
})

# device: a device as NetBox answers it (status and tags nested).
device(id, name, status, tag_slugs) := {
	"id": id,
	"display": name,
	"name": name,
	"site": {"id": 1, "name": "AMS1", "slug": "ams1"},
	"status": {"value": status, "label": status},
	"tags": [{"id": 5, "name": slug, "slug": slug} | some slug in tag_slugs],
}

device_create(body) := nb_input(object.union(list_request("dcim", "devices", "CREATE", "POST"), {"body": body, "object": body}))

device_update(old, patch) := nb_input(object.union(detail_request("dcim", "devices", "UPDATE", "PATCH", old.id), {
	"body": patch, "object": object.union(old, patch), "oldObject": old,
}))

delete_of(app, model, old) := nb_input(object.union(detail_request(app, model, "DELETE", "DELETE", old.id), {"oldObject": old}))

# bulk: a list body on the list endpoint, one item per element.
bulk(app, model, op, method, items) := nb_input(object.union(list_request(app, model, op, method), {
	"body": [i.body | some i in items],
	"items": items,
}))

create_item(body) := {"operation": "CREATE", "id": null, "body": body, "object": body, "oldObject": null}

delete_item(old) := {"operation": "DELETE", "id": old.id, "body": {"id": old.id}, "object": null, "oldObject": old}

prefix(id, p, vrf, tag_slugs) := {
	"id": id, "display": p, "prefix": p, "vrf": vrf,
	"tags": [{"id": 5, "name": slug, "slug": slug} | some slug in tag_slugs],
}

prefix_create(body) := nb_input(object.union(list_request("ipam", "prefixes", "CREATE", "POST"), {"body": body, "object": body}))

rules_of(violations) := {v.rule | some v in violations}
