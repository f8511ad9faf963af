import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealStack, type RealStack } from './gateway-stack.js';

/**
 * Issue 8, F10 against a real kube-apiserver: the writes whose path does not say what they do. Each denied request
 * is checked against the apiserver's own state afterwards (read directly, not through the gateway), and paired
 * with the same request where the policy allows it, or sent directly, showing what the apiserver would have done.
 * There is no scheduler and no kubelet: pods stay Pending, which evictions, bindings and ephemeral containers
 * accept at the API level.
 */
describe('destructive subresources against a real kube-apiserver (F10)', () => {
  let s: RealStack;
  const SMP = 'application/strategic-merge-patch+json';
  const pod = (name: string, nodeName?: string) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }], ...(nodeName ? { nodeName } : {}) },
  });
  const eviction = (namespace: string, name: string) => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } });
  const debug = (image: string) => ({ spec: { ephemeralContainers: [{ name: 'debugger-k7x2p', image, targetContainerName: 'main', stdin: true, tty: true }] } });
  const binding = (name: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } });
  const exists = async (path: string): Promise<boolean> => (await s.direct('GET', path)).status === 200;

  beforeAll(async () => {
    s = await startRealStack();
    // Without the controller manager nobody creates the namespaces' default ServiceAccount, which pod admission needs.
    for (const [path, body] of [
      ['/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }],
      ['/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } }],
    ] as const) {
      const res = await s.direct('POST', path, body);
      expect(res.status, res.text).toBe(201);
    }
  });
  afterAll(async () => { await s?.close(); });

  const create = async (namespace: string, body: unknown): Promise<void> => {
    const res = await s.direct('POST', `/api/v1/namespaces/${namespace}/pods`, body);
    expect(res.status, res.text).toBe(201);
  };

  it('an eviction in kube-system is denied like the DELETE of the pod; in default the apiserver deletes the pod', async () => {
    await create('kube-system', pod('coredns-0'));
    const del = await s.viaGateway('DELETE', '/api/v1/namespaces/kube-system/pods/coredns-0');
    expect(del.status).toBe(403);
    const evict = await s.viaGateway('POST', '/api/v1/namespaces/kube-system/pods/coredns-0/eviction', eviction('kube-system', 'coredns-0'));
    expect(evict.status, evict.text).toBe(403);
    expect(evict.json.message).toContain('[protected-namespace-delete]');
    expect(await exists('/api/v1/namespaces/kube-system/pods/coredns-0')).toBe(true);

    await create('default', pod('evict-me'));
    const allowed = await s.viaGateway('POST', '/api/v1/namespaces/default/pods/evict-me/eviction', eviction('default', 'evict-me'));
    expect(allowed.status, allowed.text).toBe(201);
    expect(await exists('/api/v1/namespaces/default/pods/evict-me')).toBe(false);
  });

  it('a deletecollection in kube-system is denied and deletes nothing; a cluster-wide one is denied', async () => {
    await create('kube-system', pod('etcd-keep'));
    const res = await s.viaGateway('DELETE', '/api/v1/namespaces/kube-system/pods');
    expect(res.status, res.text).toBe(403);
    expect(res.json.message).toContain('(deletecollection) is not allowed');
    expect(await exists('/api/v1/namespaces/kube-system/pods/etcd-keep')).toBe(true);
    const nodes = await s.viaGateway('DELETE', '/api/v1/nodes');
    expect(nodes.status, nodes.text).toBe(403);
    expect(await exists('/api/v1/nodes/node-1')).toBe(true);
    // Across namespaces the apiserver serves no deletecollection (the simulator answers the same 405).
    const pods = await s.viaGateway('DELETE', '/api/v1/pods');
    expect(pods.status, pods.text).toBe(403);
    expect((await s.direct('DELETE', '/api/v1/pods')).status).toBe(405);
    expect(await exists('/api/v1/namespaces/kube-system/pods/etcd-keep')).toBe(true);
  });

  it('an ephemeral container is denied in kube-system and, through the dry run, added in default', async () => {
    await create('kube-system', pod('apiserver-debug'));
    const denied = await s.viaGateway('PATCH', '/api/v1/namespaces/kube-system/pods/apiserver-debug/ephemeralcontainers', debug('busybox:1.36'), 'admin', SMP);
    expect(denied.status, denied.text).toBe(403);
    expect(denied.json.message).toContain('ephemeral container into pods "apiserver-debug" in protected namespace "kube-system"');
    expect((await s.direct('GET', '/api/v1/namespaces/kube-system/pods/apiserver-debug')).json.spec.ephemeralContainers).toBeUndefined();

    await create('default', pod('web-debug'));
    const latest = await s.viaGateway('PATCH', '/api/v1/namespaces/default/pods/web-debug/ephemeralcontainers', debug('busybox'), 'admin', SMP);
    expect(latest.status, latest.text).toBe(403);
    expect(latest.json.message).toContain('ephemeral container "debugger-k7x2p" uses image "busybox" without a tag');
    const allowed = await s.viaGateway('PATCH', '/api/v1/namespaces/default/pods/web-debug/ephemeralcontainers', debug('busybox:1.36'), 'admin', SMP);
    expect(allowed.status, allowed.text).toBe(200);
    const stored = (await s.direct('GET', '/api/v1/namespaces/default/pods/web-debug')).json.spec.ephemeralContainers;
    expect(stored).toEqual([expect.objectContaining({ name: 'debugger-k7x2p', image: 'busybox:1.36' })]);
  });

  it('nodes/proxy is denied to the admin, in both path forms, and never reaches the apiserver', async () => {
    for (const path of ['/api/v1/nodes/node-1/proxy/pods', '/api/v1/proxy/nodes/node-1/pods']) {
      const res = await s.viaGateway('GET', path);
      expect(res.status, `${path}: ${res.text}`).toBe(403);
      expect(res.json.message).toContain('reaches the kubelet');
    }
  });

  it('pods/binding and a pod created onto a node are denied; the binding sent directly binds', async () => {
    await create('default', pod('unbound-1'));
    const bind = await s.viaGateway('POST', '/api/v1/namespaces/default/pods/unbound-1/binding', binding('unbound-1'));
    expect(bind.status, bind.text).toBe(403);
    expect(bind.json.message).toContain('[no-direct-scheduling]');
    expect((await s.direct('GET', '/api/v1/namespaces/default/pods/unbound-1')).json.spec.nodeName).toBeUndefined();

    const placed = await s.viaGateway('POST', '/api/v1/namespaces/default/pods', pod('placed', 'node-1'));
    expect(placed.status, placed.text).toBe(403);
    expect(await exists('/api/v1/namespaces/default/pods/placed')).toBe(false);

    const direct = await s.direct('POST', '/api/v1/namespaces/default/pods/unbound-1/binding', binding('unbound-1'));
    expect(direct.status, direct.text).toBe(201);
    expect((await s.direct('GET', '/api/v1/namespaces/default/pods/unbound-1')).json.spec.nodeName).toBe('node-1');
  });
});
