/**
 * Kinds of the built-in resources, for requests whose body does not name
 * its kind (deletes, connects, patches that fail to resolve). Custom
 * resources take their kind from the object itself.
 */
const KINDS: Record<string, string> = {
  'pods': 'Pod', 'configmaps': 'ConfigMap', 'secrets': 'Secret', 'namespaces': 'Namespace', 'services': 'Service',
  'serviceaccounts': 'ServiceAccount', 'events': 'Event', 'nodes': 'Node', 'persistentvolumes': 'PersistentVolume',
  'persistentvolumeclaims': 'PersistentVolumeClaim', 'endpoints': 'Endpoints', 'limitranges': 'LimitRange',
  'resourcequotas': 'ResourceQuota', 'replicationcontrollers': 'ReplicationController', 'podtemplates': 'PodTemplate',
  'apps/deployments': 'Deployment', 'apps/statefulsets': 'StatefulSet', 'apps/daemonsets': 'DaemonSet',
  'apps/replicasets': 'ReplicaSet', 'apps/controllerrevisions': 'ControllerRevision',
  'batch/jobs': 'Job', 'batch/cronjobs': 'CronJob',
  'rbac.authorization.k8s.io/roles': 'Role', 'rbac.authorization.k8s.io/rolebindings': 'RoleBinding',
  'rbac.authorization.k8s.io/clusterroles': 'ClusterRole', 'rbac.authorization.k8s.io/clusterrolebindings': 'ClusterRoleBinding',
  'networking.k8s.io/ingresses': 'Ingress', 'networking.k8s.io/networkpolicies': 'NetworkPolicy',
  'policy/poddisruptionbudgets': 'PodDisruptionBudget', 'autoscaling/horizontalpodautoscalers': 'HorizontalPodAutoscaler',
  'storage.k8s.io/storageclasses': 'StorageClass', 'apiextensions.k8s.io/customresourcedefinitions': 'CustomResourceDefinition',
  'admissionregistration.k8s.io/validatingwebhookconfigurations': 'ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': 'MutatingWebhookConfiguration',
};

/** Kinds of subresources as admission reports them (e.g. pods/exec is PodExecOptions, deployments/scale is Scale). */
const SUBRESOURCE_KINDS: Record<string, { group: string; version: string; kind: string }> = {
  'pods/exec': { group: '', version: 'v1', kind: 'PodExecOptions' },
  'pods/attach': { group: '', version: 'v1', kind: 'PodAttachOptions' },
  'pods/portforward': { group: '', version: 'v1', kind: 'PodPortForwardOptions' },
  'pods/proxy': { group: '', version: 'v1', kind: 'PodProxyOptions' },
  'services/proxy': { group: '', version: 'v1', kind: 'ServiceProxyOptions' },
  'nodes/proxy': { group: '', version: 'v1', kind: 'NodeProxyOptions' },
  'pods/eviction': { group: 'policy', version: 'v1', kind: 'Eviction' },
  'pods/binding': { group: '', version: 'v1', kind: 'Binding' },
  'deployments/scale': { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  'statefulsets/scale': { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  'replicasets/scale': { group: 'autoscaling', version: 'v1', kind: 'Scale' },
};

export function kindOf(group: string, resource: string): string {
  return KINDS[group ? `${group}/${resource}` : resource] ?? '';
}

export function subresourceKind(resource: string, subresource: string): { group: string; version: string; kind: string } | undefined {
  return SUBRESOURCE_KINDS[`${resource}/${subresource}`];
}
