import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

const deployment = (name: string, image: string, extraLabels: Record<string, string> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { owner: 'team-a', 'app.kubernetes.io/name': name, ...extraLabels } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
  },
});

describe('gateway with real OPA and the Kubernetes simulator (every write asks the Data API)', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('passes reads through without a decision', async () => {
    const before = s.decisions().length;
    const res = await s.call('GET', '/api/v1/namespaces/default/pods');
    expect(res.status).toBe(200);
    expect(res.json.kind).toBe('PodList');
    expect(res.headers['x-decision-id']).toBeUndefined();
    expect(s.decisions().length).toBe(before);
  });

  it('forwards an allowed write with identical bytes and logs OPA\'s decision id', async () => {
    const body = '{"apiVersion":"v1","kind":"ConfigMap",  "metadata":{"name":"exact-bytes","namespace":"default"},\n "data":{"k":"v"}}';
    s.sim.clearRequests();
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body });
    expect(res.status).toBe(201);
    const id = res.headers['x-decision-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // The create is resolved by a dry run first (kubernetes.dryRunWrites); the real write is the one without dryRun.
    const posts = s.sim.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/api/v1/namespaces/default/configmaps') && !r.url.includes('dryRun=All'));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body.toString('utf8')).toBe(body);
    expect(posts[0]!.headers['x-decision-id']).toBe(id);
    const event = s.decisions().find((e) => e.decision_id === id);
    expect(event?.outcome).toBe('allowed');
    expect(event?.engine).toBe('opa');
    expect((event?.input as any).request.userInfo.username).toBe('admin');
    expect(s.opaDecisionIds.has(id)).toBe(true);
    const done = s.events().find((e) => e.type === 'writegate/upstream' && e.decision_id === id);
    expect(done?.upstream_status).toBe(201);
  });

  it('denies a write with a Kubernetes Status and never forwards it', async () => {
    s.sim.clearRequests();
    const res = await s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment('bad', 'nginx:latest')) });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
    expect(res.json.message).toContain('no-latest-tag');
    expect(s.sim.requests.filter((r) => r.method === 'POST' && !r.url.includes('dryRun=All'))).toHaveLength(0);
    const id = res.headers['x-decision-id'] as string;
    expect(s.opaDecisionIds.has(id)).toBe(true);
    expect(s.decisions().find((e) => e.decision_id === id)?.outcome).toBe('denied');
  });

  describe('PATCH shows the policy the resulting object', () => {
    beforeAll(async () => {
      const res = await s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment('patched', 'nginx:1.27')) });
      expect(res.status).toBe(201);
    });
    const cases: Array<[string, string]> = [
      ['application/merge-patch+json', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:latest' }] } } } })],
      ['application/strategic-merge-patch+json', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:latest' }] } } } })],
      ['application/json-patch+json', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:latest' }])],
      ['application/apply-patch+yaml', JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'patched', namespace: 'default' }, spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:latest' }] } } } })],
    ];
    it.each(cases)('%s', async (type, patch) => {
      const q = type === 'application/apply-patch+yaml' ? '?fieldManager=test' : '';
      const res = await s.call('PATCH', `/apis/apps/v1/namespaces/default/deployments/patched${q}`, { body: patch, headers: { 'content-type': type } });
      expect(res.status).toBe(403);
      expect(res.json.message).toContain('nginx:latest');
      const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id']);
      const req = (event?.input as any).request;
      // The resulting object keeps what the patch did not touch, and oldObject is the stored one.
      expect(req.object.metadata.labels.owner).toBe('team-a');
      expect(req.object.spec.template.spec.containers[0].image).toBe('nginx:latest');
      expect(req.oldObject.spec.template.spec.containers[0].image).toBe('nginx:1.27');
      expect(req.operation).toBe('UPDATE');
    });
  });

  it('refuses a malformed body with 400, logs it and forwards nothing', async () => {
    s.sim.clearRequests();
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: '{"kind": "ConfigMap",' });
    expect(res.status).toBe(400);
    expect(res.json.kind).toBe('Status');
    expect(s.sim.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
    const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id']);
    expect(event?.outcome).toBe('error');
    expect(event?.error?.code).toBe('WG_ERR_MALFORMED_BODY');
  });

  it('refuses a body with duplicate keys (the policy and the upstream could read it differently)', async () => {
    const body = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dup","namespace":"default"},"spec":{"containers":[{"name":"c","image":"nginx:1","securityContext":{"privileged":false,"privileged":true}}]}}';
    const res = await s.call('POST', '/api/v1/namespaces/default/pods', { body });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain('a key repeats');
  });

  it('refuses ambiguous paths that would reach another resource upstream', async () => {
    s.sim.clearRequests();
    for (const [method, path] of [
      ['GET', '/k8s/api/v1/namespaces/production/pods/api-0%2Fexec?command=ls'],
      ['GET', '/k8s/api/v1/namespaces/production/pods/api-0%2fexec?command=ls'],
      ['DELETE', '/k8s/api/v1/namespaces/default/pods/x/%2e%2e/web-0'],
      ['DELETE', '/k8s/api/v1/namespaces/default/pods/x/../web-0'],
      ['GET', '/k8s/api/v1//namespaces/production/pods'],
      ['DELETE', '/k8%73/api/v1/namespaces/production/pods/api-0'],
    ] as const) {
      const res = await s.raw(method, path);
      expect(res.status, path).toBe(400);
      expect(res.text).toContain('WG_ERR_BAD_PATH');
    }
    expect(s.sim.requests).toHaveLength(0);
  });

  it('refuses method-override headers', async () => {
    const res = await s.call('GET', '/api/v1/namespaces/production/pods', { headers: { 'x-http-method-override': 'DELETE' } });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain('x-http-method-override');
  });

  it('gates an unknown path under the upstream as a write', async () => {
    const res = await s.call('POST', '/no/such/thing', { body: '{}' });
    const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id']);
    expect(event?.operation).toBe('CONNECT');
    expect(event?.engine).toBe('opa');
  });

  it('answers 404 for paths outside every upstream and logs it', async () => {
    const res = await s.call('GET', `${s.gateway.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(res.json.code).toBe('WG_ERR_NOT_FOUND');
    expect(s.decisions().some((e) => e.url === '/nowhere' && e.error?.code === 'WG_ERR_NOT_FOUND')).toBe(true);
  });

  it('does not let a client set identity headers upstream', async () => {
    s.sim.clearRequests();
    await s.call('GET', '/api/v1/namespaces/default/pods', { headers: { 'x-remote-user': 'system:admin', 'x-remote-group': 'system:masters', 'x-decision-id': 'forged' } });
    const last = s.sim.requests.at(-1)!;
    expect(last.headers['x-remote-user']).toBeUndefined();
    expect(last.headers['x-remote-group']).toBeUndefined();
    expect(last.headers['x-decision-id']).toBeUndefined();
  });

  it('gives every OPA-decided request the decision_id OPA itself logged', () => {
    const decided = s.decisions().filter((e) => e.engine === 'opa');
    expect(decided.length).toBeGreaterThanOrEqual(8);
    for (const e of decided) expect(s.opaDecisionIds.has(e.decision_id), `${e.method} ${e.url}`).toBe(true);
  });

  it('denies deletes in a protected namespace for everyone', async () => {
    const res = await s.call('DELETE', '/api/v1/namespaces/production/pods/api-0', { token: TOKENS.ops });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('protected-namespace-delete');
  });
});

describe('attacks on the gate (regression tests)', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('refuses a write whose body is content-encoded (the policy would read other bytes than the upstream)', async () => {
    s.sim.clearRequests();
    const { gzipSync } = await import('node:zlib');
    const body = gzipSync(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gz', namespace: 'default' } }));
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body, headers: { 'content-encoding': 'gzip' } });
    expect(res.status).toBe(415);
    expect(s.sim.requests.filter((r) => r.method === 'POST' && r.url.includes('configmaps'))).toHaveLength(0);
  });

  it('refuses an upgrade on a read path (the apiserver upgrades only connect subresources)', async () => {
    s.sim.clearRequests();
    const res = await s.raw('GET', '/k8s/api/v1/namespaces/production/pods', { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    expect(res.status).toBe(400);
    const id = /x-decision-id: ([0-9a-f-]{36})/i.exec(res.text)?.[1];
    const event = s.decisions().find((e) => e.decision_id === id)!;
    expect(event.error?.code).toBe('WG_ERR_BAD_REQUEST');
    expect(s.sim.requests).toHaveLength(0);
  });

  it('returns an upstream refusal of the dry run unchanged, with the caller logged', async () => {
    // PATCH of an object that does not exist: the dry run answers 404 NotFound, and so would the real write.
    const res = await s.call('PATCH', '/api/v1/namespaces/default/configmaps/missing', { body: '{"data":{"a":"b"}}', headers: { 'content-type': 'application/merge-patch+json' }, token: TOKENS.alice });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    expect(res.headers['content-type']).toBe('application/json');
    const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])!;
    expect(event.error?.code).toBe('WG_ERR_RESOLVE_FAILED');
    expect(event.upstream_status).toBe(404);
    expect(event.caller.username).toBe('alice');
  });

  it('sends no hop-by-hop or connection-listed headers upstream', async () => {
    s.sim.clearRequests();
    const started = Date.now();
    const res = await s.raw('GET', '/k8s/api/v1/namespaces/default/pods', { 'x-secret-hop': 'a', connection: 'x-secret-hop, close', 'keep-alive': 'timeout=5', te: 'trailers' });
    // ... nor copies the upstream's connection headers back: the client asked to close, and the gateway closes.
    const head = res.text.split('\r\n\r\n')[0]!;
    expect(head).toMatch(/^connection: close$/im);
    expect(head).not.toMatch(/^keep-alive:/im);
    expect(Date.now() - started).toBeLessThan(2000);
    const last = s.sim.requests.at(-1)!;
    expect(last.headers['x-secret-hop']).toBeUndefined();
    expect(last.headers['keep-alive']).toBeUndefined();
    expect(last.headers.te).toBeUndefined();
  });
});
