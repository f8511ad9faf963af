import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const POLICY = 'writegate/kubernetes/decision';
const configMap = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: 'b' } });

describe('residual engine in the gateway', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
    await until(() => s.gateway.app.residual?.residual(POLICY)?.text !== undefined, { timeoutMs: 5000 });
  });
  afterAll(async () => { await s?.close(); });

  it('decides an allowed write in process: engine residual, a gateway-minted id, the policy revision', async () => {
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('fast-1') });
    expect(res.status).toBe(201);
    const id = res.headers['x-decision-id'] as string;
    const event = s.decisions().find((e) => e.decision_id === id)!;
    expect(event.engine).toBe('residual');
    expect(event.revision).toBe(s.gateway.app.residual!.residual(POLICY)!.revision);
    expect(s.opaDecisionIds.has(id)).toBe(false);
    expect(s.sim.requests.some((r) => r.headers['x-decision-id'] === id)).toBe(true);
  });

  it('hands a write the residual cannot allow to OPA, which denies it with reasons and its own id', async () => {
    const res = await s.call('POST', '/api/v1/namespaces/default/pods', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }),
    });
    expect(res.status).toBe(403);
    const id = res.headers['x-decision-id'] as string;
    expect(s.opaDecisionIds.has(id)).toBe(true);
    const event = s.decisions().find((e) => e.decision_id === id)!;
    expect(event.engine).toBe('opa');
    expect(event.reasons.join(' ')).toContain('no-latest-tag');
  });

  it('sees a policy pushed to OPA within a second and stops allowing what it now denies', async () => {
    const before = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('blocked-later') .replace('blocked-later', 'before-push') });
    expect(before.status).toBe(201);
    const rego = [
      'package writegate.kubernetes',
      'deny contains {"msg": "configmaps named blocked-* are frozen", "rule": "test-freeze"} if {',
      '  input.request.kind.kind == "ConfigMap"',
      '  startswith(input.request.name, "blocked-")',
      '}',
    ].join('\n');
    const pushed = Date.now();
    const put = await request(`${s.opa.url}/v1/policies/test-freeze`, { method: 'PUT', body: rego, headers: { 'content-type': 'text/plain' } });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    const oldRevision = s.gateway.app.residual!.residual(POLICY)!.revision;
    const waited = await until(() => s.gateway.app.residual!.residual(POLICY)?.revision !== oldRevision, { timeoutMs: 1000 });
    expect(Date.now() - pushed).toBeLessThanOrEqual(1000);
    expect(waited).toBeLessThanOrEqual(1000);
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('blocked-later') });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('configmaps named blocked-* are frozen');
    const del = await request(`${s.opa.url}/v1/policies/test-freeze`, { method: 'DELETE' });
    await del.body.dump();
  });

  it('stops deciding locally once OPA is gone: writes fail closed within a second and a half', async () => {
    await s.opa.stop();
    await until(async () => (await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap(`late-${Date.now()}`) })).status === 503, { timeoutMs: 1500 });
    const read = await s.call('GET', '/api/v1/namespaces/default/configmaps');
    expect(read.status).toBe(200);
  });
});
