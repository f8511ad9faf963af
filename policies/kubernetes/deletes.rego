package writegate.kubernetes

# protected-namespace-delete: nothing in a protected namespace is deleted
# through the gateway, neither one object nor a whole collection
# (deletecollection arrives as DELETE with an empty name), and the protected
# Namespace objects themselves cannot be deleted.

namespace_resource if {
	input.request.resource.group == ""
	input.request.resource.resource == "namespaces"
}

deny contains violation(
	"protected-namespace-delete",
	sprintf("deleting %s %q in protected namespace %q is not allowed", [input.request.resource.resource, input.request.name, input.request.namespace]),
) if {
	input.request.operation == "DELETE"
	input.request.namespace in protected_namespaces
	input.request.name != ""
	not namespace_resource
}

deny contains violation(
	"protected-namespace-delete",
	sprintf("deleting all %s in protected namespace %q (deletecollection) is not allowed", [input.request.resource.resource, input.request.namespace]),
) if {
	input.request.operation == "DELETE"
	input.request.namespace in protected_namespaces
	input.request.name == ""
}

# The API server fills request.namespace with the name for Namespace objects;
# the name is what identifies them, so match on it.
deny contains violation(
	"protected-namespace-delete",
	sprintf("deleting protected namespace %q is not allowed", [input.request.name]),
) if {
	input.request.operation == "DELETE"
	namespace_resource
	input.request.name in protected_namespaces
}

deny contains violation(
	"protected-namespace-delete",
	"deleting the namespaces collection would delete protected namespaces and is not allowed",
) if {
	input.request.operation == "DELETE"
	namespace_resource
	input.request.name == ""
}
