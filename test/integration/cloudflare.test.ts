import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLOUDFLARE_MANAGED_RULESET, DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startStack, type Stack } from '../helpers/stack.js';

const ZONE = SEED_IDS.zone;
const RECORDS = `/client/v4/zones/${ZONE}/dns_records`;
const ENTRYPOINT = `/client/v4/zones/${ZONE}/rulesets/phases/http_request_firewall_managed/entrypoint`;
const TOKEN_ID = '7c1e5f3b9a2d4e6f8a0b1c2d3e4f5a6b';
const KEY = { email: 'alice@example.com', key: '0123456789abcdef0123456789abcdef01234' };

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; json: any; text: string }

let sim: CloudflareSim;
let stack: Stack;

beforeAll(async () => {
  sim = await startCloudflareSim({ tokens: { [DEFAULT_TOKEN]: { id: TOKEN_ID } }, keys: [KEY] });
  stack = await startStack({
    kinds: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision' }],
    // Refusals are written in full here: the tests read every one.
    decisionLog: { refusedPerSecond: 1000, refusedBurst: 1000 },
  });
});

afterAll(async () => {
  await stack?.close();
  await sim?.close();
});

beforeEach(() => sim.clearRequests());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(`${stack.url('cf')}${path}`, {
    method: method as 'GET',
    dispatcher: stack.dispatcher,
    headers: {
      ...(Object.keys(headers).some((h) => h.startsWith('x-auth-')) ? {} : { authorization: `Bearer ${DEFAULT_TOKEN}` }),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.statusCode, headers: res.headers, json, text };
}

/** Sends the request bytes as given (no client-side URL or header normalisation). */
async function raw(lines: string[], body: string | Buffer = ''): Promise<{ status: number; text: string }> {
  const url = new URL(stack.gateway.url);
  const socket = connect({ host: url.hostname, port: Number(url.port), ca: readFileSync(stack.certs.caCert) });
  const bytes = Buffer.from(body);
  socket.write(`${[...lines, `host: ${url.host}`, 'connection: close', `content-length: ${bytes.length}`].join('\r\n')}\r\n\r\n`);
  socket.write(bytes);
  const chunks: Buffer[] = [];
  for await (const c of socket) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: Number(text.slice(9, 12)), text };
}

const decisions = (): DecisionEvent[] => stack.decisions();

function decision(id: string | string[] | undefined): DecisionEvent {
  const found = decisions().find((d) => d.decision_id === id);
  if (!found) throw new Error(`no decision ${String(id)} in the log`);
  return found;
}

function record(name: string) {
  const r = sim.state.dnsRecords(ZONE).find((x) => x.name === name && (x.type === 'A' || x.type === 'CNAME'));
  if (!r) throw new Error(`no record ${name}`);
  return r;
}

/** The writes (anything but GET) the simulator received since the test began. */
const upstreamWrites = () => sim.requests.filter((r) => r.method !== 'GET');

interface CfError { code: number; message: string }

function expectDenied(res: Reply, ...rules: string[]): void {
  expect(res.status).toBe(403);
  const id = res.headers['x-decision-id'] as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.json).toMatchObject({ success: false, messages: [], result: null });
  const errors = res.json.errors as CfError[];
  expect(errors).toHaveLength(rules.length);
  rules.forEach((rule, i) => {
    expect(errors[i]!.code).toBe(90403);
    expect(errors[i]!.message).toContain(`[${rule}]`);
    expect(errors[i]!.message).toContain(`(decision ${id})`);
  });
  expect(decision(id)).toMatchObject({ outcome: 'denied', upstream: 'cf' });
}

describe('cloudflare: reads pass through', () => {
  it('forwards a paged DNS list untouched, with no decision', async () => {
    const before = decisions().length;
    const direct = await request(`${sim.apiUrl}/zones/${ZONE}/dns_records?per_page=5&page=2`, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } });
    const expected = await direct.body.json() as { result: unknown[]; result_info: unknown };
    const res = await call('GET', `${RECORDS}?per_page=5&page=2`);
    expect(res.status).toBe(200);
    expect(res.json.result).toEqual(expected.result);
    expect(res.json.result_info).toEqual(expected.result_info);
    expect(res.json.result_info).toMatchObject({ page: 2, per_page: 5 });
    expect(sim.requests.at(-1)!.url).toBe(`${RECORDS}?per_page=5&page=2`);
    expect(decisions()).toHaveLength(before);
  });

  it('forwards HEAD and OPTIONS as reads, with no decision', async () => {
    const before = decisions().length;
    for (const method of ['HEAD', 'OPTIONS']) {
      const res = await call(method, `${RECORDS}/${'a'.repeat(32)}`);
      expect(res.headers['x-decision-id']).toBeUndefined();
      expect(sim.requests.at(-1)!.method).toBe(method);
    }
    expect(decisions()).toHaveLength(before);
  });

  it('relays Cloudflare\'s own error for a read', async () => {
    const res = await call('GET', RECORDS, undefined, { authorization: 'Bearer not-a-token' });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].code).toBe(6003);
  });
});

describe('cloudflare: DNS record writes', () => {
  it('allows a create, logs the input the policy saw, and the record is stored', async () => {
    const body = { type: 'A', name: 'app.example.com', content: '192.0.2.30', ttl: 300, proxied: false, comment: 'app backend' };
    const res = await call('POST', RECORDS, body);
    expect(res.status).toBe(200);
    expect(res.json.success).toBe(true);
    const id = res.headers['x-decision-id'] as string;
    const d = decision(id);
    // The starter policy's allow is decided in-process (src/residual/).
    expect(d).toMatchObject({ outcome: 'allowed', operation: 'CREATE', upstream: 'cf', engine: 'residual' });
    expect((d.input as any).request).toMatchObject({
      operation: 'CREATE', method: 'POST', resource: 'dns_records', name: '', body, object: body, oldObject: null,
      zone: ZONE, zoneName: 'example.com', account: SEED_IDS.account,
      userInfo: { username: TOKEN_ID, uid: TOKEN_ID, groups: [], extra: { scheme: ['api-token'] }, authenticatedBy: 'upstream' },
    });
    expect((d.input as any).headers).not.toHaveProperty('authorization');
    expect(record('app.example.com')).toMatchObject({ ttl: 300, content: '192.0.2.30' });
    // The write carried the decision id upstream.
    expect(upstreamWrites()[0]!.headers['x-decision-id']).toBe(id);
  });

  it('denies a create with a short TTL in Cloudflare\'s envelope, and nothing reaches the simulator', async () => {
    const res = await call('POST', RECORDS, { type: 'A', name: 'short.example.com', content: '192.0.2.31', ttl: 30 });
    expectDenied(res, 'dns-min-ttl');
    expect(res.json.errors[0].message).toContain('DNS record "short.example.com" has TTL 30');
    expect(upstreamWrites()).toEqual([]);
    expect(sim.state.dnsRecords(ZONE).some((r) => r.name === 'short.example.com')).toBe(false);
  });

  it('names every violation, one error each', async () => {
    const res = await call('POST', RECORDS, { type: 'A', name: '@', content: '192.0.2.9', ttl: 30, proxied: false });
    expect(res.status).toBe(403);
    expect((res.json.errors as CfError[]).map((e) => /\[([a-z-]+)\]/.exec(e.message)![1]).sort()).toEqual(['apex-proxied', 'dns-min-ttl']);
  });

  it('judges a PATCH as the stored record with the body over it, and denies a short TTL', async () => {
    const mail = record('mail.example.com');
    const res = await call('PATCH', `${RECORDS}/${mail.id}`, { ttl: 30 });
    expectDenied(res, 'dns-min-ttl');
    const input = decision(res.headers['x-decision-id']).input as any;
    expect(input.request.oldObject).toEqual(JSON.parse(JSON.stringify(mail)));
    expect(input.request.object).toEqual({ ...JSON.parse(JSON.stringify(mail)), ttl: 30 });
    expect(input.request).toMatchObject({ operation: 'UPDATE', name: mail.id });
    expect(upstreamWrites()).toEqual([]);
    expect(record('mail.example.com').ttl).toBe(3600);
  });

  it('allows a PATCH that keeps the rules, and the simulator applies it', async () => {
    const mail = record('mail.example.com');
    const res = await call('PATCH', `${RECORDS}/${mail.id}`, { comment: 'mail server' });
    expect(res.status).toBe(200);
    expect(decision(res.headers['x-decision-id']).outcome).toBe('allowed');
    expect(record('mail.example.com').comment).toBe('mail server');
  });

  it('judges a PUT as its body and denies un-proxying the apex', async () => {
    const apex = record('example.com');
    const res = await call('PUT', `${RECORDS}/${apex.id}`, { type: 'A', name: 'example.com', content: '192.0.2.2', ttl: 1 });
    expectDenied(res, 'apex-proxied');
    expect((decision(res.headers['x-decision-id']).input as any).request.object).toEqual({ type: 'A', name: 'example.com', content: '192.0.2.2', ttl: 1 });
    expect(record('example.com').content).toBe('192.0.2.1');
  });

  it('denies deleting a record tagged protected, and keeps it', async () => {
    const api = record('api.example.com');
    const res = await call('DELETE', `${RECORDS}/${api.id}`);
    expectDenied(res, 'protected-record-delete');
    expect((decision(res.headers['x-decision-id']).input as any).request).toMatchObject({ operation: 'DELETE', object: null, oldObject: { id: api.id, tags: api.tags } });
    expect(upstreamWrites()).toEqual([]);
    expect(record('api.example.com').id).toBe(api.id);
  });

  it('allows deleting an untagged record', async () => {
    const created = await call('POST', RECORDS, { type: 'A', name: 'gone.example.com', content: '192.0.2.40', ttl: 120 });
    const id = created.json.result.id as string;
    const res = await call('DELETE', `${RECORDS}/${id}`);
    expect(res.status).toBe(200);
    expect(res.json.result).toEqual({ id });
    expect(sim.state.dnsRecords(ZONE).some((r) => r.id === id)).toBe(false);
  });

  it('judges a write to a record Cloudflare does not know with oldObject null, and Cloudflare answers it 404', async () => {
    const missing = `${RECORDS}/${'f'.repeat(32)}`;
    const res = await call('PATCH', missing, { ttl: 120 });
    expect(res.status).toBe(404);
    expect(res.json.errors[0].code).toBe(81044);
    const d = decision(res.headers['x-decision-id']);
    expect(d.outcome).toBe('allowed');
    expect((d.input as any).request).toMatchObject({ operation: 'UPDATE', object: { ttl: 120 }, oldObject: null });
    expect(upstreamWrites().map((r) => r.url)).toEqual([missing]);
  });

  it('relays Cloudflare\'s refusal to read the zone, without forwarding the write', async () => {
    const res = await call('POST', `/client/v4/zones/${'e'.repeat(32)}/dns_records`, { type: 'A', name: 'x', content: '192.0.2.1', ttl: 120 });
    expect(res.status).toBe(403);
    expect(res.json.errors[0].code).toBe(10000);
    expect(decision(res.headers['x-decision-id'])).toMatchObject({ outcome: 'error', upstream_status: 403 });
    expect(upstreamWrites()).toEqual([]);
  });

  it('identifies a global-key caller by the email Cloudflare checks the key against', async () => {
    const res = await call('POST', RECORDS, { type: 'A', name: 'key.example.com', content: '192.0.2.41', ttl: 120 }, { 'x-auth-email': KEY.email, 'x-auth-key': KEY.key });
    expect(res.status).toBe(200);
    const d = decision(res.headers['x-decision-id']);
    expect(d.caller.username).toBe(KEY.email);
    expect(JSON.stringify(d)).not.toContain(KEY.key);
  });
});

describe('cloudflare: DNS batch', () => {
  it('denies a whole batch for one bad element, naming it, and changes nothing', async () => {
    const before = JSON.stringify(sim.state.dnsRecords(ZONE));
    const api = record('api.example.com');
    const apex = record('example.com');
    const res = await call('POST', `${RECORDS}/batch`, {
      deletes: [{ id: api.id }],
      puts: [{ id: apex.id, type: 'A', name: 'example.com', content: '192.0.2.2', ttl: 1, proxied: true }],
      posts: [{ type: 'A', name: 'batch-bad.example.com', content: '192.0.2.50', ttl: 10 }],
    });
    expect(res.status).toBe(403);
    const messages = (res.json.errors as CfError[]).map((e) => e.message).sort();
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain('items[0]: DNS record "api.example.com" is tagged "protected:true"');
    expect(messages[1]).toContain('items[2]: DNS record "batch-bad.example.com" has TTL 10');
    const input = decision(res.headers['x-decision-id']).input as any;
    expect(input.request).toMatchObject({ operation: 'CREATE', method: 'POST', resource: 'dns_records', object: null, oldObject: null });
    expect(input.request.items.map((i: any) => [i.operation, i.method, i.name])).toEqual([['DELETE', 'DELETE', api.id], ['UPDATE', 'PUT', apex.id], ['CREATE', 'POST', '']]);
    expect(upstreamWrites()).toEqual([]);
    expect(JSON.stringify(sim.state.dnsRecords(ZONE))).toBe(before);
  });

  it('allows a good batch, which the simulator applies', async () => {
    const www = record('www.example.com');
    const res = await call('POST', `${RECORDS}/batch`, {
      patches: [{ id: www.id, comment: 'site' }],
      posts: [{ type: 'A', name: 'batch-ok.example.com', content: '192.0.2.51', ttl: 300 }],
    });
    expect(res.status).toBe(200);
    const input = decision(res.headers['x-decision-id']).input as any;
    expect(input.request.items[0].object).toMatchObject({ id: www.id, name: 'www.example.com', comment: 'site', proxied: true });
    expect(decision(res.headers['x-decision-id']).engine).toBe('residual');
    expect(record('www.example.com').comment).toBe('site');
    expect(record('batch-ok.example.com').ttl).toBe(300);
  });

  it('judges a batch naming a record Cloudflare does not know with its oldObject null, and Cloudflare fails it whole', async () => {
    const before = JSON.stringify(sim.state.dnsRecords(ZONE));
    const res = await call('POST', `${RECORDS}/batch`, { deletes: [{ id: 'd'.repeat(32) }], posts: [{ type: 'A', name: 'orphan.example.com', content: '192.0.2.90', ttl: 300 }] });
    expect(res.status).toBe(404);
    expect((decision(res.headers['x-decision-id']).input as any).request.items[0]).toMatchObject({ operation: 'DELETE', oldObject: null });
    expect(JSON.stringify(sim.state.dnsRecords(ZONE))).toBe(before);
  });

  it('refuses a batch that names a record twice, or spells a list otherwise', async () => {
    const mail = record('mail.example.com');
    const twice = await call('POST', `${RECORDS}/batch`, { patches: [{ id: mail.id, ttl: 120 }], puts: [{ id: mail.id, type: 'A', name: 'mail', content: '192.0.2.10', ttl: 30 }] });
    expect(twice.status).toBe(400);
    expect(twice.json.errors[0].message).toContain('more than once');
    const spelled = await call('POST', `${RECORDS}/batch`, { Posts: [{ type: 'A', name: 'x.example.com', content: '192.0.2.52', ttl: 10 }] });
    expect(spelled.status).toBe(400);
    expect(upstreamWrites()).toEqual([]);
  });
});

describe('cloudflare: rulesets', () => {
  it('denies an entrypoint PUT that drops the managed rule, shown the whole new and old rule lists', async () => {
    const before = await call('GET', ENTRYPOINT);
    const res = await call('PUT', ENTRYPOINT, { rules: [{ action: 'block', expression: 'http.request.uri.path eq "/admin"' }] });
    expectDenied(res, 'keep-managed-rules');
    const input = decision(res.headers['x-decision-id']).input as any;
    expect(input.request.oldObject).toEqual(before.json.result);
    expect(input.request.object.rules).toEqual([{ action: 'block', expression: 'http.request.uri.path eq "/admin"' }]);
    expect(input.request).toMatchObject({ operation: 'UPDATE', resource: 'rulesets', name: before.json.result.id });
    expect(upstreamWrites()).toEqual([]);
  });

  it('allows an entrypoint PUT that keeps it', async () => {
    const before = await call('GET', ENTRYPOINT);
    const managed = before.json.result.rules[0];
    const res = await call('PUT', ENTRYPOINT, { rules: [{ id: managed.id, action: 'execute', expression: 'true', action_parameters: { id: CLOUDFLARE_MANAGED_RULESET } }, { action: 'block', expression: 'ip.src eq 192.0.2.1' }] });
    expect(res.status).toBe(200);
    expect(res.json.result.rules).toHaveLength(2);
    expect(decision(res.headers['x-decision-id']).engine).toBe('residual');
  });

  it('judges a rule deleted on its own as an update of the ruleset without it, and denies dropping the managed rule', async () => {
    const current = (await call('GET', ENTRYPOINT)).json.result;
    const managed = current.rules.find((r: any) => r.action === 'execute');
    const res = await call('DELETE', `/client/v4/zones/${ZONE}/rulesets/${current.id}/rules/${managed.id}`);
    expectDenied(res, 'keep-managed-rules');
    const input = decision(res.headers['x-decision-id']).input as any;
    expect(input.request).toMatchObject({ operation: 'UPDATE', method: 'DELETE', resource: 'rulesets', name: current.id, oldObject: current });
    expect(input.request.object.rules.map((r: any) => r.id)).toEqual(current.rules.filter((r: any) => r.id !== managed.id).map((r: any) => r.id));
    const disable = await call('PATCH', `/client/v4/zones/${ZONE}/rulesets/${current.id}/rules/${managed.id}`, { enabled: false });
    expectDenied(disable, 'keep-managed-rules');
    expect(upstreamWrites()).toEqual([]);
  });

  it('judges a rule added at a position as the ruleset Cloudflare then stores', async () => {
    const current = (await call('GET', ENTRYPOINT)).json.result;
    const first = current.rules[0].id as string;
    const res = await call('POST', `/client/v4/zones/${ZONE}/rulesets/${current.id}/rules`, { action: 'block', expression: 'ip.src eq 192.0.2.9', position: { before: first } });
    expect(res.status).toBe(200);
    const judged = (decision(res.headers['x-decision-id']).input as any).request.object.rules.map((r: any) => r.expression);
    expect(judged).toEqual(res.json.result.rules.map((r: any) => r.expression));
    expect(judged[0]).toBe('ip.src eq 192.0.2.9');
  });

  it('judges an entrypoint PUT of an unconfigured phase as a create', async () => {
    const res = await call('PUT', `/client/v4/zones/${ZONE}/rulesets/phases/http_request_firewall_custom/entrypoint`, { rules: [{ action: 'block', expression: 'true' }] });
    expect(res.status).toBe(200);
    const d = decision(res.headers['x-decision-id']);
    expect((d.input as any).request).toMatchObject({ operation: 'CREATE', oldObject: null, object: { phase: 'http_request_firewall_custom' } });
    // The starter policy warns on custom firewall rules.
    expect(res.headers.warning).toContain('review-rule-change');
  });
});

describe('cloudflare: other products', () => {
  const input = (r: Reply) => (decision(r.headers['x-decision-id']).input as any).request;

  it('names Access applications, Workers routes and page rules, and reads their current object for updates and deletes', async () => {
    const apps = `/client/v4/accounts/${SEED_IDS.account}/access/apps`;
    const app = await call('POST', apps, { name: 'wiki', domain: 'wiki.example.com', type: 'self_hosted' });
    expect(app.status).toBe(201);
    expect(input(app)).toMatchObject({ operation: 'CREATE', resource: 'access/apps', name: '', account: SEED_IDS.account, zone: '', zoneName: '' });
    const appId = app.json.result.id as string;
    const renamed = await call('PUT', `${apps}/${appId}`, { name: 'wiki2', domain: 'wiki.example.com', type: 'self_hosted' });
    expect(renamed.status).toBe(200);
    expect(input(renamed)).toMatchObject({ operation: 'UPDATE', resource: 'access/apps', name: appId, oldObject: app.json.result, object: { name: 'wiki2' } });

    const routes = `/client/v4/zones/${ZONE}/workers/routes`;
    const route = await call('POST', routes, { pattern: 'example.com/api/*', script: 'api' });
    expect(route.status).toBe(200);
    const routeId = route.json.result.id as string;
    const gone = await call('DELETE', `${routes}/${routeId}`);
    expect(gone.status).toBe(200);
    expect(input(gone)).toMatchObject({ operation: 'DELETE', resource: 'workers/routes', name: routeId, object: null, oldObject: route.json.result, zoneName: 'example.com' });

    const page = await call('POST', `/client/v4/zones/${ZONE}/pagerules`, {
      targets: [{ target: 'url', constraint: { operator: 'matches', value: 'example.com/old/*' } }],
      actions: [{ id: 'forwarding_url', value: { url: 'https://example.com/new/$1', status_code: 301 } }], status: 'active',
    });
    expect(page.status).toBe(200);
    expect(input(page)).toMatchObject({ operation: 'CREATE', resource: 'pagerules' });
    // The starter policy lets page rules through with a warning, as a Warning header on Cloudflare's own answer.
    expect(page.headers.warning).toContain('page rule created');
    expect(decision(page.headers['x-decision-id']).warnings).toEqual([expect.stringContaining('[review-rule-change]')]);
  });
});

describe('cloudflare: what the gateway refuses', () => {
  const post = (headers: string[], body: string | Buffer) => raw([`POST /cf${RECORDS} HTTP/1.1`, `authorization: Bearer ${DEFAULT_TOKEN}`, ...headers], body);

  it.each([
    ['duplicate keys', ['content-type: application/json'], '{"type":"A","name":"d.example.com","content":"192.0.2.1","ttl":300,"ttl":30}', 400],
    ['a non-JSON content type', ['content-type: text/plain'], '{"type":"A","name":"d.example.com","content":"192.0.2.1","ttl":30}', 415],
    ['no content type', [], '{"type":"A","name":"d.example.com","content":"192.0.2.1","ttl":30}', 415],
    ['a content-encoded body', ['content-type: application/json', 'content-encoding: gzip'], '{"type":"A"}', 415],
    ['an upper-case field name', ['content-type: application/json'], '{"type":"A","name":"d.example.com","content":"192.0.2.1","TTL":30}', 400],
    ['a list for a DNS record', ['content-type: application/json'], '[{"type":"A","name":"d.example.com","content":"192.0.2.1","ttl":30}]', 400],
    ['invalid UTF-8', ['content-type: application/json'], Buffer.concat([Buffer.from('{"type":"A","name":"d'), Buffer.from([0xff]), Buffer.from('.example.com"}')]), 400],
    ['Connection listing X-Auth-Key', ['content-type: application/json', 'x-auth-key: 0123', 'connection: close, x-auth-key'], '{}', 400],
    ['a method override', ['content-type: application/json', 'x-http-method-override: DELETE'], '{}', 400],
  ])('refuses %s in Cloudflare\'s envelope, logged, never forwarded', async (_what, headers, body, status) => {
    const res = await post(headers, body);
    expect(res.status).toBe(status);
    const json = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)) as { success: boolean; errors: CfError[] };
    expect(json.success).toBe(false);
    expect(json.errors[0]!.code).toBe(90000 + status);
    expect(json.errors[0]!.message).toMatch(/\[WG_ERR_[A-Z_]+\]\. .+ \(decision [0-9a-f-]{36}\)$/);
    const id = /x-decision-id: ([0-9a-f-]{36})/i.exec(res.text)![1]!;
    expect(decision(id).outcome).toBe('error');
    expect(upstreamWrites()).toEqual([]);
  });

  it.each([
    ['a "#" in the path', `POST /cf/client/v4/zones/${ZONE}#/dns_records HTTP/1.1`],
    ['an encoded slash', `DELETE /cf/client/v4/zones/${ZONE}/dns_records%2F${'a'.repeat(32)} HTTP/1.1`],
    ['a dot segment', `DELETE /cf/client/v4/zones/${ZONE}/x/../dns_records/${'a'.repeat(32)} HTTP/1.1`],
    ['a write outside /client/v4', 'POST /cf/client/v5/zones HTTP/1.1'],
  ])('refuses %s', async (_what, line) => {
    const res = await raw([line, `authorization: Bearer ${DEFAULT_TOKEN}`]);
    expect(res.status).toBe(400);
    expect(upstreamWrites()).toEqual([]);
  });

  it('refuses a ruleset body whose field name a case-folding decoder reads as "rules" (ſ, U+017F)', async () => {
    const res = await call('PUT', ENTRYPOINT, { 'rule\u017f': [] });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].message).toContain('snake_case');
    expect(upstreamWrites()).toEqual([]);
  });

  it('refuses a request carrying both a token and a global key', async () => {
    const res = await call('POST', RECORDS, { type: 'A', name: 'both.example.com', content: '192.0.2.1', ttl: 300 }, { authorization: `Bearer ${DEFAULT_TOKEN}`, 'x-auth-email': KEY.email, 'x-auth-key': KEY.key });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].message).toContain('more than one Cloudflare credential scheme');
    expect(upstreamWrites()).toEqual([]);
  });

  it('treats a keyword in another letter case as the same resource', async () => {
    const res = await call('POST', `/client/v4/zones/${ZONE}/DNS_Records`, { type: 'A', name: 'case.example.com', content: '192.0.2.1', ttl: 30 });
    expectDenied(res, 'dns-min-ttl');
  });
});

describe('cloudflare: the decision log', () => {
  it('records every gated request with the decision id its answer carried', async () => {
    const ids = [];
    for (const body of [{ type: 'A', name: 'log1.example.com', content: '192.0.2.60', ttl: 300 }, { type: 'A', name: 'log2.example.com', content: '192.0.2.61', ttl: 5 }]) {
      ids.push((await call('POST', RECORDS, body)).headers['x-decision-id'] as string);
    }
    ids.push((await call('POST', RECORDS, '{"a":1,"a":2}')).headers['x-decision-id'] as string);
    expect(ids.map((id) => decision(id).outcome)).toEqual(['allowed', 'denied', 'error']);
    for (const d of decisions()) expect(d.decision_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives the policy inputs that the cloudflare input schema accepts', async () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
    for (const name of ['common', 'cloudflare']) {
      ajv.addSchema(JSON.parse(readFileSync(join(projectRoot(), 'policies/schemas', name, `${name}.input.schema.json`), 'utf8')) as object);
    }
    const validate = ajv.getSchema('https://writegate.dev/schemas/v1/cloudflare.input.schema.json')!;
    const created = await call('POST', RECORDS, { type: 'A', name: 'schema.example.com', content: '192.0.2.70', ttl: 300 });
    const id = created.json.result.id as string;
    const mx = sim.state.dnsRecords(ZONE).find((r) => r.type === 'MX')!;
    const replies = [
      created,
      await call('PATCH', `${RECORDS}/${id}`, { ttl: 5 }),
      await call('PUT', `${RECORDS}/${id}`, { type: 'A', name: 'schema.example.com', content: '192.0.2.71', ttl: 600 }),
      await call('POST', `${RECORDS}/batch`, { deletes: [{ id }], patches: [{ id: mx.id, comment: 'mx' }], posts: [{ type: 'TXT', name: 'schema', content: 'x', ttl: 300 }] }),
      await call('DELETE', `${RECORDS}/${record('api.example.com').id}`),
      await call('PUT', ENTRYPOINT, { rules: [] }),
      await call('PATCH', `/client/v4/zones/${ZONE}`, { paused: false }),
      await call('POST', `/client/v4/accounts/${SEED_IDS.account}/workers/scripts/w/secrets`, { name: 'S', text: 'hunter2', type: 'secret_text' }),
    ];
    for (const r of replies) {
      const d = decision(r.headers['x-decision-id']);
      expect(['allowed', 'denied']).toContain(d.outcome);
      expect({ summary: d.summary, valid: validate(d.input), errors: validate.errors }).toMatchObject({ valid: true });
    }
    // The worker secret reached the policy but not the log.
    expect(JSON.stringify(decision(replies.at(-1)!.headers['x-decision-id']).input)).not.toContain('hunter2');
  });
});
