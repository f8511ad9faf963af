import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from '../../sim/kubernetes/index.js';
import { devCertificates } from '../../src/tls.js';
import { SIM_TOKENS, startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const configMap = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: 'b' } });

describe('a stack with kinds: each mount is built by its kind from the registry and reaches its own upstream', () => {
  let s: Stack;
  let second: KubeSim;
  beforeAll(async () => {
    const certs = devCertificates(join(mkdtempSync(join(tmpdir(), 'writegate-seam-')), 'certs'));
    second = await startKubeSim({ tls: { cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, tokens: SIM_TOKENS });
    s = await startStack({
      kinds: ['kubernetes', { name: 'second', kind: 'kubernetes', prefix: '/second', target: second.url, policy: 'writegate/kubernetes/decision', tls: { ca: certs.caCert } }],
    });
  });
  afterAll(async () => {
    await s.close();
    await second.close();
  });

  it('a write through each mount lands in that mount\'s upstream only, logged under its upstream name', async () => {
    const a = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('via-first') });
    const b = await s.call('POST', `${s.url('second')}/api/v1/namespaces/default/configmaps`, { body: configMap('via-second') });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(s.sim.store.get('/api/v1/namespaces/default/configmaps/via-first')).toBeDefined();
    expect(s.sim.store.get('/api/v1/namespaces/default/configmaps/via-second')).toBeUndefined();
    expect(second.store.get('/api/v1/namespaces/default/configmaps/via-second')).toBeDefined();
    await until(() => s.decisions().some((d) => d.upstream === 'second' && d.decision_id === b.headers['x-decision-id']), { what: 'the second mount\'s decision' });
    expect(s.decisions().find((d) => d.decision_id === a.headers['x-decision-id'])?.upstream).toBe('k8s');
  });

  it('the Kubernetes header rules hold on every mount of the kind: a forged front-proxy identity never reaches the upstream', async () => {
    const res = await s.call('GET', `${s.url('second')}/api/v1/namespaces/default/configmaps`, { headers: { 'x-remote-user': 'root', 'x-remote-group': 'system:masters' } });
    expect(res.status).toBe(200);
    const seen = second.requests.filter((r) => r.url.startsWith('/api/v1/namespaces/default/configmaps') && r.method === 'GET').at(-1);
    expect(seen?.headers['x-remote-user']).toBeUndefined();
    expect(seen?.headers['x-remote-group']).toBeUndefined();
  });
});
