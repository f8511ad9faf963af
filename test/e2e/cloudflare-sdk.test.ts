/**
 * The official `cloudflare` SDK (cloudflare@7, a real client) with its baseURL at the gateway's Cloudflare mount,
 * in front of the Cloudflare simulator and real OPA with the starter policies: what it sends is judged, what is
 * denied never reaches the simulator, and the SDK surfaces the deny message and the decision id.
 */
import Cloudflare from 'cloudflare';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { startStack, type Stack } from '../helpers/stack.js';

const ZONE = SEED_IDS.zone;

let sim: CloudflareSim;
let stack: Stack;
let cf: Cloudflare;

beforeAll(async () => {
  sim = await startCloudflareSim();
  stack = await startStack({ kinds: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision' }] });
  cf = new Cloudflare({
    baseURL: `${stack.url('cf')}/client/v4`,
    // Only the credential given: the SDK would otherwise read CLOUDFLARE_API_KEY and the like from the environment.
    apiToken: DEFAULT_TOKEN, apiKey: null, apiEmail: null, userServiceKey: null,
    maxRetries: 0,
    // The gateway serves HTTPS with the stack's own CA.
    fetch: undiciFetch as unknown as typeof fetch,
    fetchOptions: { dispatcher: stack.dispatcher } as never,
  });
});

afterAll(async () => {
  await stack?.close();
  await sim?.close();
});

beforeEach(() => sim.clearRequests());

function decision(id: string | null): DecisionEvent {
  const found = stack.decisions().find((e) => e.decision_id === id);
  if (!found) throw new Error(`no decision ${String(id)} in the log`);
  return found;
}

const records = () => sim.state.dnsRecords(ZONE);
const named = (name: string) => records().find((r) => r.name === name && r.type !== 'MX' && r.type !== 'TXT')!;
const upstreamWrites = () => sim.requests.filter((r) => r.method !== 'GET');

/** The error an SDK call rejects with; it must be a 403 PermissionDeniedError naming its decision. */
async function denied(p: Promise<unknown>, ...rules: string[]): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(Cloudflare.PermissionDeniedError);
  const e = err as InstanceType<typeof Cloudflare.PermissionDeniedError>;
  expect(e.status).toBe(403);
  const id = e.headers.get('x-decision-id');
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(e.errors.map((x) => x.code)).toEqual(rules.map(() => 90403));
  rules.forEach((rule) => expect(e.errors.some((x) => x.message?.includes(`[${rule}]`) && x.message.includes(`(decision ${id})`))).toBe(true));
  // The message the SDK builds (and a program prints) carries the reason and the decision id.
  expect(e.message).toContain(`(decision ${id})`);
  expect(e.message).toContain(`[${rules[0]}]`);
  expect(decision(id).outcome).toBe('denied');
  return id!;
}

describe('the cloudflare SDK through the gateway', () => {
  it('creates, edits, overwrites and deletes a DNS record the policy allows', async () => {
    const rec = await cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'sdk', content: '192.0.2.80', ttl: 300, proxied: false });
    expect(rec).toMatchObject({ name: 'sdk.example.com', ttl: 300 });
    const edited = await cf.dns.records.edit(rec.id, { zone_id: ZONE, type: 'A', name: 'sdk', content: '192.0.2.81', ttl: 600 });
    expect(edited.content).toBe('192.0.2.81');
    const put = await cf.dns.records.update(rec.id, { zone_id: ZONE, type: 'A', name: 'sdk', content: '192.0.2.82', ttl: 120 });
    expect(put).toMatchObject({ content: '192.0.2.82', ttl: 120 });
    expect(await cf.dns.records.delete(rec.id, { zone_id: ZONE })).toEqual({ id: rec.id });
    expect(records().some((r) => r.id === rec.id)).toBe(false);
    expect(upstreamWrites().map((r) => r.method)).toEqual(['POST', 'PATCH', 'PUT', 'DELETE']);
  });

  it('surfaces a denied create as a 403 with the reason and the decision id, and nothing is stored', async () => {
    const before = records().length;
    await denied(cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'fast', content: '192.0.2.83', ttl: 30 }), 'dns-min-ttl');
    expect(records()).toHaveLength(before);
    expect(upstreamWrites()).toEqual([]);
  });

  it('denies an edit to a short TTL, an overwrite that un-proxies the apex and the delete of a protected record', async () => {
    const mail = named('mail.example.com');
    await denied(cf.dns.records.edit(mail.id, { zone_id: ZONE, type: 'A', name: 'mail', content: mail.content, ttl: 10 }), 'dns-min-ttl');
    const apex = named('example.com');
    await denied(cf.dns.records.update(apex.id, { zone_id: ZONE, type: 'A', name: '@', content: '192.0.2.1', ttl: 1, proxied: false }), 'apex-proxied');
    const api = named('api.example.com');
    await denied(cf.dns.records.delete(api.id, { zone_id: ZONE }), 'protected-record-delete');
    expect(upstreamWrites()).toEqual([]);
    expect(named('mail.example.com').ttl).toBe(mail.ttl);
    expect(named('example.com').proxied).toBe(true);
    expect(named('api.example.com').id).toBe(api.id);
  });

  it('applies a batch the policy allows', async () => {
    const www = named('www.example.com');
    const res = await cf.dns.records.batch({
      zone_id: ZONE,
      patches: [{ id: www.id, type: 'CNAME', name: 'www.example.com', ttl: 1, comment: 'sdk batch' }],
      posts: [{ type: 'A', name: 'sdk-batch', content: '192.0.2.84', ttl: 300 }],
    });
    expect(res.posts).toHaveLength(1);
    expect(named('www.example.com').comment).toBe('sdk batch');
    expect(named('sdk-batch.example.com').ttl).toBe(300);
  });

  it('denies a whole batch for one bad element, naming it, and the simulator changes nothing', async () => {
    const before = JSON.stringify(records());
    const id = await denied(cf.dns.records.batch({
      zone_id: ZONE,
      deletes: [{ id: named('api.example.com').id }],
      posts: [{ type: 'A', name: 'sdk-ok', content: '192.0.2.85', ttl: 300 }],
    }), 'protected-record-delete');
    expect((decision(id).reasons)).toEqual([expect.stringContaining('items[0]: DNS record "api.example.com" is tagged')]);
    expect(upstreamWrites()).toEqual([]);
    expect(JSON.stringify(records())).toBe(before);
  });

  it('reads every page through the gateway with the auto-pager, as the simulator pages them', async () => {
    const seen: string[] = [];
    for await (const r of cf.dns.records.list({ zone_id: ZONE, per_page: 5 })) seen.push(r.id);
    expect(seen.sort()).toEqual(records().map((r) => r.id).sort());
    expect(sim.requests.filter((r) => r.url.includes('per_page=5')).length).toBeGreaterThan(1);
  });
});
