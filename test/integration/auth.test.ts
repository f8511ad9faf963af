/**
 * Caller authentication (listen.auth, listen.tls.clientCA) in front of the Kubernetes simulator: each method reaches
 * the policy as `input.request.userInfo` with its `authenticatedBy`; spoofed identity never does. The simulator
 * takes every request as its admin here (the gateway consumes the caller's gateway token, so nothing of the
 * caller's goes upstream): what is checked is what the gateway tells the policy and what it forwards.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { clientPki, pem, type ClientPki } from './auth-pki.js';

const TOKENS_CSV = [
  'alice-gateway-token-0001,alice,u-alice,"devs,ci"',
  'bob-gateway-token-0002,bob,u-bob',
  '',
  'olga-gateway-token-0003,olga,u-olga,platform-admins,extra-column-ignored',
].join('\n');

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; json: any; text: string }

const configMap = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });

describe('caller authentication in front of Kubernetes', () => {
  let s: Stack;
  let pki: ClientPki;
  let stranger: ClientPki;
  let proxies: ClientPki;
  let tokenFile: string;
  const agents: Agent[] = [];

  beforeAll(async () => {
    const dir = join(process.env.TMPDIR ?? '/tmp', `writegate-auth-${process.pid}-${Date.now()}`);
    pki = clientPki(join(dir, 'clients'), 'clients CA');
    stranger = clientPki(join(dir, 'stranger'), 'another CA');
    proxies = clientPki(join(dir, 'proxies'), 'front proxy CA');
    tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, TOKENS_CSV);
    s = await startStack({
      engine: 'opa',
      simOpen: true,
      clientCA: pki.caCert,
      auth: { tokenFile, trustedProxy: { clientCA: proxies.caCert, clientCNs: ['front-proxy'], addresses: ['127.0.0.2/32'] } },
      decisionLog: { refusedPerSecond: 1000, refusedBurst: 1000, refusedInputBytes: 1 << 20 },
    });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await s?.close();
  });
  beforeEach(() => s.sim.clearRequests());

  /** An agent trusting the gateway, optionally presenting a client certificate and connecting from `localAddress`. */
  function agent(opts: { cert?: { cert: Buffer; key: Buffer }; localAddress?: string } = {}): Agent {
    const a = new Agent({ connect: { ca: readFileSync(s.certs.caCert), ...opts.cert, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) } });
    agents.push(a);
    return a;
  }

  async function call(method: string, path: string, opts: { headers?: Record<string, string | string[]>; body?: string; dispatcher?: Agent } = {}): Promise<Reply> {
    const res = await request(`${s.k8s}${path}`, {
      method: method as 'GET',
      dispatcher: opts.dispatcher ?? s.dispatcher,
      headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    const text = await res.body.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.statusCode, headers: res.headers, json, text };
  }

  /** A request sent from a given local address (node:https binds it). */
  function fromAddress(localAddress: string, method: string, path: string, headers: Record<string, string | string[]>, body: string): Promise<Reply> {
    const url = new URL(`${s.k8s}${path}`);
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: url.hostname, port: url.port, path: url.pathname, method, headers, localAddress, ca: readFileSync(s.certs.caCert) }, (res) => {
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
      req.end(body);
    });
  }

  function decisionOf(res: Reply): DecisionEvent {
    const id = res.headers['x-decision-id'];
    const event = s.decisions().find((e) => e.decision_id === id);
    if (!event) throw new Error(`no decision ${String(id)}`);
    return event;
  }

  const userInfo = (e: DecisionEvent): any => (e.input as any).request.userInfo;

  const create = (name: string, opts: Parameters<typeof call>[2] = {}): Promise<Reply> =>
    call('POST', '/api/v1/namespaces/default/configmaps', { ...opts, body: configMap(name) });

  describe('attacks', () => {
    it('refuses a request without credentials with 401 in a Status, reads too, and records it', async () => {
      const write = await create('anon-1');
      expect(write.status).toBe(401);
      expect(write.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
      expect(write.json.message).toContain('WG_ERR_UNAUTHENTICATED');
      expect(decisionOf(write)).toMatchObject({ outcome: 'error', error: { code: 'WG_ERR_UNAUTHENTICATED' } });
      const read = await call('GET', '/api/v1/namespaces/default/configmaps');
      expect(read.status).toBe(401);
      expect(s.sim.requests).toHaveLength(0);
    });

    it('refuses an unknown bearer token, whatever else the request says', async () => {
      const res = await create('unknown-1', { headers: { authorization: 'Bearer not-a-gateway-token' } });
      expect(res.status).toBe(401);
      expect(decisionOf(res).error).toMatchObject({ code: 'WG_ERR_UNAUTHENTICATED' });
      expect(s.sim.requests).toHaveLength(0);
    });

    it('refuses a client certificate from another CA (no fallback to anonymous or to a token)', async () => {
      const dispatcher = agent({ cert: pem(stranger.issue('mallory', { cn: 'carol', o: ['platform-admins'] })) });
      const res = await create('stranger-1', { dispatcher });
      expect(res.status).toBe(401);
      expect(res.json.message).toContain('client certificate is not trusted');
      const withToken = await create('stranger-2', { dispatcher, headers: { authorization: 'Bearer alice-gateway-token-0001' } });
      expect(withToken.status).toBe(401);
      expect(s.sim.requests).toHaveLength(0);
    });

    it.each([
      ['expired', { days: -1 }, 'CERT_HAS_EXPIRED'],
      ['issued for servers only', { usage: 'serverAuth' as const }, 'INVALID_PURPOSE'],
    ])('refuses a certificate of the trusted CA that is %s', async (_why, options, problem) => {
      const dispatcher = agent({ cert: pem(pki.issue(`carol-${problem}`, { cn: 'carol', o: ['platform-admins'] }, options)) });
      const res = await create(`bad-cert-${problem.toLowerCase()}`, { dispatcher });
      expect(res.status).toBe(401);
      expect(res.json.message, res.text).toContain(problem);
      expect(s.sim.requests).toHaveLength(0);
    });

    it('strips X-Remote-* from a peer that is not the trusted proxy, records it, and judges the real caller', async () => {
      const res = await create('spoof-1', {
        headers: { authorization: 'Bearer bob-gateway-token-0002', 'x-remote-user': 'olga', 'x-remote-group': 'platform-admins', 'x-remote-extra-scopes': 'all' },
      });
      expect(res.status).toBe(201);
      const event = decisionOf(res);
      expect(userInfo(event)).toMatchObject({ username: 'bob', groups: ['system:authenticated'], authenticatedBy: 'token' });
      expect(event.caller).toMatchObject({ username: 'bob', authenticated_by: 'token' });
      expect(event.caller.stripped_identity_headers?.sort()).toEqual(['x-remote-extra-scopes', 'x-remote-group', 'x-remote-user']);
      expect(JSON.stringify(event.input)).not.toContain('olga');
      const forwarded = s.sim.requests.find((r) => r.method === 'POST' && !r.url.includes('dryRun'))!;
      expect(Object.keys(forwarded.headers).filter((h) => h.startsWith('x-remote-'))).toEqual([]);
    });

    it('keeps the record of a refused request bounded however many identity headers a peer spoofs', async () => {
      const headers = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-remote-extra-k${i}`, 'v'])) as Record<string, string>;
      const res = await create('spoof-many', { headers: { ...headers, 'x-remote-user': 'olga' } });
      expect(res.status).toBe(401);
      const stripped = decisionOf(res).caller.stripped_identity_headers!;
      expect(stripped).toHaveLength(9);
      expect(stripped.at(-1)).toBe('…[33 more]');
      expect(s.sim.requests).toHaveLength(0);
    });

    it('never forwards the gateway token upstream, nor puts it in the decision log (a short digest only)', async () => {
      const res = await create('token-hidden-1', { headers: { authorization: 'Bearer alice-gateway-token-0001' } });
      expect(res.status).toBe(201);
      expect(s.sim.requests.length).toBeGreaterThan(0);
      for (const r of s.sim.requests) expect(r.headers.authorization).toBeUndefined();
      const event = decisionOf(res);
      expect(event.caller.token_sha256).toMatch(/^[0-9a-f]{12}$/);
      expect(readFileSync(s.logPath, 'utf8')).not.toContain('alice-gateway-token-0001');
    });

    it('stops accepting a token removed from the file, and accepts a new one, after the file changes', async () => {
      expect((await create('reload-1', { headers: { authorization: 'Bearer bob-gateway-token-0002' } })).status).toBe(201);
      const next = `${tokenFile}.next`;
      writeFileSync(next, TOKENS_CSV.replace('bob-gateway-token-0002,bob,u-bob', 'rotated-bob-token-0004,bob,u-bob'));
      // Replaced the way editors and Kubernetes secret volumes do: a new file renamed over the old one.
      renameSync(next, tokenFile);
      await until(async () => (await create('reload-2', { headers: { authorization: 'Bearer bob-gateway-token-0002' } })).status === 401, { what: 'the removed token refused' });
      const rotated = await create('reload-3', { headers: { authorization: 'Bearer rotated-bob-token-0004' } });
      expect(rotated.status).toBe(201);
      expect(userInfo(decisionOf(rotated)).username).toBe('bob');
      writeFileSync(tokenFile, TOKENS_CSV);
      await until(async () => (await create('reload-4', { headers: { authorization: 'Bearer bob-gateway-token-0002' } })).status === 201, { what: 'the token file restored' });
    });

    it('accepts no token at all while the file is invalid (a broken edit never keeps a revoked token working)', async () => {
      writeFileSync(tokenFile, `${TOKENS_CSV}\nbroken"quote,x,y\n`);
      await until(async () => (await create('broken-1', { headers: { authorization: 'Bearer alice-gateway-token-0001' } })).status === 401, { what: 'tokens refused' });
      writeFileSync(tokenFile, TOKENS_CSV);
      await until(async () => (await create('broken-2', { headers: { authorization: 'Bearer alice-gateway-token-0001' } })).status === 201, { what: 'tokens accepted again' });
    });

    it('shows the policy who asks and whom the request impersonates, and forwards the claim unchanged', async () => {
      const res = await create('impersonate-1', {
        headers: { authorization: 'Bearer alice-gateway-token-0001', 'impersonate-user': 'olga', 'impersonate-group': 'platform-admins', 'impersonate-extra-scopes': 'all' },
      });
      const request = (decisionOf(res).input as any).request;
      expect(request.userInfo).toMatchObject({ username: 'alice', authenticatedBy: 'token' });
      expect(request.impersonatedUser).toEqual({ username: 'olga', uid: '', groups: ['platform-admins'], extra: { scopes: ['all'] } });
    });

    it('refuses impersonation of groups without a user (the apiserver refuses it too)', async () => {
      const res = await create('impersonate-2', { headers: { authorization: 'Bearer alice-gateway-token-0001', 'impersonate-group': 'platform-admins' } });
      expect(res.status).toBe(400);
      expect(res.json.message).toContain('without Impersonate-User');
    });
  });

  describe('each method reaches the policy', () => {
    it('a bearer token of tokenFile: authenticatedBy token, groups from the file plus system:authenticated', async () => {
      const res = await create('token-1', { headers: { authorization: 'Bearer alice-gateway-token-0001' } });
      expect(res.status).toBe(201);
      expect(userInfo(decisionOf(res))).toEqual({ username: 'alice', uid: 'u-alice', groups: ['devs', 'ci', 'system:authenticated'], authenticatedBy: 'token' });
      expect((decisionOf(res).input as any).request.impersonatedUser).toBeNull();
    });

    it('a client certificate: CN the user, each O a group, the uid attribute, the certificate as credential id', async () => {
      const cert = pki.issue('carol', { cn: 'carol', o: ['platform-admins', 'ops'], uid: 'u-carol' });
      const res = await create('x509-1', { dispatcher: agent({ cert: pem(cert) }) });
      expect(res.status).toBe(201);
      const info = userInfo(decisionOf(res));
      expect(info).toMatchObject({ username: 'carol', uid: 'u-carol', groups: ['platform-admins', 'ops', 'system:authenticated'], authenticatedBy: 'x509' });
      expect(info.extra['authentication.kubernetes.io/credential-id'][0]).toMatch(/^X509SHA256=[0-9a-f]{64}$/);
    });

    it('a certificate wins over a token, in the apiserver\'s order, and the token still never goes upstream', async () => {
      const cert = pki.issue('dave', { cn: 'dave', o: ['devs'] });
      const res = await create('x509-2', { dispatcher: agent({ cert: pem(cert) }), headers: { authorization: 'Bearer alice-gateway-token-0001' } });
      expect(userInfo(decisionOf(res))).toMatchObject({ username: 'dave', authenticatedBy: 'x509' });
      for (const r of s.sim.requests) expect(r.headers.authorization).toBeUndefined();
    });

    it('the trusted proxy by address: X-Remote-* honoured, each group line one group, extras decoded', async () => {
      // undici's connector does not bind a local address; node:https does.
      const res = await fromAddress('127.0.0.2', 'POST', '/api/v1/namespaces/default/configmaps', {
        'content-type': 'application/json', 'x-remote-user': 'erin', 'x-remote-group': ['ops', 'platform-admins, ci'], 'x-remote-extra-acme.com%2fteam': 'infra',
      }, configMap('proxy-1'));
      expect(res.status, res.text).toBe(201);
      const event = decisionOf(res);
      expect(userInfo(event)).toEqual({
        username: 'erin', groups: ['ops', 'platform-admins, ci', 'system:authenticated'], extra: { 'acme.com/team': ['infra'] }, authenticatedBy: 'proxy',
      });
      expect(event.caller.stripped_identity_headers).toBeUndefined();
      const forwarded = s.sim.requests.find((r) => r.method === 'POST' && !r.url.includes('dryRun'))!;
      expect(Object.keys(forwarded.headers).filter((h) => h.startsWith('x-remote-'))).toEqual([]);
    });

    it('the trusted proxy by its client certificate from the proxy CA, with its CN', async () => {
      const dispatcher = agent({ cert: pem(proxies.issue('front-proxy', { cn: 'front-proxy' })) });
      const res = await create('proxy-2', { dispatcher, headers: { 'x-remote-user': 'frank', 'x-remote-group': 'ci' } });
      expect(userInfo(decisionOf(res))).toMatchObject({ username: 'frank', groups: ['ci', 'system:authenticated'], authenticatedBy: 'proxy' });
    });

    it('a certificate with another CN is not the proxy: its X-Remote-* are stripped, and it is itself', async () => {
      const dispatcher = agent({ cert: pem(pki.issue('not-proxy', { cn: 'grace' })) });
      const res = await create('proxy-3', { dispatcher, headers: { 'x-remote-user': 'frank' } });
      const event = decisionOf(res);
      expect(userInfo(event)).toMatchObject({ username: 'grace', authenticatedBy: 'x509' });
      expect(event.caller.stripped_identity_headers).toEqual(['x-remote-user']);
    });
  });
});

describe('anonymous: true', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa', simOpen: true, auth: { anonymous: true } }); });
  afterAll(async () => { await s?.close(); });

  it('a request without credentials is system:anonymous in system:unauthenticated', async () => {
    const res = await request(`${s.k8s}/api/v1/namespaces/default/configmaps`, {
      method: 'POST', dispatcher: s.dispatcher, headers: { 'content-type': 'application/json' }, body: configMap('anonymous-1'),
    });
    await res.body.text();
    const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])!;
    expect((event.input as any).request.userInfo).toEqual({ username: 'system:anonymous', groups: ['system:unauthenticated'], authenticatedBy: 'anonymous' });
    expect(event.caller.authenticated_by).toBe('anonymous');
  });

  it('without a token file, a bearer token is the caller\'s upstream credential: forwarded, the caller anonymous', async () => {
    s.sim.clearRequests();
    const res = await request(`${s.k8s}/api/v1/namespaces/default/configmaps`, {
      method: 'POST', dispatcher: s.dispatcher, headers: { 'content-type': 'application/json', authorization: 'Bearer upstream-token' }, body: configMap('anonymous-2'),
    });
    await res.body.text();
    expect(res.statusCode).toBe(201);
    expect(s.sim.requests.some((r) => r.headers.authorization === 'Bearer upstream-token')).toBe(true);
  });
});

describe('clientAuth: required', () => {
  let s: Stack;
  let pki: ClientPki;
  beforeAll(async () => {
    pki = clientPki(join(process.env.TMPDIR ?? '/tmp', `writegate-auth-required-${process.pid}-${Date.now()}`), 'clients CA');
    s = await startStack({ engine: 'opa', simOpen: true, clientCA: pki.caCert, clientAuth: 'required', auth: {} });
  });
  afterAll(async () => { await s?.close(); });

  it('refuses the TLS handshake without a verified certificate, and serves one with it', async () => {
    await expect(request(`${s.k8s}/api/v1/namespaces/default/configmaps`, { dispatcher: s.dispatcher })).rejects.toThrow();
    const withCert = new Agent({ connect: { ca: readFileSync(s.certs.caCert), ...pem(pki.issue('ivy', { cn: 'ivy' })) } });
    try {
      const res = await request(`${s.k8s}/api/v1/namespaces/default/configmaps`, {
        method: 'POST', dispatcher: withCert, headers: { 'content-type': 'application/json' }, body: configMap('required-1'),
      });
      await res.body.text();
      expect(res.statusCode).toBe(201);
      const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])!;
      expect((event.input as any).request.userInfo).toMatchObject({ username: 'ivy', authenticatedBy: 'x509' });
    } finally {
      await withCert.close();
    }
  });
});
