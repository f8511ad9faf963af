import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import { encodeKubeProtobuf } from '../../../../src/upstreams/kubernetes/protobuf.js';
import { KubernetesAdapter, INPUT_VERSION } from '../../../../src/upstreams/kubernetes/adapter.js';
import { UpstreamClient } from '../../../../src/upstreams/client.js';
import type { GateRequest } from '../../../../src/upstreams/types.js';
import { startKubeSim, type KubeSim } from '../../../../sim/kubernetes/index.js';

function req(method: string, url: string, headers: Record<string, string> = {}): GateRequest {
  return { method, url, headers: { authorization: 'Bearer t', ...headers }, upgrade: false, remoteAddress: '127.0.0.1' };
}

describe('Kubernetes input builder', () => {
  let sim: KubeSim;
  let client: UpstreamClient;
  const clients: UpstreamClient[] = [];
  const adapters: Record<'dryrun' | 'local', KubernetesAdapter> = {} as never;
  beforeAll(async () => {
    sim = await startKubeSim();
    for (const resolve of ['dryrun', 'local'] as const) {
      const cfg = ofKind(parseConfig({ upstreams: [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: sim.url, policy: 'p', identity: 'selfsubjectreview', kubernetes: { resolve } }] }).upstreams[0]!, 'kubernetes');
      client = new UpstreamClient(cfg);
      clients.push(client);
      adapters[resolve] = new KubernetesAdapter(cfg, client);
    }
    sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', namespace: 'default', labels: { keep: 'me' } }, data: { a: '1' } });
  });
  afterAll(async () => { await Promise.all(clients.map((c) => c.close())); await sim.close(); });

  const build = (mode: 'dryrun' | 'local', r: GateRequest, body?: string | Buffer) => {
    const a = adapters[mode];
    return a.buildInput(r, a.classify(r), body === undefined ? undefined : Buffer.from(body), client) as Promise<any>;
  };

  it('builds an AdmissionReview for a JSON create, with the gateway fields beside request', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new' }, data: { x: 'y' } });
    const input = await build('dryrun', req('POST', '/api/v1/namespaces/default/configmaps?fieldManager=kubectl&dryRun=All', { 'content-type': 'application/json', 'kubectl-command': 'kubectl create' }), body);
    expect(input).toMatchObject({
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', version: INPUT_VERSION, upstream: 'k8s', upstreamKind: 'kubernetes',
      verb: 'create', method: 'POST', path: '/api/v1/namespaces/default/configmaps', query: { fieldManager: ['kubectl'], dryRun: ['All'] },
      headers: { 'kubectl-command': 'kubectl create', 'content-type': 'application/json' },
      request: {
        kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' },
        name: 'new', namespace: 'default', operation: 'CREATE', dryRun: true, oldObject: null,
        userInfo: { username: 'admin' }, object: { data: { x: 'y' } },
        options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl', dryRun: ['All'] },
      },
    });
    expect(input.headers.authorization).toBeUndefined();
    expect(input.request.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each(['dryrun', 'local'] as const)('resolves a merge patch to the resulting object (%s)', async (mode) => {
    const input = await build(mode, req('PATCH', '/api/v1/namespaces/default/configmaps/c1', { 'content-type': 'application/merge-patch+json' }), '{"data":{"b":"2"}}');
    expect(input.request.operation).toBe('UPDATE');
    expect(input.request.object.data).toEqual({ a: '1', b: '2' });
    expect(input.request.object.metadata.labels).toEqual({ keep: 'me' });
    expect(input.request.oldObject.data).toEqual({ a: '1' });
    expect(input.request.options).toMatchObject({ kind: 'PatchOptions' });
  });

  it.each(['dryrun', 'local'] as const)('decodes a protobuf create (%s)', async (mode) => {
    const body = encodeKubeProtobuf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pb', namespace: 'default' }, data: { k: 'v' } });
    const input = await build(mode, req('POST', '/api/v1/namespaces/default/configmaps', { 'content-type': 'application/vnd.kubernetes.protobuf' }), body);
    expect(input.request.object).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'pb' }, data: { k: 'v' } });
    expect(input.request.name).toBe('pb');
  });

  it('gives a body without a namespace the one of the path, as the apiserver does; a Namespace\'s own path none', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bare' } });
    // resolve: local takes the body as sent (resolve: dryrun asks the apiserver, which does the same).
    const input = await build('local', req('POST', '/api/v1/namespaces/default/configmaps', { 'content-type': 'application/json' }), body);
    expect(input.request.object.metadata).toEqual({ name: 'bare', namespace: 'default' });
    const ns = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const put = await build('local', req('PUT', '/api/v1/namespaces/default', { 'content-type': 'application/json' }), ns);
    expect(put.request.object.metadata).toEqual({ name: 'default' });
  });

  it.each(['dryrun', 'local'] as const)('calls a server-side apply that creates its object a CREATE with CreateOptions (%s)', async (mode) => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `applied-${mode}` }, data: { a: 'b' } });
    const r = req('PATCH', `/api/v1/namespaces/default/configmaps/applied-${mode}?fieldManager=kubectl&force=true`, { 'content-type': 'application/apply-patch+yaml' });
    const a = adapters[mode];
    const classified = a.classify(r);
    const input = await a.buildInput(r, classified, Buffer.from(body), client) as any;
    expect(input.request).toMatchObject({ operation: 'CREATE', oldObject: null, object: { data: { a: 'b' } } });
    expect(input.request.options).toEqual({ apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'kubectl' });
    expect(input.verb).toBe('patch');
    expect(classified.operation).toBe('CREATE');
    const update = await build(mode, req('PATCH', '/api/v1/namespaces/default/configmaps/c1?fieldManager=kubectl', { 'content-type': 'application/apply-patch+yaml' }), '{"data":{"z":"1"}}');
    expect(update.request).toMatchObject({ operation: 'UPDATE', options: { kind: 'PatchOptions' } });
  });

  it('decodes a protobuf create on a subresource itself: its dry run answers with what the handler made', async () => {
    sim.clearRequests();
    const body = encodeKubeProtobuf({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0', namespace: 'default' } });
    const input = await build('dryrun', req('POST', '/api/v1/namespaces/default/pods/web-0/eviction', { 'content-type': 'application/vnd.kubernetes.protobuf' }), body);
    expect(input.request).toMatchObject({ operation: 'CREATE', subResource: 'eviction', object: { kind: 'Eviction', metadata: { name: 'web-0' } } });
    expect(sim.requests.filter((q) => q.method === 'POST' && q.url.includes('eviction'))).toHaveLength(0);
  });

  it('gives a delete its current object and DeleteOptions (from the body when there is one: the apiserver then ignores the query)', async () => {
    const input = await build('dryrun', req('DELETE', '/api/v1/namespaces/default/configmaps/c1?gracePeriodSeconds=0', { 'content-type': 'application/json' }), '{"propagationPolicy":"Background"}');
    expect(input.request).toMatchObject({ operation: 'DELETE', object: null, oldObject: { data: { a: '1' } }, options: { kind: 'DeleteOptions', propagationPolicy: 'Background' } });
    expect(input.request.options.gracePeriodSeconds).toBeUndefined();
    const bare = await build('dryrun', req('DELETE', '/api/v1/namespaces/default/configmaps/c1?gracePeriodSeconds=0'));
    expect(bare.request.options).toEqual({ kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', gracePeriodSeconds: 0 });
  });

  it('describes an exec as CONNECT with PodExecOptions', async () => {
    const r = { ...req('GET', '/api/v1/namespaces/default/pods/web-0/exec?command=sh&command=-c&command=id&container=web&stdin=true&tty=1'), upgrade: true };
    const input = await build('dryrun', r);
    expect(input.request).toMatchObject({
      operation: 'CONNECT', subResource: 'exec', kind: { kind: 'PodExecOptions' },
      object: { kind: 'PodExecOptions', command: ['sh', '-c', 'id'], container: 'web', stdin: true, tty: true, stdout: false },
    });
  });

  it('masks Secret values and last-applied-configuration in the logged copy only', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}' } }, data: { password: 'aHVudGVyMg==' }, stringData: { token: 'x' } };
    const input = await build('dryrun', req('POST', '/api/v1/namespaces/default/secrets', { 'content-type': 'application/json' }), JSON.stringify(secret));
    const masked = adapters.dryrun.maskInput(input) as any;
    expect(JSON.stringify(masked)).not.toContain('aHVudGVyMg==');
    expect(masked.request.object.data.password).toBe('**masked**');
    expect(input.request.object.data.password).toBe('aHVudGVyMg==');
  });

  it('refuses a write in a content type it cannot read', async () => {
    await expect(build('dryrun', req('POST', '/api/v1/namespaces/default/configmaps', { 'content-type': 'text/plain' }), 'hi')).rejects.toMatchObject({ code: 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415 });
  });

  it('refuses YAML with duplicate keys', async () => {
    await expect(build('dryrun', req('POST', '/api/v1/namespaces/default/configmaps', { 'content-type': 'application/yaml' }), 'kind: ConfigMap\nkind: Secret\n')).rejects.toMatchObject({ code: 'WG_ERR_MALFORMED_BODY' });
  });
});
