/**
 * F12 (issue 8) through the gateway with `resolve: local`, where the gateway applies patches itself: the 3 MiB form
 * of the strategic merge attack is applied and decided, and a patch that asks for more work than the limits is
 * refused before anything is sent upstream. (The work bound itself is asserted in the unit tests, without time.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource } from '../../sim/kubernetes/resources.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DEPLOYMENTS = findResource('apps', 'v1', 'deployments')!;
const SMP = 'application/strategic-merge-patch+json';
const containers = (n: number, image: string) => Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image }));

describe('strategic merge patch limits through the gateway (F12, resolve: local)', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ resolve: 'local' }); });
  afterAll(async () => { await s?.close(); });

  const put = (name: string, spec: Record<string, unknown>) => s.sim.store.put({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace: 'default', labels: { owner: 'team-a', 'app.kubernetes.io/name': name } },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec } },
  });

  it('applies the 3 MiB $setElementOrder attack, decides it and forwards it', async () => {
    const n = 60_000;
    put('wide', { containers: containers(n, 'a:1') });
    const patch = JSON.stringify({ spec: { template: { spec: {
      '$setElementOrder/containers': containers(n, '').map(({ name }) => ({ name })).reverse(),
      containers: containers(n, 'b:2'),
    } } } });
    expect(patch.length).toBeGreaterThan(2.5 * 1024 * 1024);
    const res = await s.call('PATCH', '/apis/apps/v1/namespaces/default/deployments/wide', { body: patch, headers: { 'content-type': SMP } });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    const stored = (s.sim.store.find(DEPLOYMENTS, 'default', 'wide')!.spec as any).template.spec.containers;
    expect(stored).toHaveLength(n);
    expect(stored[0]).toEqual({ name: `c${n - 1}`, image: 'b:2' });
  });

  it('refuses a patch past the step limit with WG_ERR_MALFORMED_BODY naming WG_PATCH_TOO_LARGE, forwarding nothing', async () => {
    const env = Array.from({ length: 20_000 }, (_, i) => ({ name: `E${i}`, value: 'v' }));
    put('deep-env', { containers: [{ name: 'c0', image: 'a:1', env }] });
    s.sim.clearRequests();
    const patch = JSON.stringify({ spec: { template: { spec: { containers: Array.from({ length: 50_000 }, () => ({ name: 'c0', env: [{ name: 'E0', value: 'w' }] })) } } } });
    const res = await s.call('PATCH', '/apis/apps/v1/namespaces/default/deployments/deep-env', { body: patch, headers: { 'content-type': SMP } });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain('WG_ERR_MALFORMED_BODY');
    expect(res.json.message).toContain('WG_PATCH_TOO_LARGE');
    expect(s.sim.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
    const id = res.headers['x-decision-id'] as string;
    expect(s.decisions().find((e) => e.decision_id === id)?.error?.code).toBe('WG_ERR_MALFORMED_BODY');
  });
});
