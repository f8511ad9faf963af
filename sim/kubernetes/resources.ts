/**
 * The resource catalogue the simulator serves: what discovery advertises, what the
 * OpenAPI documents describe and what the router accepts. Names, kinds, verbs and
 * short names follow a v1.32 kube-apiserver's `/api/v1` and `/apis/<g>/<v>`.
 */

export interface Subresource {
  name: string;
  /** Kind served by the subresource (Scale for `scale`, the parent kind otherwise). */
  kind: string;
  group?: string;
  version?: string;
  verbs: string[];
}

export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: Subresource[];
  /** Create-only review resources (SelfSubjectAccessReview, TokenReview...): not stored. */
  virtual?: boolean;
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS: Subresource = { name: 'status', kind: '', verbs: ['get', 'patch', 'update'] };
/** Connect verbs of the proxy subresources, as discovery lists them. */
const PROXY_VERBS = ['create', 'delete', 'get', 'patch', 'update'];
const SCALE: Subresource = { name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] };

function r(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceDef> = {},
): ResourceDef {
  return { group, version, plural, singular: kind.toLowerCase(), kind, namespaced, verbs: CRUD, ...extra };
}

export const RESOURCES: readonly ResourceDef[] = [
  r('', 'v1', 'pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      STATUS,
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'proxy', kind: 'PodProxyOptions', verbs: PROXY_VERBS },
    ],
  }),
  // The pre-subresource way to bind a pod (POST namespaces/<ns>/bindings, metadata.name = the pod).
  r('', 'v1', 'bindings', 'Binding', true, { verbs: ['create'] }),
  r('', 'v1', 'nodes', 'Node', false, {
    shortNames: ['no'],
    subresources: [STATUS, { name: 'proxy', kind: 'NodeProxyOptions', verbs: PROXY_VERBS }],
  }),
  r('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  r('', 'v1', 'secrets', 'Secret', true),
  r('', 'v1', 'namespaces', 'Namespace', false, {
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: [STATUS],
  }),
  r('', 'v1', 'services', 'Service', true, {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: [STATUS, { name: 'proxy', kind: 'ServiceProxyOptions', verbs: PROXY_VERBS }],
  }),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  r('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  r('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], categories: ['all'], subresources: [SCALE, STATUS] }),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'], categories: ['all'], subresources: [SCALE, STATUS] }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], categories: ['all'], subresources: [STATUS] }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'], categories: ['all'], subresources: [SCALE, STATUS] }),
  r('batch', 'v1', 'jobs', 'Job', true, { categories: ['all'], subresources: [STATUS] }),
  r('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  r('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  r('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  r('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  r('networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, { shortNames: ['ing'], subresources: [STATUS] }),
  r('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, { verbs: ['create'], virtual: true }),
  r('authorization.k8s.io', 'v1', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview', false, { verbs: ['create'], virtual: true }),
  r('authorization.k8s.io', 'v1', 'subjectaccessreviews', 'SubjectAccessReview', false, { verbs: ['create'], virtual: true }),
  r('authentication.k8s.io', 'v1', 'selfsubjectreviews', 'SelfSubjectReview', false, { verbs: ['create'], virtual: true }),
  r('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', false, { verbs: ['create'], virtual: true }),
];

export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** Group-versions in discovery order (core first). */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const def of RESOURCES) seen.set(apiVersionOf(def), { group: def.group, version: def.version });
  return [...seen.values()];
}

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((d) => d.group === group && d.version === version && d.plural === plural);
}

export function findByKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((d) => apiVersionOf(d) === apiVersion && d.kind === kind);
}

/** `deployments.apps`, `pods`: the form apiserver messages use. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

/** URL prefix of a group-version: `/api/v1` or `/apis/apps/v1`. */
export function gvPrefix(def: { group: string; version: string }): string {
  return def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
}

/** API path of an object or collection. */
export function objectPath(def: ResourceDef, namespace: string | undefined, name?: string): string {
  let p = gvPrefix(def);
  if (def.namespaced && namespace) p += `/namespaces/${namespace}`;
  p += `/${def.plural}`;
  if (name !== undefined) p += `/${name}`;
  return p;
}
