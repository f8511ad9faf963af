import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import type { WritegateError } from '../../../../src/errors.js';
import { projectRoot } from '../../../../src/opa/binary.js';
import type { UpstreamClient, UpstreamResponse } from '../../../../src/upstreams/client.js';
import { UpstreamCredentials } from '../../../../src/upstreams/credentials.js';
import { UpstreamHeaders } from '../../../../src/upstreams/headers.js';
import { netboxKind } from '../../../../src/upstreams/netbox/index.js';
import { NetboxAdapter } from '../../../../src/upstreams/netbox/adapter.js';
import type { GateRequest } from '../../../../src/upstreams/types.js';

const schema: ValidateFunction = (() => {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  for (const name of ['common', 'netbox']) {
    ajv.addSchema(JSON.parse(readFileSync(join(projectRoot(), 'policies/schemas', name, `${name}.input.schema.json`), 'utf8')));
  }
  return ajv.getSchema('https://writegate.dev/schemas/v1/netbox.input.schema.json')!;
})();

const TOKEN = 'Bearer nbt_abcdefghijkl.0123456789012345678901234567890123456789';

/** Stored objects by path, answered as NetBox answers a GET; every call is recorded with its headers. */
function fakeNetbox(objects: Record<string, unknown>): { client: UpstreamClient; calls: { method: string; path: string; headers: Record<string, unknown> }[] } {
  const calls: { method: string; path: string; headers: Record<string, unknown> }[] = [];
  const answer = (status: number, body: unknown): UpstreamResponse => ({ status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
  const client = {
    credentials: new UpstreamCredentials('netbox', { mode: 'passthrough', impersonate: false }, netboxKind.heldCredential),
    async request(method: string, path: string, headers: Record<string, unknown>): Promise<UpstreamResponse> {
      calls.push({ method, path, headers });
      if (path === '/api/authentication-check/') {
        return headers.authorization === TOKEN ? answer(200, { id: 4, username: 'alice', groups: [{ id: 1, name: 'network-engineers' }] }) : answer(403, { detail: 'Invalid token' });
      }
      if (path === '/api/dcim/devices/66/') return answer(403, { detail: 'You do not have permission to perform this action.' });
      if (!(path in objects)) return answer(404, { detail: 'No Device matches the given query.' });
      const found = answer(200, objects[path]);
      if (path === '/api/dcim/devices/12/') found.headers.etag = 'W/"2026-11-20T13:02:11.934210+00:00"';
      return found;
    },
  } as unknown as UpstreamClient;
  return { client, calls };
}

const STORED = {
  '/api/dcim/devices/12/': { id: 12, name: 'ams1-leaf-01', status: { value: 'active', label: 'Active' }, tags: [], serial: '' },
  '/api/dcim/devices/13/': { id: 13, name: 'ams1-leaf-02', status: { value: 'offline', label: 'Offline' }, tags: [{ id: 1, name: 'protected', slug: 'protected' }] },
};

function adapter(client: UpstreamClient, target = 'http://netbox.test:8080/netbox', identity: 'upstream' | 'none' = 'upstream'): NetboxAdapter {
  const cfg = ofKind(parseConfig({ upstreams: [{ name: 'netbox', kind: 'netbox', prefix: '/netbox', target, policy: 'writegate/netbox/decision', identity }] }).upstreams[0]!, 'netbox');
  return new NetboxAdapter(cfg, client);
}

function req(method: string, url: string, headers: Record<string, string> = {}): GateRequest {
  return { method, url, headers: { host: 'gw.test:8443', authorization: TOKEN, 'content-type': 'application/json', ...headers }, upgrade: false, remoteAddress: '192.0.2.7', secure: true };
}

async function build(a: NetboxAdapter, client: UpstreamClient, r: GateRequest, body?: unknown): Promise<any> {
  const bytes = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const input = await a.buildInput(r, a.classify(r), bytes, client);
  expect(schema(input), JSON.stringify(schema.errors)).toBe(true);
  return input;
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as WritegateError).code;
  }
  return 'none';
}

describe('netbox adapter: classification', () => {
  const { client } = fakeNetbox({});
  const a = adapter(client);

  it('reads by method; POST /graphql/ is decided by its body; writes elsewhere than /api/ and methods NetBox has not are refused', () => {
    expect(a.classify(req('GET', '/api/dcim/devices/?limit=1000')).isRead).toBe(true);
    expect(a.classify(req('OPTIONS', '/api/dcim/devices/')).isRead).toBe(true);
    const gql = a.classify(req('POST', '/graphql/'));
    expect(gql.needsBody).toBe(true);
    expect(a.classifyBody(req('POST', '/graphql/'), gql, Buffer.from('{"query": "{ site_list { name } }"}')).isRead).toBe(true);
    expect(a.classify(req('PATCH', '/api/dcim/devices/12/'))).toMatchObject({ isRead: false, operation: 'UPDATE', summary: 'patch dcim/devices 12' });
  });

  it('refuses GraphQL bodies that are not one JSON query, and mutations', async () => {
    const gql = a.classify(req('POST', '/graphql/'));
    const body = (s: string, h: Record<string, string> = {}) => () => a.classifyBody(req('POST', '/graphql/', h), gql, Buffer.from(s));
    expect(await refusal(body('{"query": "mutation { x }"}'))).toBe('WG_ERR_BAD_REQUEST');
    expect(await refusal(body('[{"query": "{ a }"}]'))).toBe('WG_ERR_BAD_REQUEST');
    expect(await refusal(body('{"query": "{ a }", "query": "mutation { b }"}'))).toBe('WG_ERR_MALFORMED_BODY');
    expect(await refusal(body('query=%7Ba%7D', { 'content-type': 'application/x-www-form-urlencoded' }))).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses writes NetBox would route otherwise: no trailing slash, outside /api/, odd methods, underscore headers, upgrades', async () => {
    expect(await refusal(() => a.classify(req('POST', '/api/dcim/devices')))).toBe('WG_ERR_BAD_PATH');
    expect(await refusal(() => a.classify(req('POST', '/dcim/devices/add/')))).toBe('WG_ERR_BAD_PATH');
    expect(await refusal(() => a.classify(req('POST', '/api/dcim/devices/%2e%2e/')))).toBe('WG_ERR_BAD_PATH');
    expect(await refusal(() => a.classify(req('PROPPATCH', '/api/dcim/devices/')))).toBe('WG_ERR_BAD_REQUEST');
    expect(await refusal(() => a.classify(req('GET', '/api/dcim/sites/', { script_name: '/netbox/api/ipam' })))).toBe('WG_ERR_BAD_REQUEST');
    expect(await refusal(() => a.classify({ ...req('GET', '/api/dcim/sites/'), upgrade: true }))).toBe('WG_ERR_BAD_REQUEST');
  });

  it('the example configuration is valid and serves NetBox under the mount\'s path', () => {
    const cfg = ofKind(loadConfigFile(join(projectRoot(), 'examples/netbox/writegate.yaml')).upstreams[0]!, 'netbox');
    expect(() => new NetboxAdapter(cfg, client)).not.toThrow();
  });

  it('is refused by configuration when NetBox does not serve under the mount\'s path', async () => {
    expect(await refusal(() => adapter(client, 'http://netbox.test:8080'))).toBe('WG_ERR_CONFIG_INVALID');
    expect(() => adapter(client, 'http://netbox.test:8080/netbox/')).not.toThrow();
  });

  it('forwards the gateway\'s host, scheme and the client\'s address, never a client\'s own forwarding headers', () => {
    const headers = new UpstreamHeaders(a.headers);
    const r = req('GET', '/api/dcim/sites/', { 'x-forwarded-host': 'evil.test', 'x-forwarded-for': '10.0.0.1', forwarded: 'for=10.0.0.1', 'x-forwarded-prefix': '/x' });
    const out = headers.forwarded(r.headers as Record<string, string>, undefined, r);
    expect(out).toMatchObject({ 'x-forwarded-host': 'gw.test:8443', 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.7', authorization: TOKEN });
    expect(out.forwarded).toBeUndefined();
    expect(out['x-forwarded-prefix']).toBeUndefined();
    expect(headers.forwarded(r.headers as Record<string, string>, undefined, { ...r, secure: false })['x-forwarded-proto']).toBe('http');
  });
});

describe('netbox adapter: policy inputs (validated against policies/schemas/netbox)', () => {
  it('a create: the body is the object, the caller is who NetBox says, credentials are not in the input', async () => {
    const { client, calls } = fakeNetbox(STORED);
    const a = adapter(client);
    const input = await build(a, client, req('POST', '/api/dcim/devices/?background=false', { 'user-agent': 'pynetbox/7.9.0' }), { name: 'ams1-leaf-04', site: 1 });
    expect(input).toMatchObject({
      version: 'writegate.dev/v1', upstream: 'netbox', upstreamKind: 'netbox', method: 'POST', path: '/api/dcim/devices/',
      query: { background: ['false'] }, headers: { 'content-type': 'application/json', 'user-agent': 'pynetbox/7.9.0' },
      request: {
        operation: 'CREATE', body: { name: 'ams1-leaf-04', site: 1 }, object: { name: 'ams1-leaf-04', site: 1 }, oldObject: null,
        userInfo: { username: 'alice', uid: '4', groups: ['network-engineers'], extra: {}, authenticatedBy: 'upstream' },
        resource: 'dcim/devices', name: '', app: 'dcim', model: 'devices', id: null,
      },
    });
    expect(JSON.stringify(input)).not.toContain('nbt_');
    expect(calls.map((c) => c.path)).toEqual(['/api/authentication-check/']);
    // The identity is cached per credential.
    await build(a, client, req('POST', '/api/dcim/devices/'), { name: 'ams1-leaf-05' });
    expect(calls.filter((c) => c.path === '/api/authentication-check/')).toHaveLength(1);
  });

  it('an update: the body over the current object read with the caller\'s credentials and the gateway\'s forwarding headers', async () => {
    const { client, calls } = fakeNetbox(STORED);
    const input = await build(adapter(client), client, req('PUT', '/api/dcim/devices/12/'), { status: 'offline', serial: 'SN1' });
    expect(input.request).toMatchObject({
      operation: 'UPDATE', id: 12, name: '12',
      oldObject: STORED['/api/dcim/devices/12/'],
      object: { ...STORED['/api/dcim/devices/12/'], status: 'offline', serial: 'SN1' },
    });
    // NetBox ignores a read-only id in the body: the object keeps the stored one.
    const moved = await build(adapter(client), client, req('PATCH', '/api/dcim/devices/12/'), { id: 13, name: 'x' });
    expect(moved.request.object).toEqual({ ...STORED['/api/dcim/devices/12/'], name: 'x' });
    expect(calls[1]).toMatchObject({ method: 'GET', path: '/api/dcim/devices/12/', headers: { authorization: TOKEN, 'x-forwarded-host': 'gw.test:8443', 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.7' } });
  });

  it('pins a single update or delete to the judged version by If-Match (a client\'s own If-Match left alone), bytes unchanged', async () => {
    const { client } = fakeNetbox(STORED);
    const a = adapter(client);
    const body = '{"serial": "SN2"}';
    const r = req('PATCH', '/api/dcim/devices/12/');
    const c = a.classify(r);
    await a.buildInput(r, c, Buffer.from(body), client);
    expect(c.forward).toEqual({ body: Buffer.from(body), contentType: 'application/json', precondition: { etag: 'W/"2026-11-20T13:02:11.934210+00:00"' }, headers: { 'if-match': 'W/"2026-11-20T13:02:11.934210+00:00"' } });
    const own = req('DELETE', '/api/dcim/devices/12/', { 'if-match': 'W/"old"' });
    const c2 = a.classify(own);
    await a.buildInput(own, c2, undefined, client);
    expect(c2.forward).toBeUndefined();
    const untagged = req('DELETE', '/api/dcim/devices/13/');
    const c3 = a.classify(untagged);
    await a.buildInput(untagged, c3, undefined, client);
    expect(c3.forward).toBeUndefined();
  });

  it('a delete of a missing object has oldObject null; one the caller may not read is refused with NetBox\'s answer relayed', async () => {
    const { client } = fakeNetbox(STORED);
    const a = adapter(client);
    const missing = await build(a, client, req('DELETE', '/api/dcim/devices/99/'));
    expect(missing.request).toMatchObject({ operation: 'DELETE', body: null, object: null, oldObject: null, id: 99 });
    const r = req('DELETE', '/api/dcim/devices/66/');
    const err = await a.buildInput(r, a.classify(r), undefined, client).then(() => undefined, (e: WritegateError) => e);
    expect(err?.code).toBe('WG_ERR_RESOLVE_FAILED');
    expect((err?.details.upstreamResponse as { status: number }).status).toBe(403);
    expect(err?.details.caller).toBe('alice');
  });

  it('bulk writes: one item per element in order, each update and delete with its own current object', async () => {
    const { client } = fakeNetbox(STORED);
    const a = adapter(client);
    const create = await build(a, client, req('POST', '/api/dcim/devices/'), [{ name: 'a-b-c' }, { name: 'AMS1 leaf 5' }]);
    expect(create.request).toMatchObject({ id: null, name: '', object: null, oldObject: null });
    expect(create.request.items).toEqual([
      { operation: 'CREATE', id: null, body: { name: 'a-b-c' }, object: { name: 'a-b-c' }, oldObject: null },
      { operation: 'CREATE', id: null, body: { name: 'AMS1 leaf 5' }, object: { name: 'AMS1 leaf 5' }, oldObject: null },
    ]);
    const patch = await build(a, client, req('PATCH', '/api/dcim/devices/'), [{ id: 13, status: 'planned' }, { id: 12, name: 'x' }]);
    expect(patch.request.items).toEqual([
      { operation: 'UPDATE', id: 13, body: { id: 13, status: 'planned' }, object: { ...STORED['/api/dcim/devices/13/'], status: 'planned' }, oldObject: STORED['/api/dcim/devices/13/'] },
      { operation: 'UPDATE', id: 12, body: { id: 12, name: 'x' }, object: { ...STORED['/api/dcim/devices/12/'], name: 'x' }, oldObject: STORED['/api/dcim/devices/12/'] },
    ]);
    const del = await build(a, client, req('DELETE', '/api/dcim/devices/'), [{ id: 12 }, { id: 98 }]);
    expect(del.request.items).toEqual([
      { operation: 'DELETE', id: 12, body: { id: 12 }, object: null, oldObject: STORED['/api/dcim/devices/12/'] },
      { operation: 'DELETE', id: 98, body: { id: 98 }, object: null, oldObject: null },
    ]);
  });

  it('a detail action is a create with its sub-resource; list actions too', async () => {
    const { client } = fakeNetbox(STORED);
    const a = adapter(client);
    const ips = await build(a, client, req('POST', '/api/ipam/prefixes/5/available-ips/'), { description: 'x' });
    expect(ips.request).toMatchObject({ operation: 'CREATE', id: 5, name: '5', subResource: 'available-ips', object: { description: 'x' }, oldObject: null });
    const provision = await build(a, client, req('POST', '/api/users/tokens/provision/'), { username: 'bob', password: 'pw' });
    expect(provision.request).toMatchObject({ resource: 'users/tokens', subResource: 'provision', id: null });
    expect((a.maskInput(provision) as any).request.body.password).toBe('**masked**');
  });

  it('refuses bodies NetBox would read otherwise or refuse: string or missing ids, non-list bulk bodies, non-objects, encodings', async () => {
    const { client } = fakeNetbox(STORED);
    const a = adapter(client);
    const refused = (method: string, url: string, body: string, headers: Record<string, string> = {}) => {
      const r = req(method, url, headers);
      return refusal(a.buildInput(r, a.classify(r), Buffer.from(body), client));
    };
    expect(await refused('PATCH', '/api/dcim/devices/', '[{"id": "12", "name": "x"}]')).toBe('WG_ERR_BAD_REQUEST');
    expect(await refused('PATCH', '/api/dcim/devices/', '[{"id": 12.5}]')).toBe('WG_ERR_BAD_REQUEST');
    expect(await refused('DELETE', '/api/dcim/devices/', '[{"name": "x"}]')).toBe('WG_ERR_BAD_REQUEST');
    expect(await refused('PATCH', '/api/dcim/devices/', '{"id": 12, "name": "x"}')).toBe('WG_ERR_BAD_REQUEST');
    expect(await refused('POST', '/api/dcim/devices/', '[1, 2]')).toBe('WG_ERR_BAD_REQUEST');
    expect(await refused('PATCH', '/api/dcim/devices/12/', '[{"name": "x"}]')).toBe('WG_ERR_BAD_REQUEST');
    expect(await refused('PATCH', '/api/ipam/prefixes/5/available-ips/', '{}')).toBe('WG_ERR_BAD_REQUEST');
    expect(await refused('POST', '/api/dcim/devices/', '{"name": "a", "name": "b"}')).toBe('WG_ERR_MALFORMED_BODY');
    expect(await refused('POST', '/api/dcim/devices/', '{"name": "a"}', { 'content-encoding': 'gzip' })).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(await refused('POST', '/api/dcim/devices/', '{"name": "a"}', { 'content-type': 'text/plain' })).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('an unknown credential, or identity: none, is an unidentified caller', async () => {
    const { client, calls } = fakeNetbox(STORED);
    const unknown = await build(adapter(client), client, req('POST', '/api/dcim/sites/', { authorization: 'Token 0000000000000000000000000000000000000000' }), { name: 's' });
    expect(unknown.request.userInfo).toEqual({ username: '', uid: '', groups: [], extra: {}, authenticatedBy: 'none' });
    calls.length = 0;
    const none = await build(adapter(client, undefined, 'none'), client, req('POST', '/api/dcim/sites/'), { name: 's' });
    expect(none.request.userInfo.authenticatedBy).toBe('none');
    expect(calls).toHaveLength(0);
  });
});
