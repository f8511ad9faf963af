package writegate.kubernetes

# protected-namespace-delete: nothing in a protected namespace is deleted
# through the gateway, neither one object nor a whole collection
# (deletecollection arrives as DELETE with an empty name), and the protected
# Namespace objects themselves cannot be deleted.

namespace_resource if {
	input.request.resource.group == ""
	input.request.resource.resource == "namespaces"
}

# deletion holds for every write that deletes the object it names: a DELETE,
# and an eviction (POST pods/<name>/eviction, what `kubectl drain` sends),
# which deletes the pod once its disruption budgets allow it
# (k8s.io/kubernetes pkg/registry/core/pod/storage/eviction.go calls the pod
# store's Delete). Rules about deleting should test `deletion`, not the
# operation, so that an eviction gets the rules of the delete it amounts to.
# The subresource is matched whatever the operation: every form of it deletes.
deletion if input.request.operation == "DELETE"

deletion if input.request.subResource == "eviction"

deletes_in_protected_namespace if {
	deletion
	input.request.namespace in protected_namespaces
	input.request.name != ""
	not namespace_resource
}

# One rule per wording: a complete rule choosing the verb would be evaluated on
# every write by the gateway's residual engine, which checks such rules for
# conflicts.
deny contains violation(
	"protected-namespace-delete",
	sprintf("deleting %s %q in protected namespace %q is not allowed", [input.request.resource.resource, input.request.name, input.request.namespace]),
) if {
	deletes_in_protected_namespace
	not input.request.subResource == "eviction"
}

deny contains violation(
	"protected-namespace-delete",
	sprintf("evicting %s %q in protected namespace %q is not allowed", [input.request.resource.resource, input.request.name, input.request.namespace]),
) if {
	deletes_in_protected_namespace
	input.request.subResource == "eviction"
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

# A deletecollection without a namespace deletes every matching object of a
# cluster-scoped resource at once (ClusterRoles, Nodes, PersistentVolumes,
# CustomResourceDefinitions...), on which what runs in protected namespaces
# depends. For a namespaced resource it would reach every namespace; the
# apiserver does not serve it there (endpoints/installer.go registers only list
# and watch across namespaces; apiextensions answers 404, kubernetes#80852),
# and the policy refuses it all the same rather than rely on that.
deny contains violation(
	"protected-namespace-delete",
	sprintf("deleting all %s of the cluster at once (deletecollection) would reach protected namespaces and is not allowed", [input.request.resource.resource]),
) if {
	input.request.operation == "DELETE"
	input.request.name == ""
	input.request.namespace == ""
	not namespace_resource
}

# Deletes that delete what is in protected namespaces by another name:
# a CustomResourceDefinition takes every object of its kind, in every
# namespace, with it (apiextensions-apiserver's CRD finalizer deletes them),
# and the pod garbage collector deletes the pods bound to a deleted Node,
# protected namespaces' among them (pkg/controller/podgc). A collection of
# them (name "") is refused too, in whatever namespace the path names.
cascading_deletes := {
	"apiextensions.k8s.io": {"customresourcedefinitions": "every object of its kind in every namespace"},
	"": {"nodes": "every pod bound to it"},
}

deny contains violation(
	"protected-namespace-delete",
	sprintf("deleting %s %q deletes %s, protected namespaces included, and is not allowed", [input.request.resource.resource, input.request.name, what]),
) if {
	input.request.operation == "DELETE"
	what := cascading_deletes[input.request.resource.group][input.request.resource.resource]
}

# namespace-delete-group: deleting a Namespace deletes everything in it, so
# only members of namespace_delete_groups (platform-admins by default) may, as
# the caller the gateway identified (userInfo). A request that impersonates
# someone (impersonatedUser) is carried out by the apiserver as that identity,
# which must be a member too: an outsider cannot ask to be a member, and a
# member cannot delete as an outsider. Protected namespaces are refused above,
# whoever asks.
namespace_delete if {
	input.request.operation == "DELETE"
	namespace_resource
	input.request.name != ""
	not input.request.name in protected_namespaces
}

namespace_deleter if {
	some group in input.request.userInfo.groups
	group in namespace_delete_groups
}

impersonated_namespace_deleter if {
	some group in input.request.impersonatedUser.groups
	group in namespace_delete_groups
}

deny contains violation(
	"namespace-delete-group",
	sprintf("deleting namespace %q is reserved to members of %s, and %q is not one", [input.request.name, concat(" or ", namespace_delete_groups), input.request.userInfo.username]),
) if {
	namespace_delete
	not namespace_deleter
}

deny contains violation(
	"namespace-delete-group",
	sprintf("deleting namespace %q is reserved to members of %s, and the impersonated %q is not one", [input.request.name, concat(" or ", namespace_delete_groups), input.request.impersonatedUser.username]),
) if {
	namespace_delete
	input.request.impersonatedUser.username
	not impersonated_namespace_deleter
}
