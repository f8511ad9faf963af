/**
 * fast-check arbitraries shaped like the writegate.dev/v1 Kubernetes input contract, biased towards values the
 * policies test (protected namespaces, privileged flags, image tags, owner labels) and sprinkled with missing
 * fields and wrong types, so that inputs land on both sides of every condition.
 */
import fc from 'fast-check';

const wrongType = fc.oneof(
  fc.constant(null),
  fc.integer({ min: -2, max: 3 }),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.constant('1'),
);

/** Usually `arb`, sometimes a value of another type. */
const mostly = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 12, arbitrary: arb }, { weight: 1, arbitrary: wrongType });

const namespace = fc.oneof(
  fc.constantFrom('default', 'dev', 'production', 'kube-system', 'kube-public', 'sys-core', 'team-a', ''),
  fc.string({ maxLength: 4 }),
);
const username = fc.constantFrom('alice', 'bob', 'mallory', 'root', 'admin-x', 'system:serviceaccount:ci:bot', '');
const groups = fc.subarray(['devs', 'ops', 'system:masters', 'break-glass', 'system:authenticated']);
const image = fc.oneof(
  fc.constantFrom(
    'nginx:1.25',
    'nginx:latest',
    'nginx',
    'reg.io/app:1.2',
    'reg.io/app',
    'reg.io/app:latest',
    'busybox',
    'ghcr.io/org/app@sha256:abc',
    'localhost:5000/app',
    'localhost:5000/app:2',
  ),
  fc.string({ maxLength: 5 }),
);
const labelKey = fc.constantFrom('owner', 'app.kubernetes.io/name', 'team', 'tier', 'ops.alert', 'db-secret', 'app');
const labels = fc.dictionary(labelKey, mostly(fc.constantFrom('payments', '', 'forbidden', 'web')), { maxKeys: 4 });
const fullLabels = fc
  .tuple(labels, fc.boolean())
  .map(([l, full]) => (full ? { owner: 'payments', 'app.kubernetes.io/name': 'web', ...l } : l));

const container = fc.record(
  {
    name: mostly(fc.constantFrom('app', 'sidecar', 'init', '')),
    image: mostly(image),
    securityContext: mostly(fc.record({ privileged: mostly(fc.boolean()) }, { requiredKeys: [] })),
    resources: fc.constant({ limits: { cpu: '1' } }),
  },
  { requiredKeys: [] },
);
const containers = mostly(fc.array(container, { maxLength: 3 }));
const volumes = fc.array(
  fc.record(
    { name: fc.constantFrom('data', 'host'), hostPath: mostly(fc.constant({ path: '/var' })), emptyDir: fc.constant({}) },
    { requiredKeys: ['name'] },
  ),
  { maxLength: 2 },
);
const podSpec = fc.record(
  { containers, initContainers: containers, ephemeralContainers: containers, volumes: mostly(volumes) },
  { requiredKeys: [] },
);
/** Scalar fields the tricky type policy compares across types. */
const oddSpec = fc.record(
  {
    replicas: fc.oneof(
      fc.integer({ min: 0, max: 4 }),
      fc.constantFrom(1.0, 2.5, 'a', 'b', '', null, true, false, [1], [0], [1, 2], {}, { a: 1 }),
    ),
    ports: fc.constantFrom([80, 443], [443, 80], [80], [], 'ports', { 80: 443 }),
    tags: fc.constantFrom(['a', 'b'], ['b', 'a'], [], ['a'], 'a', null),
  },
  { requiredKeys: [] },
);

const kindName = fc.constantFrom('Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ConfigMap', 'Namespace');

const object = fc.oneof(
  fc.constant(null),
  fc.record(
    {
      metadata: fc.record({ name: fc.constantFrom('web', 'x'), labels: mostly(fullLabels) }, { requiredKeys: [] }),
      spec: fc.oneof(
        fc.tuple(podSpec, oddSpec).map(([p, o]) => ({ ...p, ...o })),
        fc.tuple(podSpec, oddSpec).map(([p, o]) => ({ template: { spec: p }, ...o })),
        podSpec.map((p) => ({ jobTemplate: { spec: { template: { spec: p } } } })),
        oddSpec,
      ),
    },
    { requiredKeys: [] },
  ),
);

const operation = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT') },
  { weight: 1, arbitrary: fc.constantFrom('create', '', 'PATCH') },
);

const request = fc
  .record(
    {
      uid: fc.constant('0f5c3a9e-6b1d-4d2a-8e7f-1a2b3c4d5e6f'),
      kind: fc.record({ group: fc.constantFrom('', 'apps', 'batch'), version: fc.constant('v1'), kind: mostly(kindName) }),
      resource: fc.record({
        group: fc.constantFrom('', 'apps'),
        version: fc.constant('v1'),
        resource: fc.constantFrom('pods', 'deployments', 'namespaces', 'configmaps'),
      }),
      subResource: mostly(fc.constantFrom('exec', 'attach', 'scale', 'status', '')),
      name: mostly(fc.constantFrom('web', '', 'production', 'kube-system', 'abcdef', 'ab')),
      namespace: mostly(namespace),
      operation: mostly(operation),
      userInfo: fc.record(
        { username: mostly(username), groups: mostly(groups), extra: fc.constant({}) },
        { requiredKeys: [] },
      ),
      object,
      oldObject: fc.constant(null),
      dryRun: mostly(fc.boolean()),
    },
    { requiredKeys: ['uid', 'kind', 'resource', 'name', 'namespace', 'operation', 'userInfo', 'object', 'oldObject', 'dryRun'] },
  );

export const admissionInput = fc.record(
  {
    apiVersion: fc.constant('admission.k8s.io/v1'),
    kind: fc.constant('AdmissionReview'),
    request,
    version: fc.constant('writegate.dev/v1'),
    upstream: fc.constant('k8s'),
    upstreamKind: fc.constant('kubernetes'),
    verb: fc.constantFrom('create', 'update', 'patch', 'delete', 'deletecollection', 'connect'),
    method: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE'),
    path: fc.constant('/api/v1/namespaces/default/pods/web'),
    query: fc.constant({}),
    headers: fc.record({ 'x-ticket': mostly(fc.constantFrom('T-1', '')), 'user-agent': fc.constant('kubectl') }, { requiredKeys: [] }),
  },
  { requiredKeys: ['apiVersion', 'kind', 'request', 'version', 'upstream', 'upstreamKind', 'verb', 'method', 'path', 'query', 'headers'] },
);
