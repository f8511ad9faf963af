import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startKubeSim, type KubeSim } from '../../../sim/kubernetes/index.js';
import { decodeKubeProtobuf, encodeKubeProtobuf } from '../../../src/upstreams/kubernetes/protobuf.js';

let sim: KubeSim;
const AUTH = { authorization: 'Bearer admin-token' };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...AUTH, ...headers } };
  if (body !== undefined) {
    init.body = Buffer.isBuffer(body) ? new Uint8Array(body) : typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(sim.url + path, init);
  const buf = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, raw: buf, json: type.startsWith('application/json') ? (JSON.parse(buf.toString()) as any) : undefined };
}

const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { k: 'v' } });
const CMS = '/api/v1/namespaces/default/configmaps';

beforeAll(async () => {
  sim = await startKubeSim({
    tokens: { 'admin-token': { username: 'admin', groups: ['system:masters'] }, 'dev-token': { username: 'dev', uid: 'u9', groups: ['devs'] } },
  });
});
afterAll(() => sim.close());

describe('errors are Status envelopes', () => {
  it('404 NotFound names the group-qualified resource', async () => {
    const r = await call('GET', '/apis/apps/v1/namespaces/default/deployments/web');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "web" not found',
      reason: 'NotFound',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
      code: 404,
    });
  });

  it('401 for an unknown token; /version and /healthz need none', async () => {
    const bad = await call('GET', '/api/v1/namespaces', undefined, { authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await fetch(`${sim.url}/api/v1/namespaces`)).status).toBe(401);
    const version = await fetch(`${sim.url}/version`);
    expect(version.status).toBe(200);
    expect(await version.json()).toMatchObject({ major: '1', minor: '32', gitVersion: 'v1.32.0' });
    expect(await (await fetch(`${sim.url}/healthz`)).text()).toBe('ok');
  });

  it('400 for malformed JSON, 415 for an unknown body type, 422 without a name, 409 on duplicates', async () => {
    expect((await call('POST', CMS, '{"kind":', { 'content-type': 'application/json' })).json).toMatchObject({ reason: 'BadRequest', code: 400 });
    expect((await call('POST', CMS, 'x', { 'content-type': 'text/plain' })).json).toMatchObject({ reason: 'UnsupportedMediaType', code: 415 });
    const unnamed = await call('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} });
    expect(unnamed.status).toBe(422);
    expect(unnamed.json).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'metadata.name' }] } });
    expect((await call('POST', CMS, cm('dup'))).status).toBe(201);
    expect((await call('POST', CMS, cm('dup'))).json).toMatchObject({ reason: 'AlreadyExists', code: 409, message: 'configmaps "dup" already exists' });
    expect((await call('POST', '/api/v1/namespaces/nowhere/configmaps', cm('n'))).json).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
  });
});

describe('discovery and OpenAPI', () => {
  it('negotiates aggregated discovery v2 / v2beta1 and falls back to legacy', async () => {
    const v2 = await call('GET', '/apis', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    expect(v2.type).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(v2.json.apiVersion).toBe('apidiscovery.k8s.io/v2');
    const apps = v2.json.items.find((i: any) => i.metadata.name === 'apps');
    const deploy = apps.versions[0].resources.find((r: any) => r.resource === 'deployments');
    expect(deploy.subresources.map((s: any) => s.subresource)).toEqual(['scale', 'status']);
    const beta = await call('GET', '/api', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json' });
    expect(beta.json.apiVersion).toBe('apidiscovery.k8s.io/v2beta1');
    expect(beta.json.items[0].versions[0].resources.map((r: any) => r.resource)).toContain('pods');
    expect((await call('GET', '/api')).json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect((await call('GET', '/apis')).json.groups.map((g: any) => g.name)).toContain('rbac.authorization.k8s.io');
    const list = await call('GET', '/apis/apps/v1');
    expect(list.json.resources).toContainEqual(expect.objectContaining({ name: 'deployments/scale', kind: 'Scale', group: 'autoscaling' }));
  });

  it('OpenAPI v3 documents a fieldValidation parameter on each PATCH with its GVK', async () => {
    const root = await call('GET', '/openapi/v3');
    const url: string = root.json.paths['apis/apps/v1'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);
    const doc = (await call('GET', url)).json;
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(patch.parameters).toContainEqual(expect.objectContaining({ name: 'fieldValidation', in: 'query' }));
    expect((await call('GET', '/openapi/v2')).status).toBe(404);
  });
});

describe('CRUD', () => {
  it('create fills server metadata; YAML and protobuf bodies are accepted; protobuf is answered in kind', async () => {
    const r = await call('POST', CMS, cm('a'));
    expect(r.status).toBe(201);
    expect(r.json.metadata).toMatchObject({ name: 'a', namespace: 'default', uid: expect.any(String), resourceVersion: expect.any(String), creationTimestamp: expect.any(String) });
    const yaml = await call('POST', CMS, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: "1"\n', { 'content-type': 'application/yaml' });
    expect(yaml.status).toBe(201);
    const pb = await call('POST', CMS, encodeKubeProtobuf(cm('pb')), {
      'content-type': 'application/vnd.kubernetes.protobuf',
      accept: 'application/vnd.kubernetes.protobuf,application/json',
    });
    expect(pb.status).toBe(201);
    expect(pb.type).toBe('application/vnd.kubernetes.protobuf');
    expect(decodeKubeProtobuf(pb.raw)).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'pb', namespace: 'default' }, data: { k: 'v' } });
    const gen = await call('POST', CMS, cm('', { generateName: 'gen-' }));
    expect(gen.json.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('list returns a <Kind>List or a Table, filtered by selectors', async () => {
    await call('POST', CMS, cm('labelled', { labels: { team: 'x' } }));
    const list = await call('GET', `${CMS}?labelSelector=team%3Dx`);
    expect(list.json).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: expect.any(String) } });
    expect(list.json.items.map((i: any) => i.metadata.name)).toEqual(['labelled']);
    const table = await call('GET', '/api/v1/namespaces', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(table.json.kind).toBe('Table');
    expect(table.json.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(table.json.rows.map((r: any) => r.cells[0])).toEqual(['default', 'kube-system', 'production']);
  });

  it('PUT updates, 409s on a stale resourceVersion and 404s when missing', async () => {
    const created = (await call('POST', CMS, cm('u'))).json;
    const updated = await call('PUT', `${CMS}/u`, { ...created, data: { k: 'new' } });
    expect(updated.status).toBe(200);
    expect(Number(updated.json.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const stale = await call('PUT', `${CMS}/u`, { ...created, data: { k: 'stale' } });
    expect(stale.json).toMatchObject({ reason: 'Conflict', code: 409 });
    expect((await call('PUT', `${CMS}/ghost`, cm('ghost'))).status).toBe(404);
    expect(sim.store.get(`${CMS}/u`)?.data).toEqual({ k: 'new' });
  });

  it('PATCH: all types, 415 for others, apply creates (201), dryRun=All stores nothing', async () => {
    await call('POST', CMS, cm('p'));
    expect((await call('PATCH', `${CMS}/p`, { data: { m: '1' } }, { 'content-type': 'application/merge-patch+json' })).json.data).toEqual({ k: 'v', m: '1' });
    expect((await call('PATCH', `${CMS}/p`, [{ op: 'remove', path: '/data/k' }], { 'content-type': 'application/json-patch+json' })).json.data).toEqual({ m: '1' });
    expect((await call('PATCH', `${CMS}/p`, { data: { s: '2' } }, { 'content-type': 'application/strategic-merge-patch+json' })).json.data).toEqual({ m: '1', s: '2' });
    expect((await call('PATCH', `${CMS}/p`, {}, { 'content-type': 'application/json' })).json).toMatchObject({ reason: 'UnsupportedMediaType', code: 415 });
    expect((await call('PATCH', `${CMS}/missing`, {}, { 'content-type': 'application/merge-patch+json' })).status).toBe(404);
    const applied = await call('PATCH', `${CMS}/applied?fieldManager=x`, cm('applied'), { 'content-type': 'application/apply-patch+yaml' });
    expect(applied.status).toBe(201);

    const dry = await call('PATCH', `${CMS}/p?dryRun=All`, { data: { dry: 'run' } }, { 'content-type': 'application/merge-patch+json' });
    expect(dry.json.data).toEqual({ m: '1', s: '2', dry: 'run' });
    expect(sim.store.get(`${CMS}/p`)?.data).toEqual({ m: '1', s: '2' });
    expect((await call('POST', `${CMS}?dryRun=All`, cm('never'))).status).toBe(201);
    expect(sim.store.get(`${CMS}/never`)).toBeUndefined();
  });

  it('DELETE answers a Status (the object for pods and namespaces); deletecollection honours the label selector; namespace deletion empties it', async () => {
    const gone = (await call('POST', CMS, cm('gone'))).json;
    const del = await call('DELETE', `${CMS}/gone`);
    expect(del.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'gone', kind: 'configmaps', uid: gone.metadata.uid } });
    expect(sim.store.get(`${CMS}/gone`)).toBeUndefined();
    await call('POST', CMS, cm('bulk1', { labels: { bulk: 'yes' } }));
    await call('POST', CMS, cm('bulk2', { labels: { bulk: 'yes' } }));
    const coll = await call('DELETE', `${CMS}?labelSelector=bulk`);
    expect(coll.json.items.map((i: any) => i.metadata.name)).toEqual(['bulk1', 'bulk2']);
    expect(sim.store.get(`${CMS}/a`)).toBeDefined();
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
    await call('POST', '/api/v1/namespaces/tmp/configmaps', cm('inside'));
    const ns = await call('DELETE', '/api/v1/namespaces/tmp');
    expect(ns.json).toMatchObject({ kind: 'Namespace', metadata: { name: 'tmp', deletionTimestamp: expect.any(String) }, status: { phase: 'Terminating' } });
    expect(sim.store.get('/api/v1/namespaces/tmp/configmaps/inside')).toBeUndefined();
  });

  it('validates like the apiserver: dryRun values, the apply field manager, object names, a node to exec on', async () => {
    expect((await call('POST', `${CMS}?dryRun=x`, cm('dry-x'))).json).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Invalid', code: 422,
      message: 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"x"}: supported values: "All"',
      details: { group: 'meta.k8s.io', kind: 'CreateOptions', causes: [{ reason: 'FieldValueNotSupported', message: 'Unsupported value: []string{"x"}: supported values: "All"', field: 'dryRun' }] },
    });
    const apply = await call('PATCH', `${CMS}/no-manager`, cm('no-manager'), { 'content-type': 'application/apply-patch+yaml' });
    expect(apply.json).toMatchObject({ code: 422, message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' });
    const badName = await call('POST', CMS, cm('Bad_Name'));
    expect(badName.json).toMatchObject({ code: 422, reason: 'Invalid', details: { name: 'Bad_Name', kind: 'ConfigMap' } });
    expect(badName.json.message).toMatch(/^ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    expect((await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } })).json.message)
      .toBe('Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots');
    await call('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unscheduled' }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } });
    expect((await call('POST', '/api/v1/namespaces/default/pods/unscheduled/exec?command=ls')).json)
      .toMatchObject({ code: 400, reason: 'BadRequest', message: 'pod unscheduled does not have a host assigned' });
    expect((await call('GET', `${CMS}/nope`)).json.details).toEqual({ name: 'nope', kind: 'configmaps' });
  });
});

describe('subresources', () => {
  it('scale reads and writes spec.replicas as autoscaling/v1 Scale', async () => {
    const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 2, selector: { matchLabels: { app: 'd' } } } };
    await call('POST', '/apis/apps/v1/namespaces/default/deployments', dep);
    const scale = await call('GET', '/apis/apps/v1/namespaces/default/deployments/d/scale');
    expect(scale.json).toMatchObject({ apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 2 }, status: { selector: 'app=d' } });
    const patched = await call('PATCH', '/apis/apps/v1/namespaces/default/deployments/d/scale', { spec: { replicas: 7 } }, { 'content-type': 'application/merge-patch+json' });
    expect(patched.json.spec.replicas).toBe(7);
    expect((sim.store.get('/apis/apps/v1/namespaces/default/deployments/d') as any).spec.replicas).toBe(7);
  });

  it('status PUT changes only .status; a main PUT keeps .status', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/d';
    const cur = (await call('GET', path)).json;
    await call('PUT', `${path}/status`, { ...cur, spec: { replicas: 99 }, status: { replicas: 7 } });
    const after = (await call('GET', path)).json;
    expect(after.status).toEqual({ replicas: 7 });
    expect(after.spec.replicas).toBe(7);
    await call('PUT', path, { ...after, status: { replicas: 0 } });
    expect((await call('GET', path)).json.status).toEqual({ replicas: 7 });
  });

  it('log follow streams lines until the client leaves', async () => {
    const lines = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${sim.url}/api/v1/namespaces/default/pods/web-0/log?follow=true`, { headers: AUTH }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.split('\n').length > 5) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', reject);
    });
    expect(lines).toContain('log line 5 from default/web-0/web');
  });

  it('exec over a v5.channel.k8s.io WebSocket sends stdout then a Success status', async () => {
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/api/v1/namespaces/production/pods/api-0/exec?command=echo&command=hi&stdout=true`, ['v5.channel.k8s.io'], { headers: AUTH });
    const frames: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (d: Buffer) => frames.push(d));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    expect(ws.protocol).toBe('v5.channel.k8s.io');
    expect(frames[0]![0]).toBe(1);
    expect(frames[0]!.subarray(1).toString()).toBe('exec: echo hi\n');
    expect(frames[1]![0]).toBe(3);
    expect(JSON.parse(frames[1]!.subarray(1).toString())).toEqual({ metadata: {}, status: 'Success' });
  });
});

describe('watch', () => {
  it('sends current objects as ADDED, then changes, and ends at timeoutSeconds', async () => {
    const events: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      http
        .get(`${sim.url}/api/v1/namespaces/production/configmaps?watch=1&timeoutSeconds=1`, { headers: AUTH }, (res) => {
          let buf = '';
          res.on('data', (c: Buffer) => {
            buf += c.toString();
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
              events.push(JSON.parse(buf.slice(0, i)));
              buf = buf.slice(i + 1);
            }
          });
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w', namespace: 'production' }, data: {} });
    await new Promise((r) => setTimeout(r, 100));
    await call('PATCH', '/api/v1/namespaces/production/configmaps/w', { data: { a: 'b' } }, { 'content-type': 'application/merge-patch+json' });
    await call('DELETE', '/api/v1/namespaces/production/configmaps/w');
    await done;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'w'],
      ['MODIFIED', 'w'],
      ['DELETED', 'w'],
    ]);
  });

  it('with a resourceVersion replays only newer events (legacy /watch/ path)', async () => {
    const rv = sim.store.resourceVersion;
    sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later', namespace: 'production' } });
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get(`${sim.url}/api/v1/watch/namespaces/production/configmaps?resourceVersion=${rv}&timeoutSeconds=1`, { headers: AUTH }, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve(t));
        })
        .on('error', reject);
    });
    expect(text.trim().split('\n').map((l) => JSON.parse(l).object.metadata.name)).toEqual(['later']);
  });
});

describe('identity', () => {
  it('selfsubjectreviews returns the token user, or the impersonated one', async () => {
    const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' };
    const me = await call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', review, { authorization: 'Bearer dev-token' });
    expect(me.status).toBe(201);
    expect(me.json.status.userInfo).toEqual({ username: 'dev', uid: 'u9', groups: ['devs', 'system:authenticated'] });
    const res = await new Promise<any>((resolve, reject) => {
      const req = http.request(
        `${sim.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`,
        { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json', 'Impersonate-User': 'bob', 'Impersonate-Group': ['g1', 'g2'] } },
        (r) => {
          let t = '';
          r.on('data', (c: Buffer) => (t += c.toString()));
          r.on('end', () => resolve(JSON.parse(t)));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(review));
    });
    expect(res.status.userInfo).toEqual({ username: 'bob', groups: ['g1', 'g2', 'system:authenticated'] });
    const ssar = await call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } });
    expect(ssar.json.status.allowed).toBe(true);
  });

  it('records every request with its body', async () => {
    sim.clearRequests();
    await call('POST', CMS, cm('recorded'));
    expect(sim.requests).toHaveLength(1);
    expect(sim.requests[0]).toMatchObject({ method: 'POST', url: CMS });
    expect(JSON.parse(sim.requests[0]!.body.toString())).toEqual(cm('recorded'));
  });
});
