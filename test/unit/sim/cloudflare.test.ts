/**
 * The Cloudflare simulator driven by the official `cloudflare` SDK (a real
 * client: its own paths, query encoding, auto-pagination and error classes),
 * plus raw HTTP checks of envelopes and status codes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Cloudflare from 'cloudflare';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLOUDFLARE_MANAGED_RULESET, DEFAULT_SEED, DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, tokenId, type CloudflareSim } from '../../../sim/cloudflare/index.js';

/** API tokens are 40 characters of [A-Za-z0-9_-]. */
const token = (name: string) => `${name}_`.padEnd(40, 'x');
const TOKEN = token('admin');
const READ_ONLY = token('readonly');
const SCOPED = token('scoped');
const UNKNOWN = token('unknown');
const EMAIL = 'ops@example.com';
const KEY = '0123456789abcdef0123456789abcdef01234';
const ZONE = SEED_IDS.zone;
const ACCOUNT = SEED_IDS.account;
const FREE_ZONE = '0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f';

let sim: CloudflareSim;
let cf: Cloudflare;

/** An SDK client with only the credentials given: the SDK would otherwise read CLOUDFLARE_API_TOKEN and the like from the environment. */
const client = (opts: { apiToken?: string; apiEmail?: string; apiKey?: string }) =>
  new Cloudflare({ baseURL: sim.apiUrl, maxRetries: 0, apiToken: null, apiEmail: null, apiKey: null, userServiceKey: null, ...opts });

/** The APIError a call rejects with (status and Cloudflare's `errors`). */
async function apiError(p: Promise<unknown>): Promise<InstanceType<typeof Cloudflare.APIError>> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Cloudflare.APIError);
  return err as InstanceType<typeof Cloudflare.APIError>;
}

async function raw(method: string, path: string, body?: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  const res = await fetch(sim.apiUrl + path, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, json: (await res.json()) as any };
}

beforeEach(async () => {
  sim = await startCloudflareSim({
    tokens: { [TOKEN]: {}, [READ_ONLY]: { readOnly: true }, [SCOPED]: { zones: ['free.test'] } },
    keys: [{ email: EMAIL, key: KEY }],
    seed: { ...DEFAULT_SEED, zones: [...DEFAULT_SEED.zones, { id: FREE_ZONE, name: 'free.test', plan: 'free', records: [{ type: 'A', name: '@', content: '198.51.100.1' }] }] },
  });
  cf = client({ apiToken: TOKEN });
});
afterEach(() => sim.close());

describe('zones and accounts through the SDK', () => {
  it('lists zones with their account and plan, and gets one by id', async () => {
    const zones = await cf.zones.list();
    expect(zones.result.map((z) => z.name)).toEqual(['example.com', 'free.test']);
    const zone = await cf.zones.get({ zone_id: ZONE });
    expect(zone).toMatchObject({ id: ZONE, name: 'example.com', status: 'active', account: { id: ACCOUNT, name: 'Example Account' }, plan: { legacy_id: 'enterprise' } });
    expect((await cf.zones.list({ name: 'free.test' })).result.map((z) => z.id)).toEqual([FREE_ZONE]);
    expect((await cf.zones.list({ name: 'ends_with:.test' })).result.map((z) => z.id)).toEqual([FREE_ZONE]);
    expect((await cf.zones.list({ name: 'not_equal:free.test' })).result.map((z) => z.id)).toEqual([ZONE]);
    expect((await cf.accounts.list()).result.map((a) => a.id)).toEqual([ACCOUNT]);
  });

  it('creates a zone as pending and refuses the same name twice', async () => {
    const zone = await cf.zones.create({ account: { id: ACCOUNT }, name: 'new.example.org' });
    expect(zone).toMatchObject({ name: 'new.example.org', status: 'pending' });
    expect(zone.id).toMatch(/^[0-9a-f]{32}$/);
    const err = await apiError(cf.zones.create({ account: { id: ACCOUNT }, name: 'new.example.org' }));
    expect(err.status).toBe(400);
    expect(err.errors[0]).toMatchObject({ message: 'new.example.org already exists' });
  });
});

describe('DNS records through the SDK', () => {
  it('creates a record with a 32-hex id, the full name and timestamps, and lists it by name', async () => {
    const rec = await cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'app', content: '203.0.113.7', ttl: 300, comment: 'c1', tags: ['team:web'] });
    expect(rec).toMatchObject({ name: 'app.example.com', type: 'A', content: '203.0.113.7', ttl: 300, proxied: false, proxiable: true, comment: 'c1', tags: ['team:web'] });
    expect(rec.id).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(rec.created_on)).not.toBeNaN();
    expect(rec.modified_on).toBe(rec.created_on);
    const found = await cf.dns.records.list({ zone_id: ZONE, name: { exact: 'app.example.com' } });
    expect(found.result.map((r) => r.id)).toEqual([rec.id]);
    expect(sim.state.dnsRecords('example.com').some((r) => r.id === rec.id)).toBe(true);
  });

  it('PUT replaces the whole record, PATCH changes only the fields it sends', async () => {
    const rec = await cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'edit', content: '203.0.113.8', ttl: 300, proxied: true, comment: 'keep?', tags: ['a:b'] });
    const patched = await cf.dns.records.edit(rec.id, { zone_id: ZONE, type: 'A', name: 'edit', content: '203.0.113.9', ttl: 300 });
    expect(patched).toMatchObject({ content: '203.0.113.9', proxied: true, comment: 'keep?', tags: ['a:b'], created_on: rec.created_on });
    const put = await cf.dns.records.update(rec.id, { zone_id: ZONE, type: 'A', name: 'edit', content: '203.0.113.10', ttl: 600 });
    expect(put).toMatchObject({ id: rec.id, content: '203.0.113.10', ttl: 600, proxied: false, comment: null, tags: [] });
  });

  it('deletes a record; a second read answers 404 with code 81044', async () => {
    const [www] = sim.state.dnsRecords(ZONE).filter((r) => r.name === 'mail.example.com');
    expect(await cf.dns.records.delete(www!.id, { zone_id: ZONE })).toEqual({ id: www!.id });
    const err = await apiError(cf.dns.records.get(www!.id, { zone_id: ZONE }));
    expect(err).toBeInstanceOf(Cloudflare.NotFoundError);
    expect(err.status).toBe(404);
    expect(err.errors).toEqual([{ code: 81044, message: 'Record does not exist.' }]);
  });

  it('validates records with Cloudflare codes: 9005, 9021 (plan minimum), 9004, 9300, 81053, 81054, 81058', async () => {
    const codeOf = async (p: Promise<unknown>) => {
      const e = await apiError(p);
      expect(e.status).toBe(400);
      return e.errors[0] as { code: number; message: string };
    };
    expect(await codeOf(cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'x', content: 'not-an-ip', ttl: 1 }))).toMatchObject({ code: 9005 });
    expect(await codeOf(cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'x', content: '192.0.2.5', ttl: 10 }))).toEqual({
      code: 9021,
      message: 'TTL must be between 30 and 86400 seconds, or 1 for Automatic.',
    });
    // 30 s is allowed on the Enterprise zone, not on a Free one.
    await cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'fast', content: '192.0.2.5', ttl: 30 });
    expect(await codeOf(cf.dns.records.create({ zone_id: FREE_ZONE, type: 'A', name: 'fast', content: '192.0.2.5', ttl: 30 }))).toMatchObject({
      code: 9021,
      message: 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.',
    });
    expect(await codeOf(cf.dns.records.create({ zone_id: ZONE, type: 'TXT', name: 'x', content: 'hi', ttl: 1, proxied: true }))).toMatchObject({ code: 9004 });
    expect(await codeOf(cf.dns.records.create({ zone_id: FREE_ZONE, type: 'TXT', name: 'x', content: 'hi', ttl: 1, tags: ['a:b'] }))).toMatchObject({ code: 9300 });
    expect(await codeOf(cf.dns.records.create({ zone_id: ZONE, type: 'CNAME', name: 'api', content: 'example.net', ttl: 1 }))).toMatchObject({ code: 81053 });
    expect(await codeOf(cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'www', content: '192.0.2.9', ttl: 1 }))).toMatchObject({ code: 81054 });
    expect(await codeOf(cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'mail', content: '192.0.2.10', ttl: 1 }))).toMatchObject({ code: 81058 });
  });

  it('list filters: tag.present, content.contains, type, and match=any', async () => {
    const names = async (q: Record<string, unknown>) => (await cf.dns.records.list({ zone_id: ZONE, ...q })).result.map((r) => r.name).sort();
    expect(await names({ tag: { present: 'protected' } })).toEqual(['api.example.com']);
    expect(await names({ content: { contains: '192.0.2.1' } })).toEqual(['example.com', 'mail.example.com']);
    expect(await names({ type: 'MX' })).toEqual(['example.com']);
    expect(await names({ type: 'CNAME', name: { exact: 'mail.example.com' }, match: 'any' })).toEqual(['mail.example.com', 'www.example.com']);
  });

  it('auto-pagination walks every page until an empty one', async () => {
    for (let i = 0; i < 12; i++) await cf.dns.records.create({ zone_id: ZONE, type: 'TXT', name: `t${i}`, content: `v${i}`, ttl: 1 });
    sim.clearRequests();
    const ids: string[] = [];
    for await (const r of cf.dns.records.list({ zone_id: ZONE, per_page: 5 })) ids.push(r.id);
    const total = sim.state.dnsRecords(ZONE).length;
    expect(total).toBe(18);
    expect(new Set(ids).size).toBe(total);
    // 18 records at 5 a page: pages 1-4, then page 5 comes back empty and the pager stops.
    expect(sim.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('page') ?? '1')).toEqual(['1', '2', '3', '4', '5']);
  });
});

describe('DNS batch', () => {
  it('applies deletes, patches, puts and posts in that order: a post may take a name a delete frees', async () => {
    const www = sim.state.dnsRecords(ZONE).find((r) => r.name === 'www.example.com')!;
    const mail = sim.state.dnsRecords(ZONE).find((r) => r.name === 'mail.example.com')!;
    const txt = sim.state.dnsRecords(ZONE).find((r) => r.type === 'TXT')!;
    const res = await cf.dns.records.batch({
      zone_id: ZONE,
      // The A record at www is only possible because the CNAME there is deleted first.
      posts: [{ type: 'A', name: 'www', content: '192.0.2.44', ttl: 1 }],
      puts: [{ id: txt.id, type: 'TXT', name: '@', content: 'v=spf1 -all', ttl: 1 }],
      patches: [{ id: mail.id, type: 'A', name: 'mail', content: '192.0.2.11' } as never],
      deletes: [{ id: www.id }],
    });
    expect(res.deletes!.map((r) => r.id)).toEqual([www.id]);
    expect(res.patches![0]).toMatchObject({ id: mail.id, content: '192.0.2.11', ttl: 3600 });
    expect(res.puts![0]).toMatchObject({ id: txt.id, content: 'v=spf1 -all', ttl: 1 });
    expect(res.posts![0]).toMatchObject({ type: 'A', name: 'www.example.com' });
    expect(sim.state.dnsRecords(ZONE).filter((r) => r.name === 'www.example.com').map((r) => r.type)).toEqual(['A']);
  });

  it('is all or none: one invalid post leaves every record as it was', async () => {
    const before = JSON.stringify(sim.state.dnsRecords(ZONE));
    const www = sim.state.dnsRecords(ZONE).find((r) => r.name === 'www.example.com')!;
    const err = await apiError(
      cf.dns.records.batch({
        zone_id: ZONE,
        deletes: [{ id: www.id }],
        posts: [
          { type: 'A', name: 'ok', content: '192.0.2.50', ttl: 1 },
          { type: 'A', name: 'bad', content: '192.0.2.51', ttl: 5 },
        ],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.errors[0]).toMatchObject({ code: 9021 });
    expect(JSON.stringify(sim.state.dnsRecords(ZONE))).toBe(before);
  });

  it('a batch naming a record that does not exist fails whole with 81044', async () => {
    const before = sim.state.dnsRecords(ZONE).length;
    const err = await apiError(
      cf.dns.records.batch({ zone_id: ZONE, posts: [{ type: 'A', name: 'n', content: '192.0.2.60', ttl: 1 }], deletes: [{ id: 'f'.repeat(32) }] }),
    );
    expect(err.status).toBe(404);
    expect(err.errors[0]).toMatchObject({ code: 81044 });
    expect(sim.state.dnsRecords(ZONE)).toHaveLength(before);
  });
});

describe('authentication', () => {
  it('an unknown token is 403 9109; a malformed one 400 6003 with the 6111 chain', async () => {
    const unknown = await apiError(client({ apiToken: UNKNOWN }).zones.list());
    expect(unknown).toBeInstanceOf(Cloudflare.PermissionDeniedError);
    expect(unknown.status).toBe(403);
    expect(unknown.errors).toEqual([{ code: 9109, message: 'Invalid access token' }]);
    const malformed = await apiError(client({ apiToken: 'short' }).zones.list());
    expect(malformed.status).toBe(400);
    expect(malformed.errors).toEqual([{ code: 6003, message: 'Invalid request headers', error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }] }]);
  });

  it('a read-only token reads but its writes are 403 10000, and nothing is stored', async () => {
    const ro = client({ apiToken: READ_ONLY });
    expect((await ro.dns.records.list({ zone_id: ZONE })).result.length).toBeGreaterThan(0);
    const before = sim.state.dnsRecords(ZONE).length;
    const err = await apiError(ro.dns.records.create({ zone_id: ZONE, type: 'A', name: 'ro', content: '192.0.2.70', ttl: 1 }));
    expect(err.status).toBe(403);
    expect(err.errors).toEqual([{ code: 10000, message: 'Authentication error' }]);
    expect(sim.state.dnsRecords(ZONE)).toHaveLength(before);
  });

  it('a zone-scoped token lists only its zones and gets 403 10000 elsewhere', async () => {
    const scoped = client({ apiToken: SCOPED });
    expect((await scoped.zones.list()).result.map((z) => z.name)).toEqual(['free.test']);
    expect((await apiError(scoped.dns.records.list({ zone_id: ZONE }))).errors[0]).toMatchObject({ code: 10000 });
  });

  it('the legacy X-Auth-Email/X-Auth-Key pair works; a wrong key is 403 9103', async () => {
    expect((await client({ apiEmail: EMAIL, apiKey: KEY }).zones.list()).result).toHaveLength(2);
    const err = await apiError(client({ apiEmail: EMAIL, apiKey: 'f'.repeat(37) }).zones.list());
    expect(err.status).toBe(403);
    expect(err.errors).toEqual([{ code: 9103, message: 'Unknown X-Auth-Key or X-Auth-Email' }]);
  });

  it('/user/tokens/verify answers the token status', async () => {
    expect(await cf.user.tokens.verify()).toEqual({ id: tokenId(TOKEN), status: 'active' });
    expect(tokenId(TOKEN)).toMatch(/^[0-9a-f]{32}$/);
    expect(tokenId(TOKEN)).not.toBe(tokenId(READ_ONLY));
    expect((await apiError(client({ apiToken: UNKNOWN }).user.tokens.verify())).status).toBe(401);
  });
});

describe('rulesets, firewall and page rules, Access apps, Workers routes through the SDK', () => {
  it('a PUT on a phase entrypoint replaces every rule and bumps the version', async () => {
    const managed = await cf.rulesets.phases.get('http_request_firewall_managed', { zone_id: ZONE });
    expect(managed.rules.map((r) => [r.action, (r as { action_parameters?: { id?: string } }).action_parameters?.id])).toEqual([['execute', CLOUDFLARE_MANAGED_RULESET]]);

    type Entrypoint = { id: string; kind: string; phase: string; version: string; rules: { id: string; version: string; description?: string }[] };
    const first = (await cf.rulesets.phases.update('http_request_firewall_custom', {
      zone_id: ZONE,
      rules: [
        { action: 'block', expression: 'ip.src eq 192.0.2.1', description: 'one' },
        { action: 'managed_challenge', expression: 'http.request.uri.path eq "/login"', description: 'two' },
      ],
    })) as Entrypoint;
    expect(first).toMatchObject({ kind: 'zone', phase: 'http_request_firewall_custom', version: '1' });
    // The second PUT keeps rule one by naming its id and drops rule two by leaving it out.
    const second = (await cf.rulesets.phases.update('http_request_firewall_custom', {
      zone_id: ZONE,
      rules: [
        { id: first.rules[0]!.id, action: 'block', expression: 'ip.src eq 192.0.2.2', description: 'one, changed' },
        { action: 'log', expression: 'true', description: 'new' },
      ],
    })) as Entrypoint;
    expect(second.id).toBe(first.id);
    expect(second.version).toBe('2');
    expect(second.rules.map((r) => [r.description, r.version])).toEqual([
      ['one, changed', '2'],
      ['new', '1'],
    ]);
    expect(second.rules[0]!.id).toBe(first.rules[0]!.id);
    const third = (await cf.rulesets.phases.update('http_request_firewall_custom', {
      zone_id: ZONE,
      rules: [{ action: 'log', expression: 'true', description: 'only' }],
    })) as Entrypoint;
    expect(third.rules.map((r) => r.description)).toEqual(['only']);
    expect((await cf.rulesets.phases.get('http_request_firewall_custom', { zone_id: ZONE })).rules).toHaveLength(1);

    const missing = await apiError(cf.rulesets.phases.get('http_request_redirect', { zone_id: ZONE }));
    expect(missing.status).toBe(404);
    expect(missing.errors).toEqual([{ code: 10003, message: 'could not find entrypoint ruleset in the http_request_redirect phase' }]);
    const kind = await raw('PUT', `/zones/${ZONE}/rulesets/phases/http_request_firewall_custom/entrypoint`, JSON.stringify({ kind: 'zone', rules: [] }));
    expect(kind.status).toBe(400);
    expect(kind.json.errors[0].message).toBe('invalid JSON: unknown field kind');

    const bad = await apiError(cf.rulesets.phases.update('http_request_firewall_custom', { zone_id: ZONE, rules: [{ action: 'explode' as never, expression: 'true' }] }));
    expect(bad.status).toBe(400);
    expect(bad.errors[0]).toMatchObject({ source: { pointer: '/rules/0/action' } });
  });

  it('single-rule writes: POST adds at a position, PATCH merges in place, DELETE removes; each answers the whole ruleset', async () => {
    type Rs = { id: string; version: string; rules: { id: string; description?: string; action: string; expression: string }[] };
    const rs = (await cf.rulesets.phases.update('http_request_firewall_custom', {
      zone_id: ZONE,
      rules: [
        { action: 'block', expression: 'ip.src eq 192.0.2.1', description: 'a' },
        { action: 'block', expression: 'ip.src eq 192.0.2.2', description: 'c' },
      ],
    })) as Rs;
    const [a, c] = rs.rules;
    const added = (await cf.rulesets.rules.create(rs.id, {
      zone_id: ZONE,
      action: 'log',
      expression: 'true',
      description: 'b',
      position: { after: a!.id },
    })) as unknown as Rs;
    expect(added.rules.map((r) => r.description)).toEqual(['a', 'b', 'c']);
    expect(added.version).toBe('2');
    const edited = (await cf.rulesets.rules.edit(c!.id, { ruleset_id: rs.id, zone_id: ZONE, description: 'c2' } as never)) as unknown as Rs;
    expect(edited.rules.map((r) => [r.description, r.action, r.expression])).toEqual([
      ['a', 'block', 'ip.src eq 192.0.2.1'],
      ['b', 'log', 'true'],
      ['c2', 'block', 'ip.src eq 192.0.2.2'],
    ]);
    const removed = (await cf.rulesets.rules.delete(a!.id, { ruleset_id: rs.id, zone_id: ZONE })) as unknown as Rs;
    expect(removed.rules.map((r) => r.description)).toEqual(['b', 'c2']);
    expect(removed.version).toBe('4');
    const nowhere = await apiError(cf.rulesets.rules.create(rs.id, { zone_id: ZONE, action: 'log', expression: 'true', position: { before: 'f'.repeat(32) } }));
    expect(nowhere.status).toBe(400);
  });

  it('page rules and firewall rules: create, list, delete', async () => {
    const pr = await cf.pageRules.create({
      zone_id: ZONE,
      targets: [{ target: 'url', constraint: { operator: 'matches', value: '*example.com/old/*' } }],
      actions: [{ id: 'forwarding_url', value: { url: 'https://example.com/new/$1', status_code: 301 } }],
      status: 'active',
    });
    expect(pr.id).toMatch(/^[0-9a-f]{32}$/);
    expect((await cf.pageRules.list({ zone_id: ZONE })).map((r) => r.id)).toEqual([pr.id]);
    expect(await cf.pageRules.delete(pr.id, { zone_id: ZONE })).toEqual({ id: pr.id });
    expect(await cf.pageRules.list({ zone_id: ZONE })).toEqual([]);

    const created = [];
    for await (const r of cf.firewall.rules.create({ zone_id: ZONE, action: { mode: 'challenge' }, filter: { expression: 'ip.src eq 192.0.2.9' } })) created.push(r);
    expect(created).toHaveLength(1);
    const listed = await cf.firewall.rules.list({ zone_id: ZONE });
    expect(listed.result.map((r) => r.id)).toEqual([created[0]!.id]);
    await cf.firewall.rules.delete(created[0]!.id!, { zone_id: ZONE });
    expect(sim.state.firewallRules.get(ZONE)?.size).toBe(0);
  });

  it('Access applications and Workers routes: create, list, delete', async () => {
    const app = await cf.zeroTrust.access.applications.create({ account_id: ACCOUNT, type: 'self_hosted', domain: 'admin.example.com', name: 'Admin' });
    expect((app as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
    const apps = await cf.zeroTrust.access.applications.list({ account_id: ACCOUNT });
    expect(apps.result.map((a) => (a as { name?: string }).name)).toEqual(['Admin']);
    await cf.zeroTrust.access.applications.delete((app as { id: string }).id, { account_id: ACCOUNT });
    expect(sim.state.accessApps.get(`accounts/${ACCOUNT}`)?.size).toBe(0);

    const route = await cf.workers.routes.create({ zone_id: ZONE, pattern: 'example.com/api/*', script: 'api-worker' });
    expect(route).toMatchObject({ pattern: 'example.com/api/*', script: 'api-worker' });
    expect((await cf.workers.routes.list({ zone_id: ZONE })).result.map((r) => r.id)).toEqual([route.id]);
    expect((await apiError(cf.workers.routes.create({ zone_id: ZONE, pattern: 'other.org/*', script: 'x' }))).status).toBe(400);
    await cf.workers.routes.delete(route.id, { zone_id: ZONE });
    expect((await cf.workers.routes.list({ zone_id: ZONE })).result).toEqual([]);
  });
});

describe('defaults', () => {
  it('without options the simulator accepts DEFAULT_TOKEN and holds the default seed; seed: false starts empty', async () => {
    const plain = await startCloudflareSim();
    const empty = await startCloudflareSim({ seed: false });
    try {
      const sdk = new Cloudflare({ baseURL: plain.apiUrl, apiToken: DEFAULT_TOKEN, apiKey: null, apiEmail: null, maxRetries: 0 });
      expect((await sdk.zones.list()).result.map((z) => z.id)).toEqual([ZONE]);
      expect(plain.state.dnsRecords('example.com').map((r) => `${r.type} ${r.name}`)).toEqual([
        'A example.com',
        'CNAME www.example.com',
        'A mail.example.com',
        'MX example.com',
        'TXT example.com',
        'A api.example.com',
      ]);
      const none = new Cloudflare({ baseURL: empty.apiUrl, apiToken: DEFAULT_TOKEN, apiKey: null, apiEmail: null, maxRetries: 0 });
      expect((await none.zones.list()).result).toEqual([]);
    } finally {
      await plain.close();
      await empty.close();
    }
  });

  it('serves HTTPS with the given certificate (the terraform provider v4 speaks only https)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-cfsim-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const tls = await startCloudflareSim({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    const agent = new Agent({ connect: { ca: cert } });
    try {
      expect(tls.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/client\/v4$/);
      const sdk = new Cloudflare({
        baseURL: tls.apiUrl,
        apiToken: DEFAULT_TOKEN,
        apiKey: null,
        apiEmail: null,
        maxRetries: 0,
        fetch: undiciFetch as unknown as typeof fetch,
        fetchOptions: { dispatcher: agent } as never,
      });
      expect((await sdk.zones.get({ zone_id: ZONE })).name).toBe('example.com');
    } finally {
      await agent.close();
      await tls.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('raw HTTP: envelopes and status codes', () => {
  it('a list carries success, errors, messages, result and result_info', async () => {
    const r = await raw('GET', '/zones?per_page=5');
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['errors', 'messages', 'result', 'result_info', 'success']);
    expect(r.json).toMatchObject({ success: true, errors: [], messages: [] });
    expect(r.json.result_info).toEqual({ page: 1, per_page: 5, count: 2, total_count: 2, total_pages: 1 });
    const past = await raw('GET', '/zones?page=3');
    expect(past.json.result).toEqual([]);
    expect(past.json.result_info).toEqual({ page: 3, per_page: 20, count: 0, total_count: 2, total_pages: 1 });
  });

  it('an id that is not 32 hex digits (a zone name, a short record id) or an unknown path is 400 with 7003 and 7000', async () => {
    const r = await raw('GET', '/zones/example.com/dns_records');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      success: false,
      errors: [
        { code: 7003, message: 'Could not route to /client/v4/zones/example.com/dns_records, perhaps your object identifier is invalid?' },
        { code: 7000, message: 'No route for that URI' },
      ],
      messages: [],
      result: null,
    });
    expect((await raw('GET', `/zones/${ZONE}/dns_records/645577699`)).json.errors.map((e: { code: number }) => e.code)).toEqual([7003, 7000]);
    expect((await raw('GET', '/nothing/here')).status).toBe(400);
  });

  it('a well-formed zone id that is not the caller\'s is 403 10000, answered without messages and result', async () => {
    const r = await raw('GET', `/zones/${ACCOUNT}/dns_records`);
    expect(r).toEqual({ status: 403, json: { success: false, errors: [{ code: 10000, message: 'Authentication error' }] } });
  });

  it('405 for a method a route does not serve, 400 6007 for a body that is not JSON, 400 9106 without credentials', async () => {
    const m = await raw('DELETE', '/zones');
    expect(m.status).toBe(405);
    expect(m.json).toMatchObject({ success: false, result: null, errors: [{ code: 7001 }] });
    const typed = await raw('POST', `/zones/${ZONE}/dns_records`, JSON.stringify({ type: 'A', name: 'x', content: '192.0.2.1', proxied: 'true' }));
    expect(typed.status).toBe(400);
    expect(typed.json.errors[0].code).toBe(9207);
    const j = await raw('POST', `/zones/${ZONE}/dns_records`, '{"type":');
    expect(j.status).toBe(400);
    expect(j.json.errors).toEqual([{ code: 6007, message: 'Malformed JSON in request body' }]);
    const none = await raw('GET', '/zones', undefined, {});
    expect(none.status).toBe(400);
    expect(none.json.errors[0].code).toBe(9106);
    expect(sim.requests.at(-1)).toMatchObject({ method: 'GET', url: '/client/v4/zones' });
  });

  it('a DNS record delete answers only the id', async () => {
    const txt = sim.state.dnsRecords(ZONE).find((r) => r.type === 'TXT')!;
    const r = await raw('DELETE', `/zones/${ZONE}/dns_records/${txt.id}`);
    expect(r).toEqual({ status: 200, json: { success: true, errors: [], messages: [], result: { id: txt.id } } });
  });
});
