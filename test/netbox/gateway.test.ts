/**
 * The netbox kind in front of a real NetBox 4.7 (test/netbox/harness.ts) with real OPA and the starter policies
 * (policies/netbox/): plain HTTP and pynetbox through the gateway's mount, NetBox's own state checked directly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { authorization, SEED, startNetBox, type NetBox } from './harness.js';
import { pynetbox } from './pynetbox.js';

const MOUNT = '/netbox';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function inputSchema(): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  for (const name of ['common', 'netbox']) {
    ajv.addSchema(JSON.parse(readFileSync(join(projectRoot(), 'policies/schemas', name, `${name}.input.schema.json`), 'utf8')));
  }
  return ajv.getSchema('https://writegate.dev/schemas/v1/netbox.input.schema.json')!;
}

describe('netbox kind: a real NetBox behind the gateway', () => {
  let netbox: NetBox;
  let stack: Stack;
  let gw: string;
  let ids: { site: number; deviceType: number; role: number; tag: number };
  const validate = inputSchema();

  /** A request through the gateway's NetBox mount. */
  const viaGateway = async (method: string, path: string, init: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const payload = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    const res = await request(`${gw}${path}`, {
      method: method as 'GET',
      dispatcher: stack.dispatcher,
      headers: {
        authorization: authorization(init.token ?? netbox.tokens.admin.v2),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  /** A request to NetBox itself, past the gateway: what is stored. `as` makes NetBox build URLs for the gateway. */
  const direct = async (method: string, path: string, body?: unknown, as?: URL): Promise<Answer> => {
    const res = await fetch(`${netbox.url}${path}`, {
      method,
      headers: {
        authorization: authorization(netbox.tokens.admin.v2),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(as ? { 'x-forwarded-host': as.host, 'x-forwarded-proto': as.protocol.slice(0, -1) } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: Object.fromEntries(res.headers), body: text ? JSON.parse(text) : undefined };
  };

  const device = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name, device_type: ids.deviceType, role: ids.role, site: ids.site, ...extra,
  });

  const devicesNamed = async (name: string): Promise<number> => (await direct('GET', `/api/dcim/devices/?name=${encodeURIComponent(name)}`)).body.count;

  /** The decision record of a response, by its X-Decision-Id. */
  const decisionOf = (res: Answer): DecisionEvent => {
    const id = res.headers['x-decision-id'];
    expect(typeof id).toBe('string');
    const found = stack.decisions().filter((d) => d.decision_id === id);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  /** The input of a decision, checked against the netbox kind's JSON Schema. */
  const inputOf = (d: DecisionEvent): any => {
    const ok = validate(d.input);
    expect(ok, JSON.stringify(validate.errors)).toBe(true);
    return d.input;
  };

  beforeAll(async () => {
    netbox = await startNetBox({ basePath: MOUNT.slice(1) });
    stack = await startStack({
      kinds: [{ name: 'netbox', kind: 'netbox', prefix: MOUNT, target: netbox.url, policy: 'writegate/netbox/decision' }],
      // Denied and refused writes are logged whole here (a device with its current object is larger than the
      // default 4 KiB of a refused record), and not rate-limited, so that each can be checked.
      decisionLog: { refusedInputBytes: 1024 * 1024, refusedPerSecond: 1000, refusedBurst: 1000 },
    });
    gw = stack.url('netbox');
  });

  afterAll(async () => {
    await stack?.close();
    await netbox?.stop();
  });

  beforeEach(async () => {
    await netbox.reset();
    const one = async (path: string, slug: string): Promise<number> => (await direct('GET', `${path}?slug=${slug}`)).body.results[0].id;
    ids = {
      site: await one('/api/dcim/sites/', SEED.objects.site.slug),
      deviceType: await one('/api/dcim/device-types/', SEED.objects.deviceType.slug),
      role: await one('/api/dcim/device-roles/', SEED.objects.deviceRole.slug),
      tag: await one('/api/extras/tags/', SEED.objects.tag.slug),
    };
  });

  it('allows a create that follows the naming pattern, records it, and answers URLs at the gateway mount', async () => {
    const res = await viaGateway('POST', '/api/dcim/devices/', { body: device('ams1-leaf-01') });
    expect(res.status).toBe(201);
    expect(res.body.url).toBe(`${gw}/api/dcim/devices/${res.body.id}/`);
    const d = decisionOf(res);
    expect(d.outcome).toBe('allowed');
    const input = inputOf(d);
    expect(input.request).toMatchObject({
      operation: 'CREATE', resource: 'dcim/devices', app: 'dcim', model: 'devices', id: null, name: '',
      object: device('ams1-leaf-01'), oldObject: null,
      userInfo: { username: 'admin', authenticatedBy: 'upstream' },
    });
    expect(await devicesNamed('ams1-leaf-01')).toBe(1);
  });

  it('denies a create whose name breaks the pattern with NetBox\'s {"detail"} naming the rule and the decision, and NetBox stores nothing', async () => {
    const res = await viaGateway('POST', '/api/dcim/devices/', { body: device('AMS1 leaf 5') });
    expect(res.status).toBe(403);
    expect(Object.keys(res.body)).toEqual(['detail']);
    expect(res.body.detail).toContain('[device-name-pattern]');
    expect(res.body.detail).toContain(`(decision ${String(res.headers['x-decision-id'])})`);
    const d = decisionOf(res);
    expect(d.outcome).toBe('denied');
    inputOf(d);
    expect(await devicesNamed('AMS1 leaf 5')).toBe(0);
  });

  it('denies a bulk create whole when one element violates, naming the element; neither device is stored', async () => {
    const res = await viaGateway('POST', '/api/dcim/devices/', { body: [device('ams1-leaf-04'), device('AMS1 leaf 5')] });
    expect(res.status).toBe(403);
    expect(res.body.detail).toContain('items[1]: device name "AMS1 leaf 5"');
    expect(res.body.detail).not.toContain('items[0]');
    const input = inputOf(decisionOf(res));
    expect(input.request.items.map((i: any) => i.object.name)).toEqual(['ams1-leaf-04', 'AMS1 leaf 5']);
    expect((await direct('GET', '/api/dcim/devices/')).body.count).toBe(0);

    const ok = await viaGateway('POST', '/api/dcim/devices/', { body: [device('ams1-leaf-04'), device('ams1-leaf-05')] });
    expect(ok.status).toBe(201);
    expect((await direct('GET', '/api/dcim/devices/')).body.count).toBe(2);
  });

  it('judges an update and a delete with the current object exactly as NetBox stores it', async () => {
    const created = await direct('POST', '/api/dcim/devices/', device('ams1-leaf-01', { status: 'active', tags: [ids.tag] }));
    expect(created.status).toBe(201);
    const path = `/api/dcim/devices/${created.body.id}/`;
    const stored = (await direct('GET', path, undefined, new URL(gw))).body;

    const renamed = await viaGateway('PATCH', path, { body: { name: 'bad name' } });
    expect(renamed.status).toBe(403);
    const update = inputOf(decisionOf(renamed)).request;
    expect(update).toMatchObject({ operation: 'UPDATE', id: created.body.id, name: String(created.body.id) });
    expect(update.oldObject).toEqual(stored);
    expect(update.object).toEqual({ ...stored, name: 'bad name' });
    expect((await direct('GET', path)).body.name).toBe('ams1-leaf-01');

    // Active and tagged protected: two rules deny, and the answer names both.
    const del = await viaGateway('DELETE', path);
    expect(del.status).toBe(403);
    expect(del.body.detail).toContain('[active-device-delete]');
    expect(del.body.detail).toContain('[protected-delete]');
    const deletion = inputOf(decisionOf(del)).request;
    expect(deletion).toMatchObject({ operation: 'DELETE', object: null, body: null });
    expect(deletion.oldObject).toEqual(stored);
    expect((await direct('GET', path)).status).toBe(200);

    // A client's own stale If-Match is left as it is: NetBox refuses the write.
    const stale = await viaGateway('PATCH', path, { body: { serial: 'SN-0' }, headers: { 'if-match': 'W/"2000-01-01T00:00:00+00:00"' } });
    expect(stale.status).toBe(412);
    // Allowed writes are pinned by If-Match to the version judged (NetBox's ETag of the current object).
    const judged = (await direct('GET', path)).headers.etag;
    expect(judged).toMatch(/^W\/"/);
    const offline = await viaGateway('PATCH', path, { body: { status: 'offline', tags: [] } });
    expect(offline.status).toBe(200);
    expect(decisionOf(offline)).toMatchObject({ outcome: 'allowed', precondition: { etag: judged } });
    const gone = await viaGateway('DELETE', path);
    expect(gone.status).toBe(204);
    expect(decisionOf(gone)).toMatchObject({ outcome: 'allowed', precondition: { etag: offline.headers.etag } });
    expect((await direct('GET', path)).status).toBe(404);
  });

  it('judges each element of a bulk delete against its stored object and deletes none when one is protected', async () => {
    const made = await direct('POST', '/api/dcim/devices/', [
      device('ams1-leaf-01', { status: 'offline' }),
      device('ams1-leaf-02', { status: 'offline', tags: [ids.tag] }),
    ]);
    expect(made.status).toBe(201);
    const [a, b] = made.body as { id: number }[];
    const res = await viaGateway('DELETE', '/api/dcim/devices/', { body: [{ id: a!.id }, { id: b!.id }] });
    expect(res.status).toBe(403);
    expect(res.body.detail).toContain('items[1]: dcim/devices "ams1-leaf-02"');
    const input = inputOf(decisionOf(res)).request;
    expect(input.items.map((i: any) => [i.operation, i.id, i.oldObject.name])).toEqual([['DELETE', a!.id, 'ams1-leaf-01'], ['DELETE', b!.id, 'ams1-leaf-02']]);
    expect((await direct('GET', '/api/dcim/devices/')).body.count).toBe(2);
  });

  it('reads pass without a decision: GraphQL queries and /api/status/; a GraphQL mutation is refused', async () => {
    const before = stack.decisions().length;
    const status = await viaGateway('GET', '/api/status/');
    expect(status.status).toBe(200);
    expect(status.body['netbox-version']).toMatch(/^4\.7\./);
    const q = await viaGateway('POST', '/graphql/', { body: { query: `query { site_list { name slug } }` } });
    expect(q.status).toBe(200);
    expect(q.body.data.site_list).toEqual([{ name: SEED.objects.site.name, slug: SEED.objects.site.slug }]);
    expect(stack.decisions()).toHaveLength(before);
    // A client's own X-Forwarded-Host does not move the URLs NetBox answers away from the gateway's mount.
    const spoofed = await viaGateway('GET', '/api/dcim/sites/', { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' } });
    expect(spoofed.body.results[0].url).toBe(`${gw}/api/dcim/sites/${ids.site}/`);

    const m = await viaGateway('POST', '/graphql/', { body: { query: '# a comment\nmutation { delete_site(id: 1) { id } }' } });
    expect(m.status).toBe(400);
    expect(m.body.detail).toContain('[WG_ERR_BAD_REQUEST]');
    expect(decisionOf(m).outcome).toBe('error');
  });

  it('refuses what NetBox would read otherwise: no trailing slash, non-JSON, duplicate keys, a header with "_", a string id in a bulk update', async () => {
    const cases: [string, string, Parameters<typeof viaGateway>[2], string][] = [
      ['POST', '/api/dcim/devices', { body: device('ams1-leaf-01') }, 'WG_ERR_BAD_PATH'],
      ['POST', '/api/dcim/devices/', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'WG_ERR_UNSUPPORTED_MEDIA_TYPE'],
      ['POST', '/api/dcim/devices/', { raw: `{"name": "ams1-leaf-01", "name": "BAD NAME", "site": ${ids.site}}` }, 'WG_ERR_MALFORMED_BODY'],
      ['GET', '/api/ipam/netbox/api/dcim/sites/', { headers: { SCRIPT_NAME: '/netbox/api/ipam' } }, 'WG_ERR_BAD_REQUEST'],
      ['PATCH', '/api/dcim/devices/', { body: [{ id: '1', name: 'x' }] }, 'WG_ERR_BAD_REQUEST'],
    ];
    for (const [method, path, init, code] of cases) {
      const res = await viaGateway(method, path, init);
      expect(res.body.detail, `${method} ${path}`).toContain(`[${code}]`);
      expect(decisionOf(res).outcome).toBe('error');
    }
    expect((await direct('GET', '/api/dcim/devices/')).body.count).toBe(0);
  });

  it('identifies the caller as NetBox does (restricted user, v1 token) and masks a password in the decision log', async () => {
    const res = await viaGateway('POST', '/api/dcim/devices/', { body: device('ams1-leaf-07'), token: netbox.tokens.restricted.v1 });
    expect(res.status).toBe(201);
    const d = decisionOf(res);
    expect(d.caller.username).toBe('restricted');
    expect(inputOf(d).request.userInfo).toMatchObject({ username: 'restricted', authenticatedBy: 'upstream' });

    const user = await viaGateway('POST', '/api/users/users/', { body: { username: 'bob', password: 'Sup3r-secret-pw!' } });
    expect(user.status).toBe(201);
    const logged = JSON.stringify(decisionOf(user));
    expect(logged).not.toContain('Sup3r-secret-pw!');
    expect(inputOf(decisionOf(user)).request.body.password).toBe('**masked**');
    // No credential reaches the decision log, whichever token scheme the caller used.
    const log = readFileSync(stack.logPath, 'utf8');
    for (const t of [netbox.tokens.admin.v2, netbox.tokens.restricted.v1, SEED.users.admin.tokens.v2.secret]) expect(log).not.toContain(t);
  });

  it('pynetbox creates, saves and deletes through the gateway by the URLs NetBox answered, and sees a deny as a RequestError', async () => {
    const before = stack.decisions().length;
    const out = await pynetbox<{ url: string; saved: string; deleted: boolean; denied: { status: number; detail: string } }>(
      { url: gw, token: netbox.tokens.admin.v2 }, `
# requests lets REQUESTS_CA_BUNDLE from the environment override a session's verify unless trust_env is off.
nb.http_session.trust_env = False
nb.http_session.verify = args['ca']
dev = nb.dcim.devices.create(name='ams1-leaf-01', site=args['site'], device_type=args['deviceType'], role=args['role'])
dev.serial = 'SN-1'
assert dev.save()
saved = nb.dcim.devices.get(dev.id).serial
denied = None
try:
    nb.dcim.devices.create(name='Bad Name', site=args['site'], device_type=args['deviceType'], role=args['role'])
except pynetbox.RequestError as err:
    denied = {'status': err.req.status_code, 'detail': err.req.json()['detail']}
dev.status = 'offline'
assert dev.save()
result = {'url': dev.url, 'saved': saved, 'deleted': dev.delete(), 'denied': denied}
`, { ca: stack.certs.caCert, site: ids.site, deviceType: ids.deviceType, role: ids.role });
    expect(out, JSON.stringify(out)).toMatchObject({ ok: true, result: { saved: 'SN-1', deleted: true, denied: { status: 403 } } });
    if (!out.ok) return;
    expect(out.result.url).toMatch(new RegExp(`^${gw}/api/dcim/devices/\\d+/$`));
    expect(out.result.denied.detail).toContain('[device-name-pattern]');
    // Each write pynetbox made by a URL NetBox answered has its decision: they came through the gate.
    const id = out.result.url.split('/').at(-2);
    const writes = stack.decisions().map((d) => `${d.method} ${d.url} ${d.outcome}`);
    expect(writes).toEqual(expect.arrayContaining([
      'POST /api/dcim/devices/ allowed',
      'POST /api/dcim/devices/ denied',
      `PATCH /api/dcim/devices/${id}/ allowed`,
      `DELETE /api/dcim/devices/${id}/ allowed`,
    ]));
    expect((await direct('GET', `/api/dcim/devices/${id}/`)).status).toBe(404);
    // The starter policy's allows are decided in-process by the residual engine; denies come from OPA.
    const decided = stack.decisions().slice(before);
    expect(decided.filter((d) => d.outcome === 'allowed').map((d) => d.engine)).toEqual(['residual', 'residual', 'residual', 'residual']);
    expect(decided.filter((d) => d.outcome === 'denied').map((d) => d.engine)).toEqual(['opa']);
  });

  it('pages through more than one page with pynetbox .all(), every next link at the gateway mount', async () => {
    const sites = Array.from({ length: 60 }, (_, i) => ({ name: `Bulk ${i}`, slug: `bulk-${i}` }));
    const created = await viaGateway('POST', '/api/dcim/sites/', { body: sites });
    expect(created.status).toBe(201);
    expect(inputOf(decisionOf(created)).request.items).toHaveLength(60);

    const page = await viaGateway('GET', '/api/dcim/sites/?limit=7');
    expect(page.body.next).toBe(`${gw}/api/dcim/sites/?limit=7&offset=7`);
    const out = await pynetbox<{ slugs: string[] }>({ url: gw, token: netbox.tokens.admin.v1 }, `
# requests lets REQUESTS_CA_BUNDLE from the environment override a session's verify unless trust_env is off.
nb.http_session.trust_env = False
nb.http_session.verify = args['ca']
result = {'slugs': [r.slug for r in nb.dcim.sites.all(limit=7)]}
`, { ca: stack.certs.caCert });
    expect(out.ok, JSON.stringify(out)).toBe(true);
    if (!out.ok) return;
    expect(out.result.slugs).toHaveLength(61);
    expect(new Set(out.result.slugs)).toEqual(new Set([SEED.objects.site.slug, ...sites.map((s) => s.slug)]));
  });
});
