/**
 * Caller authentication in front of Cloudflare (simulator), NetBox (simulator) and a generic mount: each method the gateway knows
 * reaches the policy as `userInfo` with its `authenticatedBy` on every kind, the refusal is each kind's own 401, and
 * the shipped Cloudflare rule keyed on groups (CI identities create but do not delete records) acts on it. The
 * gateway holds each upstream's token (credentials.mode: held), so callers present only their gateway identity.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import { SEED_TOKENS, startNetboxSim, type NetboxSim } from '../../sim/netbox/index.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { clientPki, pem, type ClientPki } from './auth-pki.js';

const RECORDS = `/client/v4/zones/${SEED_IDS.zone}/dns_records`;
const TOKENS_CSV = 'dana-gateway-token-01,dana,u-dana,"dns-admins"\ndeploy-bot-token-0002,deploy-bot,u-bot,ci\n';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; json: any; text: string }

let cf: CloudflareSim;
let nb: NetboxSim;
let s: Stack;
let pki: ClientPki;
const agents: Agent[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'writegate-auth-kinds-'));
  pki = clientPki(join(dir, 'clients'), 'clients CA');
  writeFileSync(join(dir, 'tokens.csv'), TOKENS_CSV);
  writeFileSync(join(dir, 'cf-token'), `${DEFAULT_TOKEN}\n`);
  writeFileSync(join(dir, 'nb-token'), `${SEED_TOKENS.admin}\n`);
  cf = await startCloudflareSim();
  nb = await startNetboxSim({ basePath: 'netbox' });
  s = await startStack({
    kinds: [
      { name: 'cf', kind: 'cloudflare', prefix: '/cf', target: cf.url, policy: 'writegate/cloudflare/decision', credentials: { mode: 'held', tokenFile: join(dir, 'cf-token') } },
      { name: 'netbox', kind: 'netbox', prefix: '/netbox', target: nb.url, policy: 'writegate/netbox/decision', credentials: { mode: 'held', tokenFile: join(dir, 'nb-token') } },
      // The generic kind in front of the same Cloudflare simulator: it knows no identity scheme of its own.
      { name: 'gen', kind: 'generic', prefix: '/gen', target: cf.url, policy: 'writegate/generic/decision', credentials: { mode: 'held', tokenFile: join(dir, 'cf-token') } },
    ],
    clientCA: pki.caCert,
    auth: { tokenFile: join(dir, 'tokens.csv'), trustedProxy: { addresses: ['127.0.0.2'] } },
    decisionLog: { refusedPerSecond: 1000, refusedBurst: 1000 },
  });
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await s?.close();
  await cf?.close();
  await nb?.close();
});

function withCertificate(cn: string, o: string[]): Agent {
  const a = new Agent({ connect: { ca: readFileSync(s.certs.caCert), ...pem(pki.issue(`${cn}-${o.join('-')}`, { cn, o })) } });
  agents.push(a);
  return a;
}

async function call(url: string, method: string, body: unknown, opts: { token?: string; scheme?: string; dispatcher?: Agent } = {}): Promise<Reply> {
  const res = await request(url, {
    method: method as 'GET',
    dispatcher: opts.dispatcher ?? s.dispatcher,
    headers: { ...(opts.token ? { authorization: `${opts.scheme ?? 'Bearer'} ${opts.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.statusCode, headers: res.headers, json, text };
}

/** A request from 127.0.0.2, the trusted proxy's address (node:https binds it; undici's connector does not). */
function viaProxy(url: string, method: string, headers: Record<string, string | string[]>, body: unknown): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: u.hostname, port: u.port, path: u.pathname, method, localAddress: '127.0.0.2', ca: readFileSync(s.certs.caCert),
      headers: { ...headers, 'content-type': 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function decisionOf(res: Reply): DecisionEvent {
  const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id']);
  if (!event) throw new Error(`no decision for ${res.status} ${res.text}`);
  return event;
}

const userInfo = (res: Reply): any => (decisionOf(res).input as any).request.userInfo;

function validator(kind: string): (x: unknown) => boolean {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  for (const name of ['common', kind]) {
    ajv.addSchema(JSON.parse(readFileSync(join(projectRoot(), 'policies/schemas', name, `${name}.input.schema.json`), 'utf8')) as object);
  }
  return ajv.getSchema(`https://writegate.dev/schemas/v1/${kind}.input.schema.json`)! as (x: unknown) => boolean;
}

describe('Cloudflare mount, identity gateway', () => {
  const url = (): string => `${s.url('cf')}${RECORDS}`;
  const record = (name: string): Record<string, unknown> => ({ type: 'A', name: `${name}.example.com`, content: '192.0.2.10', ttl: 300 });

  it('no gateway credential: Cloudflare\'s own 401 envelope, code 10000, recorded', async () => {
    const res = await call(url(), 'POST', record('anon'));
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ success: false, result: null, errors: [{ code: 10000 }] });
    expect(res.json.errors[0].message).toContain('WG_ERR_UNAUTHENTICATED');
    expect(decisionOf(res).error?.code).toBe('WG_ERR_UNAUTHENTICATED');
  });

  it('a gateway token: userInfo from the token file, valid under the input schema', async () => {
    const res = await call(url(), 'POST', record('dana'), { token: 'dana-gateway-token-01' });
    expect(res.status, res.text).toBe(200);
    expect(userInfo(res)).toEqual({ username: 'dana', uid: 'u-dana', groups: ['dns-admins', 'system:authenticated'], extra: {}, authenticatedBy: 'token' });
    expect(validator('cloudflare')(decisionOf(res).input)).toBe(true);
    // The gateway's token never reaches Cloudflare; the held Cloudflare token does.
    const sent = cf.requests.filter((r) => r.method === 'POST');
    expect(sent.at(-1)!.headers.authorization).toBe(`Bearer ${DEFAULT_TOKEN}`);
  });

  it('a client certificate: x509, groups from O', async () => {
    const res = await call(url(), 'POST', record('erin'), { dispatcher: withCertificate('erin', ['dns-admins']) });
    expect(res.status, res.text).toBe(200);
    expect(userInfo(res)).toMatchObject({ username: 'erin', groups: ['dns-admins', 'system:authenticated'], authenticatedBy: 'x509' });
  });

  it('the trusted proxy: proxy; the same headers from anyone else are stripped and recorded', async () => {
    const res = await viaProxy(url(), 'POST', { 'x-remote-user': 'frank', 'x-remote-group': 'dns-admins' }, record('frank'));
    expect(res.status, res.text).toBe(200);
    expect(userInfo(res)).toMatchObject({ username: 'frank', groups: ['dns-admins', 'system:authenticated'], authenticatedBy: 'proxy' });
    const spoof = await request(url(), {
      method: 'POST', dispatcher: s.dispatcher,
      headers: { 'content-type': 'application/json', 'x-remote-user': 'frank', authorization: 'Bearer deploy-bot-token-0002' },
      body: JSON.stringify(record('spoof')),
    });
    const text = await spoof.body.text();
    const event = decisionOf({ status: spoof.statusCode, headers: spoof.headers, json: undefined, text });
    expect((event.input as any).request.userInfo.username).toBe('deploy-bot');
    expect(event.caller.stripped_identity_headers).toEqual(['x-remote-user']);
  });

  it('a CI identity creates records but may not delete them (ci-no-record-delete); a DNS admin may', async () => {
    const created = await call(url(), 'POST', record('ci-made'), { token: 'deploy-bot-token-0002' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.result.id as string;
    const denied = await call(`${url()}/${id}`, 'DELETE', undefined, { token: 'deploy-bot-token-0002' });
    expect(denied.status).toBe(403);
    expect(denied.json.errors[0].message).toContain('ci-no-record-delete');
    const deleted = await call(`${url()}/${id}`, 'DELETE', undefined, { token: 'dana-gateway-token-01' });
    expect(deleted.status, deleted.text).toBe(200);
  });
});

describe('NetBox mount, identity gateway', () => {
  const url = (): string => `${s.url('netbox')}/api/dcim/sites/`;
  const site = (slug: string): Record<string, unknown> => ({ name: slug.toUpperCase(), slug });

  it('no gateway credential: NetBox\'s own 401 answer, recorded', async () => {
    const res = await call(url(), 'POST', site('anon1'));
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect(decisionOf(res).error?.code).toBe('WG_ERR_UNAUTHENTICATED');
  });

  it('takes a gateway token in pynetbox\'s scheme (Authorization: Token), and never forwards it', async () => {
    nb.clearRequests();
    const res = await call(url(), 'POST', site('pyn1'), { token: 'dana-gateway-token-01', scheme: 'Token' });
    expect(res.status, res.text).toBe(201);
    expect(userInfo(res)).toMatchObject({ username: 'dana', authenticatedBy: 'token' });
    expect(nb.requests.length).toBeGreaterThan(0);
    for (const r of nb.requests) expect(r.headers.authorization).toBe(`Bearer ${SEED_TOKENS.admin}`);
  });

  it('each method reaches the policy with its authenticatedBy, valid under the input schema', async () => {
    const validate = validator('netbox');
    const byToken = await call(url(), 'POST', site('tok1'), { token: 'dana-gateway-token-01' });
    expect(byToken.status, byToken.text).toBe(201);
    expect(userInfo(byToken)).toEqual({ username: 'dana', uid: 'u-dana', groups: ['dns-admins', 'system:authenticated'], extra: {}, authenticatedBy: 'token' });
    expect(validate(decisionOf(byToken).input)).toBe(true);
    const byCert = await call(url(), 'POST', site('crt1'), { dispatcher: withCertificate('gina', ['network-engineers']) });
    expect(byCert.status, byCert.text).toBe(201);
    expect(userInfo(byCert)).toMatchObject({ username: 'gina', groups: ['network-engineers', 'system:authenticated'], authenticatedBy: 'x509' });
    const byProxy = await viaProxy(url(), 'POST', { 'x-remote-user': 'hugo' }, site('prx1'));
    expect(byProxy.status, byProxy.text).toBe(201);
    expect(userInfo(byProxy)).toMatchObject({ username: 'hugo', authenticatedBy: 'proxy' });
  });
});

describe('generic mount, identity gateway', () => {
  it('the kind that knows no identity scheme is told the authenticated caller', async () => {
    const res = await call(`${s.url('gen')}${RECORDS}`, 'POST', { type: 'A', name: 'gen.example.com', content: '192.0.2.11', ttl: 300 }, { token: 'dana-gateway-token-01' });
    expect(res.status, res.text).toBe(200);
    expect(userInfo(res)).toEqual({ username: 'dana', uid: 'u-dana', groups: ['dns-admins', 'system:authenticated'], extra: {}, authenticatedBy: 'token' });
    expect(validator('generic')(decisionOf(res).input)).toBe(true);
    const anonymous = await call(`${s.url('gen')}${RECORDS}`, 'POST', { type: 'A', name: 'gen2.example.com', content: '192.0.2.12', ttl: 300 });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ error: 'WG_ERR_UNAUTHENTICATED' });
  });
});
