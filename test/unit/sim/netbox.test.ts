/**
 * The NetBox simulator (sim/netbox/) over HTTP, as a NetBox client meets it: routes and trailing slashes under
 * BASE_PATH, token authentication and object permissions, absolute URLs and pagination, ETag and If-Match,
 * validation errors, bulk writes all or none, the status and authentication-check views and GraphQL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEED_TOKENS, startNetboxSim, type NetboxSim } from '../../../sim/netbox/index.js';

let sim: NetboxSim;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(method: string, path: string, init: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
  const token = init.token === undefined ? SEED_TOKENS.admin : init.token;
  const payload = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const res = await fetch(`${sim.url}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      ...(token === null ? {} : { authorization: token.startsWith('nbt_') ? `Bearer ${token}` : `Token ${token}` }),
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The ids of the default seed's objects, looked up by name. */
async function idOf(path: string, query: string): Promise<number> {
  const res = await call('GET', `${path}?${query}`);
  expect(res.json.count).toBe(1);
  return res.json.results[0].id;
}

const device = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name, device_type: { slug: 'leaf-48' }, role: { slug: 'leaf' }, site: { slug: 'ams1' }, ...extra,
});

beforeEach(async () => {
  sim = await startNetboxSim({ basePath: 'netbox' });
});
afterEach(() => sim.close());

describe('routes under BASE_PATH', () => {
  it('redirects a path without its trailing slash, answers HTML 404 off the routes, JSON 404 for a missing object', async () => {
    const redirect = await call('GET', '/api/dcim/devices?name=x');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/netbox/api/dcim/devices/?name=x');
    const post = await call('POST', '/api/dcim/devices', { body: device('ams1-leaf-09') });
    expect(post.status).toBe(301);
    for (const path of ['/api/dcim/nothing/', '/api/nowhere/devices/', '/api/dcim/devices/1/x/']) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toContain('text/html');
    }
    const outside = await fetch(`${sim.origin}/api/dcim/devices/`, { headers: { authorization: `Bearer ${SEED_TOKENS.admin}` } });
    expect(outside.status).toBe(404);
    const missing = await call('GET', '/api/dcim/devices/999/');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ detail: 'No Device matches the given query.' });
    expect((await call('GET', '/api/dcim/devices/abc/')).status).toBe(404);
    expect(missing.headers.get('api-version')).toBe('4.7');
  });

  it('reads an id with leading zeros as the number', async () => {
    const res = await call('GET', '/api/dcim/devices/01/');
    expect(res.status).toBe(200);
    expect(res.json.id).toBe(1);
  });
});

describe('authentication and permissions', () => {
  it('answers 403 with NetBox\'s detail for missing, malformed and unknown tokens', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'Authentication credentials were not provided.'],
      [{ authorization: 'Basic YWRtaW46YWRtaW4=' }, 'Authentication credentials were not provided.'],
      [{ authorization: 'Token' }, 'Invalid authorization header: Must be in the form "Bearer <key>.<token>" or "Token <token>"'],
      [{ authorization: 'Token a b' }, 'Invalid authorization header: Must be in the form "Bearer <key>.<token>" or "Token <token>"'],
      [{ authorization: `Token ${'x'.repeat(40)}` }, 'Invalid v1 token'],
      [{ authorization: 'Bearer nbt_nokey' }, "Invalid authorization header: Could not parse key from v2 token. Did you mean to use 'Token' instead of 'Bearer'?"],
      [{ authorization: 'Bearer nbt_wgsimAdmin01.wrong' }, 'Invalid v2 token'],
    ];
    for (const [headers, message] of cases) {
      const res = await call('GET', '/api/dcim/sites/', { token: null, headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.json).toEqual({ detail: message });
    }
  });

  it('takes v1 tokens as Token and v2 tokens as Bearer, either keyword in any case', async () => {
    expect((await call('GET', '/api/dcim/sites/', { token: SEED_TOKENS.adminV1 })).status).toBe(200);
    expect((await call('GET', '/api/dcim/sites/', { token: null, headers: { authorization: `bearer ${SEED_TOKENS.admin}` } })).status).toBe(200);
    expect((await call('GET', '/api/dcim/sites/', { token: null, headers: { authorization: `TOKEN ${SEED_TOKENS.adminV1}` } })).status).toBe(200);
  });

  it('enforces object permissions and read-only tokens', async () => {
    const viewer = SEED_TOKENS.restricted;
    expect((await call('GET', '/api/dcim/devices/', { token: viewer })).status).toBe(200);
    const created = await call('POST', '/api/dcim/devices/', { token: viewer, body: device('ams1-leaf-03') });
    expect(created.status).toBe(201);
    const denied = await call('DELETE', `/api/dcim/devices/${created.json.id}/`, { token: viewer });
    expect(denied.status).toBe(403);
    expect(denied.json).toEqual({ detail: 'You do not have permission to perform this action.' });
    expect((await call('POST', '/api/dcim/sites/', { token: viewer, body: { name: 'X', slug: 'x' } })).status).toBe(403);
    expect((await call('GET', '/api/dcim/devices/', { token: SEED_TOKENS.readOnly })).status).toBe(200);
    expect((await call('PATCH', `/api/dcim/devices/${created.json.id}/`, { token: SEED_TOKENS.readOnly, body: { serial: 'S' } })).status).toBe(403);
    expect((await call('GET', `/api/dcim/devices/${created.json.id}/`)).json.serial).toBe('');
  });

  it('answers the caller at /api/authentication-check/ and the version at /api/status/', async () => {
    const me = await call('GET', '/api/authentication-check/', { token: SEED_TOKENS.restricted });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ username: 'viewer', groups: [] });
    expect(typeof me.json.id).toBe('number');
    const admin = await call('GET', '/api/authentication-check/');
    expect(admin.json.groups.map((g: { name: string }) => g.name)).toEqual(['netops']);
    expect((await call('GET', '/api/authentication-check/', { token: null })).status).toBe(403);
    const status = await call('GET', '/api/status/');
    expect(status.json['netbox-version']).toBe('4.7.3');
    expect((await call('POST', '/api/status/', { body: {} })).status).toBe(405);
  });
});

describe('objects and absolute URLs', () => {
  it('answers related objects nested, choices as {value, label} and URLs for the host the client reached', async () => {
    const id = await idOf('/api/dcim/devices/', 'name=ams1-leaf-01');
    const direct = await call('GET', `/api/dcim/devices/${id}/`);
    expect(direct.json.url).toBe(`${sim.url}/api/dcim/devices/${id}/`);
    const proxied = await call('GET', `/api/dcim/devices/${id}/`, { headers: { 'x-forwarded-host': 'gw.example:8443', 'x-forwarded-proto': 'https' } });
    const d = proxied.json;
    expect(d.url).toBe(`https://gw.example:8443/netbox/api/dcim/devices/${id}/`);
    expect(d.display_url).toBe(`https://gw.example:8443/netbox/dcim/devices/${id}/`);
    expect(d.site).toMatchObject({ name: 'AMS1', slug: 'ams1', url: expect.stringMatching(/^https:\/\/gw\.example:8443\/netbox\/api\/dcim\/sites\/\d+\/$/) });
    expect(Object.keys(d.site).sort()).toEqual(['description', 'display', 'id', 'name', 'slug', 'url']);
    expect(d.status).toEqual({ value: 'active', label: 'Active' });
    expect(d.tags.map((t: { slug: string }) => t.slug)).toEqual(['protected', 'core']);
    expect(d.primary_ip4).toMatchObject({ address: '10.1.0.1/24', family: { value: 4, label: 'IPv4' } });
    expect(d.last_updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const brief = await call('GET', `/api/dcim/devices/${id}/?brief=1`);
    expect(Object.keys(brief.json).sort()).toEqual(['description', 'display', 'id', 'name', 'url']);
  });

  it('pages lists with limit and offset, links absolute with sorted query parameters, and by cursor', async () => {
    const many = Array.from({ length: 120 }, (_, i) => device(`ams1-leaf-${String(i + 10).padStart(3, '0')}`));
    expect((await call('POST', '/api/dcim/devices/', { body: many })).status).toBe(201);
    const headers = { 'x-forwarded-host': 'gw:8443' };
    const first = await call('GET', '/api/dcim/devices/?site=ams1', { headers });
    expect(first.json.count).toBe(123);
    expect(first.json.results).toHaveLength(50);
    expect(first.json.previous).toBeNull();
    expect(first.json.next).toBe('http://gw:8443/netbox/api/dcim/devices/?limit=50&offset=50&site=ams1');
    const names: string[] = [];
    let next: string | null = `${sim.url}/api/dcim/devices/?site=ams1&limit=40`;
    let pages = 0;
    while (next) {
      const page: Answer = await call('GET', new URL(next).pathname.slice('/netbox'.length) + new URL(next).search);
      names.push(...page.json.results.map((r: { name: string }) => r.name));
      if (pages === 1) expect(page.json.previous).toBe(`${sim.url}/api/dcim/devices/?limit=40&site=ams1`);
      next = page.json.next;
      pages++;
    }
    expect(pages).toBe(4);
    expect(new Set(names).size).toBe(123);
    // Natural order: leaf-01, leaf-02, then leaf-010...
    expect(names.slice(0, 3)).toEqual(['ams1-leaf-01', 'ams1-leaf-02', 'ams1-leaf-010']);
    expect((await call('GET', '/api/dcim/devices/?limit=0')).json.results).toHaveLength(123);
    expect((await call('GET', '/api/dcim/devices/?limit=5000')).json.results).toHaveLength(123);
    const cursor = await call('GET', '/api/dcim/devices/?start=100&limit=10');
    expect(cursor.json.count).toBeNull();
    expect(cursor.json.results.map((r: { id: number }) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
    expect(cursor.json.next).toBe(`${sim.url}/api/dcim/devices/?limit=10&start=110`);
    expect((await call('GET', '/api/dcim/devices/?start=1&offset=2')).status).toBe(400);
  });

  it('filters by field, lookup, related slug or id, tag and q', async () => {
    const names = async (q: string): Promise<string[]> => (await call('GET', `/api/dcim/devices/?${q}`)).json.results.map((r: { name: string }) => r.name);
    expect(await names('status=offline')).toEqual(['ams1-spare-01']);
    expect(await names('status=offline&status=active')).toHaveLength(3);
    expect(await names('tag=protected')).toEqual(['ams1-leaf-01']);
    expect(await names('name__ic=LEAF')).toEqual(['ams1-leaf-01', 'ams1-leaf-02']);
    expect(await names('name__n=ams1-leaf-01')).toEqual(['ams1-leaf-02', 'ams1-spare-01']);
    expect(await names('q=spare')).toEqual(['ams1-spare-01']);
    const site = await idOf('/api/dcim/sites/', 'slug=ams1');
    expect(await names(`site_id=${site}`)).toHaveLength(3);
    expect(await names(`site_id=${site + 1}`)).toEqual([]);
    const bad = await call('GET', '/api/dcim/devices/?id=x');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ id: ['Enter a number.'] });
  });
});

describe('writes', () => {
  it('creates, updates with If-Match, and deletes one object', async () => {
    const created = await call('POST', '/api/dcim/devices/', { body: device('ams1-leaf-03', { status: 'planned', tags: [{ slug: 'core' }] }) });
    expect(created.status).toBe(201);
    const id = created.json.id;
    const etag = created.headers.get('etag');
    expect(etag).toMatch(/^W\/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"$/);
    expect((await call('GET', `/api/dcim/devices/${id}/`)).headers.get('etag')).toBe(etag);

    const patched = await call('PATCH', `/api/dcim/devices/${id}/`, { body: { serial: 'SN1' }, headers: { 'if-match': etag! } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ serial: 'SN1', status: { value: 'planned' }, name: 'ams1-leaf-03' });
    const newTag = patched.headers.get('etag');
    expect(newTag).not.toBe(etag);

    const stale = await call('PATCH', `/api/dcim/devices/${id}/`, { body: { serial: 'SN2' }, headers: { 'if-match': etag! } });
    expect(stale.status).toBe(412);
    expect(stale.json).toEqual({ detail: 'Precondition failed.' });
    expect(stale.headers.get('etag')).toBe(newTag);
    expect((await call('DELETE', `/api/dcim/devices/${id}/`, { headers: { 'if-match': etag! } })).status).toBe(412);
    expect((await call('GET', `/api/dcim/devices/${id}/`)).json.serial).toBe('SN1');
    expect((await call('PATCH', `/api/dcim/devices/${id}/`, { body: { serial: 'SN3' }, headers: { 'if-match': '*' } })).status).toBe(200);

    const put = await call('PUT', `/api/dcim/devices/${id}/`, { body: { name: 'ams1-leaf-04' } });
    expect(put.status).toBe(400);
    expect(put.json).toEqual({ device_type: ['This field is required.'], role: ['This field is required.'], site: ['This field is required.'] });

    const deleted = await call('DELETE', `/api/dcim/devices/${id}/`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await call('GET', `/api/dcim/devices/${id}/`)).status).toBe(404);
  });

  it('answers field errors as NetBox does', async () => {
    const cases: Array<[Record<string, unknown>, Record<string, string[]>]> = [
      [device('ams1-leaf-01'), { __all__: ['Device name must be unique per site.'] }],
      [device('AMS1-LEAF-01'), { __all__: ['Device name must be unique per site.'] }],
      [device('x', { status: 'broken' }), { status: ['broken is not a valid choice.'] }],
      [device('x', { status: { value: 'active' } }), { status: ['Value must be passed directly (e.g. "foo": 123); do not use a dictionary or list.'] }],
      [device('x', { site: 999 }), { site: ['Related object not found using the provided numeric ID: 999'] }],
      [device('x', { site: { slug: 'nope' } }), { site: ["Related object not found using the provided attributes: {'slug': 'nope'}"] }],
      [device('x', { site: 'ams1' }), { site: ['Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: ams1'] }],
      [device('x', { tags: 'protected' }), { tags: ['Expected a list of items but got type "str".'] }],
      [device('x'.repeat(65)), { name: ['Ensure this field has no more than 64 characters.'] }],
      [{ name: 'x' }, { device_type: ['This field is required.'], role: ['This field is required.'], site: ['This field is required.'] }],
    ];
    for (const [body, errors] of cases) {
      const res = await call('POST', '/api/dcim/devices/', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toEqual(errors);
    }
    const list = await call('POST', '/api/dcim/devices/', { raw: '"x"' });
    expect(list.json).toEqual({ non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] });
    const media = await call('POST', '/api/dcim/devices/', { raw: 'name=x', headers: { 'content-type': 'text/plain' } });
    expect(media.status).toBe(415);
    expect(media.json).toEqual({ detail: 'Unsupported media type "text/plain" in request.' });
    const json = await call('POST', '/api/dcim/devices/', { raw: '{"name": ' });
    expect(json.status).toBe(400);
    expect(json.json.detail).toMatch(/^JSON parse error - /);
    expect((await call('POST', '/api/dcim/devices/1/', { body: {} })).json).toEqual({ detail: 'Method "POST" not allowed.' });
  });

  it('stores a prefix as its network and an address with its host bits', async () => {
    const prefix = await call('POST', '/api/ipam/prefixes/', { body: { prefix: '10.2.3.4/16' } });
    expect(prefix.status).toBe(201);
    expect(prefix.json).toMatchObject({ prefix: '10.2.0.0/16', display: '10.2.0.0/16', family: { value: 4, label: 'IPv4' } });
    const v6 = await call('POST', '/api/ipam/prefixes/', { body: { prefix: '2001:DB8:0:0:1::/64' } });
    expect(v6.json).toMatchObject({ prefix: '2001:db8::/64', family: { value: 6, label: 'IPv6' } });
    const ip = await call('POST', '/api/ipam/ip-addresses/', { body: { address: '10.2.3.4/16' } });
    expect(ip.json.address).toBe('10.2.3.4/16');
    const bad = await call('POST', '/api/ipam/prefixes/', { body: { prefix: '10.0.0.300/8' } });
    expect(bad.json).toEqual({ prefix: ['Invalid IP prefix format: 10.0.0.300/8'] });
  });

  it('applies bulk creates, updates and deletes all or none', async () => {
    const count = async (): Promise<number> => (await call('GET', '/api/dcim/devices/')).json.count;
    const createBad = await call('POST', '/api/dcim/devices/', { body: [device('ams1-leaf-05'), device('ams1-leaf-06', { status: 'nope' })] });
    expect(createBad.status).toBe(400);
    expect(createBad.json).toEqual([{}, { status: ['nope is not a valid choice.'] }]);
    expect(await count()).toBe(3);
    const created = await call('POST', '/api/dcim/devices/', { body: [device('ams1-leaf-05'), device('ams1-leaf-06')] });
    expect(created.status).toBe(201);
    const [a, b] = created.json.map((d: { id: number }) => d.id);

    const patchBad = await call('PATCH', '/api/dcim/devices/', { body: [{ id: a, serial: 'A' }, { id: b, status: 'nope' }] });
    expect(patchBad.status).toBe(400);
    expect(patchBad.json).toEqual({ status: ['nope is not a valid choice.'] });
    expect((await call('GET', `/api/dcim/devices/${a}/`)).json.serial).toBe('');
    const patched = await call('PATCH', '/api/dcim/devices/', { body: [{ id: b, serial: 'B' }, { id: a, serial: 'A' }, { id: 9999, serial: 'none' }] });
    expect(patched.status).toBe(200);
    expect(patched.json.map((d: { serial: string }) => d.serial)).toEqual(['A', 'B']);
    expect((await call('PATCH', '/api/dcim/devices/', { body: { id: a } })).json).toEqual({ non_field_errors: ['Expected a list of items but got type "dict".'] });
    expect((await call('DELETE', '/api/dcim/devices/', { body: [{ id: a }, { name: 'x' }] })).json).toEqual([{}, { id: ['This field is required.'] }]);

    // A site with devices is protected: the whole bulk delete is refused with 409.
    const site = await call('POST', '/api/dcim/sites/', { body: { name: 'Empty', slug: 'empty' } });
    const ams1 = await idOf('/api/dcim/sites/', 'slug=ams1');
    const protectedDelete = await call('DELETE', '/api/dcim/sites/', { body: [{ id: site.json.id }, { id: ams1 }] });
    expect(protectedDelete.status).toBe(409);
    expect(protectedDelete.json.detail).toMatch(/^Unable to delete object\. 5 dependent objects were found: ams1-leaf-01 \(1\), /);
    expect((await call('GET', `/api/dcim/sites/${site.json.id}/`)).status).toBe(200);

    expect((await call('DELETE', '/api/dcim/devices/', { body: [{ id: a }, { id: String(b) }] })).status).toBe(204);
    expect(await count()).toBe(3);
  });

  it('clears a SET_NULL relation and takes a deleted tag off its objects', async () => {
    const ip = await idOf('/api/ipam/ip-addresses/', 'address=10.1.0.1/24');
    const leaf = await idOf('/api/dcim/devices/', 'name=ams1-leaf-01');
    expect((await call('DELETE', `/api/ipam/ip-addresses/${ip}/`)).status).toBe(204);
    const tag = await idOf('/api/extras/tags/', 'slug=core');
    expect((await call('DELETE', `/api/extras/tags/${tag}/`)).status).toBe(204);
    const d = (await call('GET', `/api/dcim/devices/${leaf}/`)).json;
    expect(d.primary_ip4).toBeNull();
    expect(d.tags.map((t: { slug: string }) => t.slug)).toEqual(['protected']);
  });
});

describe('GraphQL', () => {
  const gql = (query: string, extra: Record<string, unknown> = {}, token: string | null = SEED_TOKENS.admin) => call('POST', '/graphql/', { body: { query, ...extra }, token });

  it('answers queries with nested objects, aliases, variables and pagination', async () => {
    const res = await gql('query Leaves($id: ID!) { one: device(id: $id) { name status site { slug } tags { name } } device_list(pagination: {limit: 2}) { id __typename } }', { variables: { id: 1 } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      data: {
        one: { name: 'ams1-leaf-01', status: 'active', site: { slug: 'ams1' }, tags: [{ name: 'protected' }, { name: 'core' }] },
        device_list: [{ id: '1', __typename: 'DeviceType' }, { id: '2', __typename: 'DeviceType' }],
      },
    });
    const viewer = await gql('{ site_list { name } }', {}, SEED_TOKENS.restricted);
    expect(viewer.json).toEqual({ data: { site_list: [{ name: 'AMS1' }] } });
  });

  it('refuses mutations, unknown fields and bad syntax with GraphQL errors', async () => {
    const mutation = await gql('mutation { create_device(name: "x") { id } }');
    expect(mutation.status).toBe(200);
    expect(mutation.json.data).toBeNull();
    expect(mutation.json.errors[0].message).toBe('Schema is not configured to execute mutation operation.');
    expect((await gql('{ device_list { nope } }')).json.errors[0].message).toBe("Cannot query field 'nope' on type 'DeviceType'.");
    expect((await gql('{ device_list { name ')).json.errors[0].message).toMatch(/^Syntax Error/);
  });

  it('answers plain-text 403s for missing or bad credentials', async () => {
    const none = await gql('{ site_list { name } }', {}, null);
    expect(none.status).toBe(403);
    expect(none.text).toBe('No credentials provided.');
    const bad = await call('POST', '/graphql/', { body: { query: '{ site_list { name } }' }, token: `${'y'.repeat(40)}` });
    expect(bad.status).toBe(403);
    expect(bad.text).toBe('Invalid v1 token');
  });
});
