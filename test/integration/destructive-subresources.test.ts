/**
 * F10 (issue 8): writes whose path does not say what they do. An eviction deleted a pod in kube-system while the
 * DELETE of the same pod was denied. Each subresource here goes through the gateway (real OPA, the shipped policy,
 * the residual engine in front) to the simulator, which acts on it as the apiserver does; each denied case is paired
 * with an allowed or direct one showing that the request would have acted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';
import { findResource } from '../../sim/kubernetes/resources.js';
import type { KubeObject } from '../../sim/kubernetes/store.js';

const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;
const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;
const SMP = 'application/strategic-merge-patch+json';

function pod(namespace: string, name: string, nodeName?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }], ...(nodeName ? { nodeName } : {}) },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

const eviction = (namespace: string, name: string) => JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } });

/** What `kubectl debug -it <pod> --image=<image> --target=main` sends. */
const debugPatch = (image: string, extra: Record<string, unknown> = {}) => JSON.stringify({
  spec: { ephemeralContainers: [{ name: 'debugger-k7x2p', image, targetContainerName: 'main', stdin: true, tty: true, ...extra }] },
});

const binding = (name: string) => JSON.stringify({
  apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: 'sim-node-1' },
});

function ephemeralOf(s: Stack, namespace: string, name: string): unknown {
  return (s.sim.store.find(PODS, namespace, name)?.spec as { ephemeralContainers?: unknown } | undefined)?.ephemeralContainers;
}

describe('destructive subresources through the gateway (F10)', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack(); });
  afterAll(async () => { await s?.close(); });

  const forwarded = (method: string, fragment: string) =>
    s.sim.requests.filter((r) => r.method === method && r.url.includes(fragment) && !r.url.includes('dryRun=All'));

  it('denies an eviction in kube-system exactly as it denies the DELETE of that pod', async () => {
    s.sim.store.put(pod('kube-system', 'coredns-evict', 'sim-node-1'));
    const del = await s.call('DELETE', '/api/v1/namespaces/kube-system/pods/coredns-evict');
    expect(del.status).toBe(403);
    expect(del.json.message).toContain('protected-namespace-delete');

    const res = await s.call('POST', '/api/v1/namespaces/kube-system/pods/coredns-evict/eviction', { body: eviction('kube-system', 'coredns-evict') });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('evicting pods "coredns-evict" in protected namespace "kube-system" is not allowed [protected-namespace-delete]');
    expect(forwarded('POST', '/coredns-evict/eviction')).toHaveLength(0);
    expect(s.sim.store.find(PODS, 'kube-system', 'coredns-evict')).toBeDefined();
  });

  it('lets an eviction through where the delete is allowed, and the simulator deletes the pod', async () => {
    s.sim.store.put(pod('default', 'evict-me', 'sim-node-1'));
    const res = await s.call('POST', '/api/v1/namespaces/default/pods/evict-me/eviction', { body: eviction('default', 'evict-me') });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ kind: 'Status', status: 'Success', code: 201 });
    expect(s.sim.store.find(PODS, 'default', 'evict-me')).toBeUndefined();
  });

  it('denies a deletecollection in a protected namespace and leaves every object there', async () => {
    s.sim.store.put(pod('kube-system', 'etcd-keep', 'sim-node-1'));
    const res = await s.call('DELETE', '/api/v1/namespaces/kube-system/pods');
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('deleting all pods in protected namespace "kube-system" (deletecollection) is not allowed');
    expect(forwarded('DELETE', '/namespaces/kube-system/pods')).toHaveLength(0);
    expect(s.sim.store.find(PODS, 'kube-system', 'etcd-keep')).toBeDefined();
  });

  it('denies a deletecollection of a whole cluster-scoped collection (every node)', async () => {
    const res = await s.call('DELETE', '/api/v1/nodes');
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('deleting all nodes of the cluster at once (deletecollection) would reach protected namespaces');
    expect(s.sim.store.find(NODES, undefined, 'sim-node-1')).toBeDefined();
    const one = await s.call('DELETE', '/api/v1/nodes/sim-node-1');
    expect(one.status).toBe(403);
    expect(one.json.message).toContain('deletes every pod bound to it');
    expect(forwarded('DELETE', '/api/v1/nodes')).toHaveLength(0);
  });

  it('denies the cluster-wide deletecollection of a namespaced resource, which the apiserver does not serve either', async () => {
    const res = await s.call('DELETE', '/api/v1/pods');
    expect(res.status).toBe(403);
    const direct = await s.call('DELETE', `${s.sim.url}/api/v1/pods`);
    expect(direct.status).toBe(405);
    expect(s.sim.store.find(PODS, 'production', 'api-0')).toBeDefined();
  });

  it('lets a deletecollection through in an unprotected namespace, where the simulator deletes what matches', async () => {
    for (const name of ['sweep-1', 'sweep-2', 'stay']) {
      s.sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { sweep: name === 'stay' ? 'no' : 'yes' } } });
    }
    const res = await s.call('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=sweep%3Dyes');
    expect(res.status).toBe(200);
    expect(res.json.items.map((o: KubeObject) => o.metadata.name).sort()).toEqual(['sweep-1', 'sweep-2']);
    expect(s.sim.store.find(CONFIGMAPS, 'default', 'sweep-1')).toBeUndefined();
    expect(s.sim.store.find(CONFIGMAPS, 'default', 'stay')).toBeDefined();
  });

  it('denies an ephemeral container in kube-system to everyone, as exec there is denied', async () => {
    s.sim.store.put(pod('kube-system', 'apiserver-debug', 'sim-node-1'));
    for (const token of [TOKENS.admin, TOKENS.ops]) {
      const res = await s.call('PATCH', '/api/v1/namespaces/kube-system/pods/apiserver-debug/ephemeralcontainers', {
        body: debugPatch('busybox:1.36'), headers: { 'content-type': SMP }, token,
      });
      expect(res.status).toBe(403);
      expect(res.json.message).toContain('ephemeral container into pods "apiserver-debug" in protected namespace "kube-system" is not allowed');
    }
    const put = await s.call('PUT', '/api/v1/namespaces/kube-system/pods/apiserver-debug/ephemeralcontainers', {
      body: JSON.stringify({ ...pod('kube-system', 'apiserver-debug', 'sim-node-1'), spec: { ...pod('kube-system', 'apiserver-debug', 'sim-node-1').spec as object, ephemeralContainers: [{ name: 'd', image: 'busybox:1.36' }] } }),
    });
    expect(put.status).toBe(403);
    expect(forwarded('PATCH', '/apiserver-debug/ephemeralcontainers')).toHaveLength(0);
    expect(forwarded('PUT', '/apiserver-debug/ephemeralcontainers')).toHaveLength(0);
    expect(ephemeralOf(s, 'kube-system', 'apiserver-debug')).toBeUndefined();
  });

  it('applies the pod container rules to an ephemeral container: a privileged one is denied', async () => {
    s.sim.store.put(pod('default', 'web-debug-priv', 'sim-node-1'));
    const res = await s.call('PATCH', '/api/v1/namespaces/default/pods/web-debug-priv/ephemeralcontainers', {
      body: debugPatch('busybox:1.36', { securityContext: { privileged: true } }), headers: { 'content-type': SMP }, token: TOKENS.ops,
    });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('ephemeral container "debugger-k7x2p" sets securityContext.privileged');
    expect(ephemeralOf(s, 'default', 'web-debug-priv')).toBeUndefined();
  });

  it('lets an ephemeral container through elsewhere with the exec warning, and the simulator adds it', async () => {
    s.sim.store.put(pod('default', 'web-debug', 'sim-node-1'));
    const res = await s.call('PATCH', '/api/v1/namespaces/default/pods/web-debug/ephemeralcontainers', {
      body: debugPatch('busybox:1.36'), headers: { 'content-type': SMP }, token: TOKENS.alice,
    });
    expect(res.status).toBe(200);
    expect(String(res.headers.warning)).toContain('ephemeral container into pods \\"web-debug\\" in namespace \\"default\\" is recorded for review');
    expect(ephemeralOf(s, 'default', 'web-debug')).toEqual([expect.objectContaining({ name: 'debugger-k7x2p', image: 'busybox:1.36' })]);
  });

  it('denies nodes/proxy (the kubelet API) to everyone, in both path forms; the simulator would have served it', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/nodes/sim-node-1/proxy/run/kube-system/etcd-0/etcd?cmd=cat+/etc/kubernetes/pki/etcd/server.key'],
      ['GET', '/api/v1/nodes/sim-node-1/proxy/pods'],
      ['GET', '/api/v1/proxy/nodes/sim-node-1/pods'],
    ] as const) {
      const res = await s.call(method, path, { token: TOKENS.admin });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.message).toContain('reaches the kubelet');
    }
    expect(s.sim.requests.filter((r) => r.url.includes('sim-node-1/proxy') || r.url.includes('proxy/nodes'))).toHaveLength(0);
    const direct = await s.call('GET', `${s.sim.url}/api/v1/nodes/sim-node-1/proxy/pods`);
    expect(direct.status).toBe(200);
    expect(direct.text).toBe('GET /pods proxied to node sim-node-1\n');
  });

  it('denies pods/proxy and services/proxy into a protected namespace; elsewhere they pass with the connect warning', async () => {
    s.sim.store.put(pod('kube-system', 'metrics-0', 'sim-node-1'));
    s.sim.store.put({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { ports: [{ port: 53 }] } });
    for (const path of ['/api/v1/namespaces/kube-system/pods/metrics-0/proxy/metrics', '/api/v1/namespaces/kube-system/services/kube-dns:53/proxy/']) {
      const res = await s.call('GET', path, { token: TOKENS.ops });
      expect(res.status, path).toBe(403);
      expect(res.json.message).toContain('protected-namespace-connect');
    }
    s.sim.store.put(pod('default', 'metrics-1', 'sim-node-1'));
    const res = await s.call('GET', '/api/v1/namespaces/default/pods/metrics-1/proxy/metrics', { token: TOKENS.alice });
    expect(res.status).toBe(200);
    expect(res.text).toBe('GET /metrics proxied to pod metrics-1\n');
    expect(String(res.headers.warning)).toContain('connect-by-non-ops');
  });

  it('denies pods/binding and the bindings resource; the simulator would have bound the pod', async () => {
    s.sim.store.put(pod('default', 'unbound-1'));
    const sub = await s.call('POST', '/api/v1/namespaces/default/pods/unbound-1/binding', { body: binding('unbound-1') });
    expect(sub.status).toBe(403);
    expect(sub.json.message).toContain('binding pod "unbound-1" in namespace "default" to a node is the scheduler\'s decision and is not allowed [no-direct-scheduling]');
    const legacy = await s.call('POST', '/api/v1/namespaces/default/bindings', { body: binding('unbound-1') });
    expect(legacy.status).toBe(403);
    expect(legacy.json.message).toContain('no-direct-scheduling');
    expect(forwarded('POST', '/pods/unbound-1/binding')).toHaveLength(0);
    expect(forwarded('POST', '/namespaces/default/bindings')).toHaveLength(0);
    expect((s.sim.store.find(PODS, 'default', 'unbound-1')?.spec as { nodeName?: string }).nodeName).toBeUndefined();

    const direct = await s.call('POST', `${s.sim.url}/api/v1/namespaces/default/bindings`, { body: binding('unbound-1') });
    expect(direct.status).toBe(201);
    expect((s.sim.store.find(PODS, 'default', 'unbound-1')?.spec as { nodeName?: string }).nodeName).toBe('sim-node-1');
    const again = await s.call('POST', `${s.sim.url}/api/v1/namespaces/default/pods/unbound-1/binding`, { body: binding('unbound-1') });
    expect(again.status).toBe(409);
  });

  it('denies a pod created straight onto a node (spec.nodeName), the binding by another name', async () => {
    const res = await s.call('POST', '/api/v1/namespaces/default/pods', { body: JSON.stringify(pod('default', 'placed', 'sim-node-1')) });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('Pod "placed" sets spec.nodeName "sim-node-1"');
    expect(s.sim.store.find(PODS, 'default', 'placed')).toBeUndefined();
  });
});

describe('ephemeral containers with resolve: local (F10)', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ resolve: 'local' }); });
  afterAll(async () => { await s?.close(); });

  it('merges the patch in the gateway and denies a privileged ephemeral container, allowing a plain one', async () => {
    s.sim.store.put(pod('default', 'local-debug', 'sim-node-1'));
    const denied = await s.call('PATCH', '/api/v1/namespaces/default/pods/local-debug/ephemeralcontainers', {
      body: debugPatch('busybox:1.36', { securityContext: { privileged: true } }), headers: { 'content-type': SMP }, token: TOKENS.ops,
    });
    expect(denied.status).toBe(403);
    expect(denied.json.message).toContain('no-privileged-containers');
    expect(s.sim.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
    const allowed = await s.call('PATCH', '/api/v1/namespaces/default/pods/local-debug/ephemeralcontainers', {
      body: debugPatch('busybox:1.36'), headers: { 'content-type': SMP }, token: TOKENS.ops,
    });
    expect(allowed.status).toBe(200);
    expect(ephemeralOf(s, 'default', 'local-debug')).toEqual([expect.objectContaining({ name: 'debugger-k7x2p' })]);
  });
});
