# OPA's own decision log must not hold Secret values either. The gateway masks its log by the resource the path
# names (src/upstreams/kubernetes/mask.ts), but the input it sends to OPA is the full one, and OPA logs every
# input it decides on (decision_logs.console in the supervised OPA). OPA applies the rules at
# `data.system.log.mask` to each decision-log event before writing it, with the event as `input`
# (https://www.openpolicyagent.org/docs/management-decision-logs#masking-sensitive-data): these remove the
# values of Secret writes, named by the resource, not by the body's kind.
package system.log

secret_request if {
	input.input.request.resource.group == ""
	input.input.request.resource.resource == "secrets"
}

secret_request if input.input.request.object.kind == "Secret"

secret_request if input.input.request.oldObject.kind == "Secret"

secret_fields := ["data", "stringData"]

mask contains sprintf("/input/request/%s/%s", [doc, field]) if {
	secret_request
	some doc in ["object", "oldObject"]
	some field in secret_fields
	input.input.request[doc][field]
}

# kubectl apply copies the whole Secret, data included, into the last-applied-configuration annotation.
mask contains sprintf("/input/request/%s/metadata/annotations", [doc]) if {
	secret_request
	some doc in ["object", "oldObject"]
	input.input.request[doc].metadata.annotations
}
