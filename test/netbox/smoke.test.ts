import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authorization, SEED, startNetBox, type NetBox } from './harness.js';
import { pynetbox } from './pynetbox.js';

const MOUNT = '/netbox';

/**
 * A stand-in for the gateway's NetBox mount: forwards `/netbox/...` to NetBox
 * unchanged (NetBox serves under BASE_PATH `netbox/`) with X-Forwarded-Host,
 * and records every request it sees. A URL NetBox returned that pointed at
 * NetBox itself would bypass it, so the record shows what a client followed.
 */
async function mountProxy(netbox: NetBox): Promise<{ origin: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const target = new URL(netbox.origin);
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (!req.url?.startsWith(`${MOUNT}/`)) {
      res.writeHead(404).end();
      return;
    }
    const upstream = httpRequest({
      host: target.hostname, port: target.port, method: req.method, path: req.url,
      headers: { ...req.headers, 'x-forwarded-host': req.headers.host, 'x-forwarded-proto': 'http' },
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('real NetBox harness', () => {
  let netbox: NetBox;
  let proxy: Awaited<ReturnType<typeof mountProxy>>;
  let viaProxy: string;

  const api = async (path: string, init: { method?: string; token?: string; body?: unknown; base?: string } = {}) => {
    const res = await fetch(`${init.base ?? netbox.url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: authorization(init.token ?? netbox.tokens.admin.v2),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    netbox = await startNetBox({ basePath: 'netbox' });
    proxy = await mountProxy(netbox);
    viaProxy = `${proxy.origin}${MOUNT}`;
  });

  afterAll(async () => {
    await proxy?.close();
    await netbox?.stop();
  });

  beforeEach(async () => {
    await netbox.reset();
    proxy.seen.length = 0;
  });

  it('serves under the base path and accepts the seeded v1 and v2 tokens of both users', async () => {
    expect(netbox.url).toBe(`${netbox.origin}/netbox`);
    for (const user of ['admin', 'restricted'] as const) {
      for (const version of ['v1', 'v2'] as const) {
        const res = await api('/api/status/', { token: netbox.tokens[user][version] });
        expect(res.status, `${user} ${version}`).toBe(200);
        expect(res.body['netbox-version']).toMatch(/^4\.7\./);
      }
    }
    expect((await api('/api/status/', { token: 'x'.repeat(40) })).status).toBe(403);
    // Outside BASE_PATH there is nothing: a mount that stripped the prefix would miss every route.
    expect((await fetch(`${netbox.origin}/api/status/`)).status).toBe(404);
  });

  it('returns absolute URLs at the mount the X-Forwarded-Host names, and at itself without it', async () => {
    const direct = await api('/api/dcim/sites/');
    expect(direct.body.results[0].url).toMatch(new RegExp(`^${netbox.origin}/netbox/api/dcim/sites/\\d+/$`));
    const proxied = await api('/api/dcim/sites/', { base: viaProxy });
    expect(proxied.body.results[0].url).toMatch(new RegExp(`^${proxy.origin}/netbox/api/dcim/sites/\\d+/$`));
  });

  it('takes a SCRIPT_NAME header from a loopback peer as the split between mount and route (what a gateway must never forward)', async () => {
    // gunicorn moves a SCRIPT_NAME header from a trusted peer (forwarded_allow_ips,
    // default 127.0.0.1; forwarder_headers, default SCRIPT_NAME,PATH_INFO) into
    // the WSGI environ and routes only the rest of the path (gunicorn/http/wsgi.py).
    const path = '/netbox/api/ipam/netbox/api/dcim/sites/';
    const plain = await fetch(`${netbox.origin}${path}`, { headers: { authorization: authorization(netbox.tokens.admin.v1) } });
    expect(plain.status).toBe(404);
    await plain.arrayBuffer();
    const split = await fetch(`${netbox.origin}${path}`, {
      headers: { authorization: authorization(netbox.tokens.admin.v1), SCRIPT_NAME: '/netbox/api/ipam' },
    });
    expect(split.status).toBe(200);
    expect((await split.json()).results[0].slug).toBe(SEED.objects.site.slug);
  });

  it('pynetbox creates, saves and deletes a device through the mount', async () => {
    const { site, deviceType, deviceRole } = SEED.objects;
    const out = await pynetbox<{ created: { id: number; url: string }; saved: string; deleted: boolean; after: unknown }>(
      { url: viaProxy, token: netbox.tokens.admin.v2 }, `
site = nb.dcim.sites.get(slug=args['site'])
dt = nb.dcim.device_types.get(slug=args['deviceType'])
role = nb.dcim.device_roles.get(slug=args['deviceRole'])
dev = nb.dcim.devices.create(name='sw1', site=site.id, device_type=dt.id, role=role.id)
created = dict(dev)
dev.serial = 'SN-1'
assert dev.save()
saved = nb.dcim.devices.get(dev.id).serial
deleted = dev.delete()
result = {'created': created, 'saved': saved, 'deleted': deleted, 'after': nb.dcim.devices.get(dev.id)}
`, { site: site.slug, deviceType: deviceType.slug, deviceRole: deviceRole.slug });
    expect(out).toMatchObject({ ok: true, result: { saved: 'SN-1', deleted: true, after: null } });
    if (!out.ok) return;
    const { id, url } = out.result.created;
    expect(url).toBe(`${proxy.origin}/netbox/api/dcim/devices/${id}/`);
    expect(proxy.seen).toEqual(expect.arrayContaining([
      'POST /netbox/api/dcim/devices/',
      `PATCH /netbox/api/dcim/devices/${id}/`,
      `DELETE /netbox/api/dcim/devices/${id}/`,
    ]));
  });

  it('pynetbox .all() pages through more than 50 objects by following the next links through the mount', async () => {
    const sites = Array.from({ length: 60 }, (_, i) => ({ name: `Bulk ${i}`, slug: `bulk-${i}` }));
    // A list body is a bulk create: one request, all or nothing.
    const created = await api('/api/dcim/sites/', { method: 'POST', body: sites, base: viaProxy });
    expect(created.status).toBe(201);
    expect(created.body).toHaveLength(60);

    proxy.seen.length = 0;
    const out = await pynetbox<{ slugs: string[]; count: number }>({ url: viaProxy, token: netbox.tokens.admin.v1 }, `
records = list(nb.dcim.sites.all(limit=7))
result = {'slugs': [r.slug for r in records], 'count': nb.dcim.sites.count()}
`);
    expect(out).toMatchObject({ ok: true, result: { count: 61 } });
    if (!out.ok) return;
    expect(new Set(out.result.slugs)).toEqual(new Set([SEED.objects.site.slug, ...sites.map((s) => s.slug)]));
    // pynetbox asks for the first two pages itself and follows `next` from
    // there (pynetbox/core/query.py Request.get): 9 pages of 7, every one
    // through the proxy, none straight at NetBox.
    const pages = proxy.seen.filter((r) => r.startsWith('GET /netbox/api/dcim/sites/?limit=7'));
    expect(pages).toHaveLength(9);
    expect(pages.at(-1)).toContain('offset=56');

    // Cursor pagination (NetBox 4.6+) follows every next link from the first page on.
    proxy.seen.length = 0;
    const cursor = await pynetbox<string[]>({ url: viaProxy, token: netbox.tokens.admin.v1 }, `
api = pynetbox.api(url, token=token, pagination='cursor')
result = [r.slug for r in api.dcim.sites.all(limit=7)]
`);
    expect(cursor.ok && new Set(cursor.result)).toEqual(new Set(out.result.slugs));
    const cursorPages = proxy.seen.filter((r) => r.startsWith('GET /netbox/api/dcim/sites/?') && r.includes('start='));
    expect(cursorPages).toHaveLength(9);
  });

  it('a bulk create with one invalid element is refused whole and stores nothing', async () => {
    const out = await pynetbox<number>({ url: viaProxy, token: netbox.tokens.admin.v2 }, `
nb.dcim.sites.create([{'name': 'Good', 'slug': 'good'}, {'name': 'Bad', 'slug': 'not a slug!'}])
`);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.error).toMatchObject({ type: 'RequestError', status: 400, method: 'POST' });
    expect(JSON.parse(out.error.body ?? '')).toMatchObject({ errors: [expect.objectContaining({ index: 1 })] });
    const sites = await api('/api/dcim/sites/?slug=good');
    expect(sites.body.count).toBe(0);
  });

  it('answers GraphQL reads on POST /graphql/', async () => {
    const res = await api('/graphql/', { method: 'POST', base: viaProxy, body: { query: '{ site_list { slug } }' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { site_list: [{ slug: SEED.objects.site.slug }] } });
  });

  it('enforces the restricted user\'s permissions itself', async () => {
    const { site, deviceType, deviceRole } = SEED.objects;
    const token = netbox.tokens.restricted.v2;
    const ids = {
      site: (await api(`/api/dcim/sites/?slug=${site.slug}`)).body.results[0].id,
      device_type: (await api(`/api/dcim/device-types/?slug=${deviceType.slug}`)).body.results[0].id,
      role: (await api(`/api/dcim/device-roles/?slug=${deviceRole.slug}`)).body.results[0].id,
    };
    const created = await api('/api/dcim/devices/', { method: 'POST', token, body: { name: 'r1', ...ids } });
    expect(created.status).toBe(201);
    const del = await api(`/api/dcim/devices/${created.body.id}/`, { method: 'DELETE', token });
    expect(del.status).toBe(403);
    expect((await api('/api/dcim/sites/', { method: 'POST', token, body: { name: 'No', slug: 'no' } })).status).toBe(403);
  });

  it('reset() puts the database back as seeded', async () => {
    expect((await api('/api/dcim/sites/', { method: 'POST', body: { name: 'Gone', slug: 'gone' } })).status).toBe(201);
    await netbox.reset();
    const sites = await api('/api/dcim/sites/');
    expect(sites.status).toBe(200);
    expect(sites.body.results.map((s: { slug: string }) => s.slug)).toEqual([SEED.objects.site.slug]);
  });
});
