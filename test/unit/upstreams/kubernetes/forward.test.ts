import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import { KubernetesAdapter } from '../../../../src/upstreams/kubernetes/adapter.js';
import { UpstreamClient } from '../../../../src/upstreams/client.js';
import type { GateRequest } from '../../../../src/upstreams/types.js';
import { startKubeSim, type KubeSim } from '../../../../sim/kubernetes/index.js';

function req(method: string, url: string, contentType: string): GateRequest {
  return { method, url, headers: { authorization: 'Bearer t', 'content-type': contentType }, upgrade: false, remoteAddress: '127.0.0.1' };
}

describe('the forwarded body of an update: the client\'s plus a resourceVersion precondition (F15)', () => {
  let sim: KubeSim;
  const clients: UpstreamClient[] = [];
  const adapters = {} as Record<'dryrun' | 'local', { adapter: KubernetesAdapter; client: UpstreamClient }>;
  let rv = '';
  beforeAll(async () => {
    sim = await startKubeSim();
    for (const resolve of ['dryrun', 'local'] as const) {
      const cfg = ofKind(parseConfig({ upstreams: [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: sim.url, policy: 'p', kubernetes: { resolve } }] }).upstreams[0]!, 'kubernetes');
      const client = new UpstreamClient(cfg);
      clients.push(client);
      adapters[resolve] = { adapter: new KubernetesAdapter(cfg, client), client };
    }
    rv = sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', namespace: 'default' }, data: { a: '1' } }).metadata.resourceVersion!;
  });
  afterAll(async () => { await Promise.all(clients.map((c) => c.close())); await sim.close(); });

  const forwarded = async (mode: 'dryrun' | 'local', r: GateRequest, body: string) => {
    const { adapter, client } = adapters[mode];
    const classified = adapter.classify(r);
    await adapter.buildInput(r, classified, Buffer.from(body), client);
    return classified.forward;
  };

  it.each(['dryrun', 'local'] as const)('a YAML replace without a resourceVersion is forwarded as the JSON it decoded to, pinned (%s)', async (mode) => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1, namespace: default}\ndata: {a: "2", on: "x"}\n';
    const fwd = await forwarded(mode, req('PUT', '/api/v1/namespaces/default/configmaps/c1', 'application/yaml'), yaml);
    expect(fwd).toMatchObject({ contentType: 'application/json', precondition: { resourceVersion: rv } });
    expect(JSON.parse(fwd!.body.toString())).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', namespace: 'default', resourceVersion: rv }, data: { a: '2', true: 'x' } });
  });

  it.each(['dryrun', 'local'] as const)('a body that carries its own resourceVersion is forwarded as it came (%s)', async (mode) => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', namespace: 'default', resourceVersion: rv }, data: { a: '3' } });
    expect(await forwarded(mode, req('PUT', '/api/v1/namespaces/default/configmaps/c1', 'application/json'), body)).toBeUndefined();
  });

  it('a dry run of the client\'s own (dryRun=All) is not pinned: nothing will be stored', async () => {
    const fwd = await forwarded('dryrun', req('PATCH', '/api/v1/namespaces/default/configmaps/c1?dryRun=All', 'application/merge-patch+json'), '{"data":{"b":"1"}}');
    expect(fwd).toBeUndefined();
  });

  it('a merge patch is forwarded byte for byte with only the precondition inserted', async () => {
    const fwd = await forwarded('dryrun', req('PATCH', '/api/v1/namespaces/default/configmaps/c1', 'application/merge-patch+json'), '{ "data" : {"b":"1"} }');
    expect(fwd!.body.toString()).toBe(`{"metadata":{"resourceVersion":"${rv}"}, "data" : {"b":"1"} }`);
    expect(fwd!.contentType).toBe('application/merge-patch+json');
  });
});
