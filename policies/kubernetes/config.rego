package writegate.kubernetes

# Operator-tunable lists. Each has a default here; an operator overrides one by
# loading data at data.writegate.config.kubernetes.<key> (a JSON array), e.g. a
# bundle's data.json: {"writegate": {"config": {"kubernetes": {
#   "protected_namespaces": ["production", "payments"]}}}}.
# An absent key keeps the default; an empty array means none (no protected
# namespaces, no connect groups, hostPath allowed nowhere).
defaults := {
	"protected_namespaces": ["production", "kube-system"],
	"connect_groups": ["system:masters", "ops"],
	"host_path_namespaces": ["kube-system"],
	"scheduler_users": [],
	"namespace_delete_groups": ["platform-admins"],
}

setting(key) := data.writegate.config.kubernetes[key]

setting(key) := defaults[key] if not data.writegate.config.kubernetes[key]

# Namespaces where nothing may be deleted and nobody may exec/attach/port-forward.
protected_namespaces := {ns | some ns in setting("protected_namespaces")}

# Groups whose members may exec/attach/port-forward outside protected namespaces
# without a warning.
connect_groups := {group | some group in setting("connect_groups")}

# Namespaces whose pods may mount hostPath volumes (node agents, CNI, CSI).
host_path_namespaces := {ns | some ns in setting("host_path_namespaces")}

# Users who may bind pods to nodes themselves (pods/binding, spec.nodeName).
scheduler_users := {user | some user in setting("scheduler_users")}

# Groups whose members may delete (unprotected) namespaces.
namespace_delete_groups := {group | some group in setting("namespace_delete_groups")}
