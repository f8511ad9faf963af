/**
 * Attacks on caller authentication (listen.auth, listen.tls.clientCA) and held credentials, end to end with a real
 * OPA: a TLS gateway with a token file, client certificates (clientAuth optional), a trusted proxy by address, and
 * a generic mount holding its upstream's secret in front of an upstream that echoes what it receives. Every attack
 * checks what reached the upstream (its own record), what the policy was told (the decision record) and that the
 * held secret never came back.
 */
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../app/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates, type DevCertificates } from '../../src/tls.js';
import { decisionIdOf, statusOf } from '../helpers/raw-http.js';
import { until } from '../helpers/wait.js';
import { clientPki, pem, type ClientPki } from './auth-pki.js';

/** The upstream's secret the gateway holds: with "/" and "+", as base64 secrets have. */
const HELD = 'held/Secret+0123456789abcdefXYZ';
const ADMIN_TOKEN = 'admin-api-token-0123456789abcdef';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

describe('attacks on caller identity and held credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-attacks-identity-'));
  const tokenFile = join(dir, 'tokens.csv');
  const repo = join(dir, 'policy-repo');
  let upstream: Server;
  let elsewhere: Server;
  let opa: LocalOpa;
  let gateway: Gateway;
  let certs: DevCertificates;
  let pki: ClientPki;
  let foreign: ClientPki;
  const seen: Seen[] = [];
  const seenElsewhere: Seen[] = [];
  const agents: Agent[] = [];

  const agent = (connect: Record<string, unknown> = {}): Agent => {
    const a = new Agent({ connect: { ca: readFileSync(certs.caCert), ...connect } });
    agents.push(a);
    return a;
  };
  const decisions = (): DecisionEvent[] => {
    gateway.decisionLog.flush();
    return readFileSync(join(dir, 'decisions.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionEvent).filter((e) => e.type === 'writegate/decision');
  };
  const recordOf = (id: string | string[] | undefined): DecisionEvent | undefined => decisions().find((d) => d.decision_id === id);
  const call = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string; dispatcher?: Agent } = {}) => {
    const res = await request(`${gateway.url}${path}`, {
      method: (init.method ?? 'GET') as 'GET',
      dispatcher: init.dispatcher ?? agent(),
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };
  const lastSeen = (): Seen => seen[seen.length - 1]!;
  /** Writes `text` on a TLS connection of its own (from `localAddress`) and reads until the gateway closes it. */
  const exchange = async (text: string, localAddress = '127.0.0.1'): Promise<string> => {
    const url = new URL(gateway.url);
    const tcp = netConnect({ host: url.hostname, port: Number(url.port), localAddress });
    const socket = tlsConnect({ socket: tcp, ca: readFileSync(certs.caCert) });
    await once(socket, 'secureConnect');
    socket.write(text);
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  beforeAll(async () => {
    const record = (into: Seen[]) => createServer((req, res) => {
      into.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      req.resume();
      req.on('end', () => {
        const echo = { method: req.method, url: req.url, headers: req.headers };
        const key = String(req.headers['x-api-key'] ?? '');
        if (req.url === '/v1/trailer') {
          // The secret in the reason phrase and in a trailer, which the masker does not look at.
          res.statusMessage = `OK ${key}`;
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-echo' });
          res.write('body');
          res.addTrailers({ 'x-echo': key });
          res.end();
          return;
        }
        if (req.url === '/v1/encoded') {
          // The secret echoed as PHP's json_encode writes it (`/` escaped), percent-encoded in a redirect and
          // form-encoded (lower-case hex) in a header.
          const form = new URLSearchParams({ k: key }).toString().replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());
          res.writeHead(200, { 'content-type': 'application/json', location: `/x?k=${encodeURIComponent(key)}`, 'x-form': form });
          res.end(JSON.stringify(echo).replace(/\//g, '\\/'));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo-key': key });
        res.end(JSON.stringify(echo));
      });
    });
    upstream = record(seen);
    elsewhere = record(seenElsewhere);
    upstream.listen(0, '127.0.0.1');
    elsewhere.listen(0, '127.0.0.1');
    await Promise.all([once(upstream, 'listening'), once(elsewhere, 'listening')]);
    certs = devCertificates(join(dir, 'certs'));
    pki = clientPki(join(dir, 'pki'), 'clients-ca');
    foreign = clientPki(join(dir, 'foreign'), 'clients-ca');
    writeFileSync(tokenFile, 'alice-token-0123456789,alice,u-alice,devs\nbob-token-0123456789,bob,u-bob,"platform-admins,devs"\n');
    writeFileSync(join(dir, 'held'), `${HELD}\n`);
    writeFileSync(join(dir, 'admin-token'), `${ADMIN_TOKEN}\n`);
    mkdirSync(repo);
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'empty']);
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    gateway = await startGateway(parseConfig({
      listen: {
        host: '127.0.0.1', port: 0,
        tls: { cert: certs.cert, key: certs.key, clientCA: pki.caCert, clientAuth: 'optional' },
        auth: {
          tokenFile,
          trustedProxy: { addresses: ['127.0.0.2/32'], headers: { user: 'X-Remote-User', group: 'X-Remote-Group', extraPrefix: 'X-Remote-Extra-' } },
        },
      },
      opa: { url: opa.url },
      decisionLog: { path: join(dir, 'decisions.log') },
      admin: { tokenFile: join(dir, 'admin-token'), source: repo, pushLog: join(dir, 'push.log') },
      upstreams: [{
        name: 'things', kind: 'generic', prefix: '/things', target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        policy: 'writegate/generic/decision', credentials: { mode: 'held', tokenFile: join(dir, 'held'), header: 'x-api-key', prefix: '' },
      }],
    }));
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(agents.map((a) => a.close()));
    await opa?.stop();
    upstream?.close();
    elsewhere?.close();
  });

  const ALICE = { authorization: 'Bearer alice-token-0123456789' };

  it('X-Remote-* from a peer that is not the trusted proxy are stripped: the caller is the token\'s, the upstream never sees them', async () => {
    const r = await call('/things/v1/things', {
      method: 'POST', body: '{"name":"a"}',
      headers: { ...ALICE, 'x-remote-user': 'bob', 'x-remote-group': 'platform-admins', 'X-Remote-Extra-Scopes': 'all' },
    });
    expect(r.status, r.text).toBe(200);
    const d = recordOf(r.headers['x-decision-id'])!;
    expect(d.caller.username).toBe('alice');
    const input = d.input as { request: { userInfo: { username: string; groups: string[]; authenticatedBy: string } } };
    expect(input.request.userInfo).toMatchObject({ username: 'alice', authenticatedBy: 'token' });
    expect(input.request.userInfo.groups).not.toContain('platform-admins');
    expect(d.caller.stripped_identity_headers).toEqual(expect.arrayContaining(['x-remote-user', 'x-remote-group', 'x-remote-extra-scopes']));
    expect(Object.keys(lastSeen().headers).filter((h) => h.startsWith('x-remote-'))).toEqual([]);
  });

  it('X-Remote-User alone from an untrusted peer is no credential: 401, nothing forwarded', async () => {
    const before = seen.length;
    const r = await call('/things/v1/things', { headers: { 'x-remote-user': 'bob', 'x-remote-group': 'platform-admins' } });
    expect(r.status).toBe(401);
    expect(seen.length).toBe(before);
  });

  it('the trusted proxy\'s identity counts only as end-to-end headers: listed in Connection, it is not the caller', async () => {
    const post = (extra: string): string => `POST /things/v1/things HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n${extra}\r\n{}`;
    const honoured = await exchange(post('x-remote-user: carol\r\nx-remote-group: ops\r\n'), '127.0.0.2');
    expect(statusOf(honoured), honoured).toBe(200);
    expect(recordOf(decisionIdOf(honoured))!.caller).toMatchObject({ username: 'carol', remote_addr: '127.0.0.2' });
    // The same from 127.0.0.1 is stripped.
    const spoofed = await exchange(post('x-remote-user: carol\r\nauthorization: Bearer alice-token-0123456789\r\n'));
    expect(recordOf(decisionIdOf(spoofed))!.caller.username).toBe('alice');
    const listed = await exchange(post('connection: x-remote-user\r\nx-remote-user: carol\r\nauthorization: Bearer alice-token-0123456789\r\n'), '127.0.0.2');
    // Every later hop drops what Connection lists, so the proxy's listed identity is not the request's: the token is.
    expect(statusOf(listed), listed).toBe(200);
    expect(recordOf(decisionIdOf(listed))!.caller).toMatchObject({ username: 'alice', authenticated_by: 'token' });
  });

  it('a certificate from another CA is refused, even next to a valid token (no fallback)', async () => {
    const stolen = foreign.issue('mallory', { cn: 'bob', o: ['platform-admins'] });
    const before = seen.length;
    const r = await call('/things/v1/things', { headers: ALICE, dispatcher: agent(pem(stolen)) });
    expect(r.status).toBe(401);
    expect(seen.length).toBe(before);
  });

  it('a verified certificate wins over spoofed X-Remote-* and its own O; a bearer token next to it is consumed, not forwarded', async () => {
    const cert = pki.issue('dave', { cn: 'dave', o: ['devs'] });
    const r = await call('/things/v1/things', {
      method: 'POST', body: '{}', dispatcher: agent(pem(cert)),
      headers: { ...ALICE, 'x-remote-user': 'bob', 'x-remote-group': 'platform-admins' },
    });
    expect(r.status, r.text).toBe(200);
    const d = recordOf(r.headers['x-decision-id'])!;
    const info = (d.input as { request: { userInfo: { username: string; groups: string[]; authenticatedBy: string } } }).request.userInfo;
    expect(info).toMatchObject({ username: 'dave', authenticatedBy: 'x509' });
    expect(info.groups).not.toContain('platform-admins');
    expect(lastSeen().headers.authorization).toBeUndefined();
  });

  it('HTTP/1.1 pipelining: two requests on one connection with two tokens are two callers, each as its own token says', async () => {
    const url = new URL(gateway.url);
    const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: readFileSync(certs.caCert) });
    await once(socket, 'secureConnect');
    const body = '{}';
    const req = (token: string, close: boolean): string => [
      'POST /things/v1/things HTTP/1.1', `host: ${url.host}`, `authorization: Bearer ${token}`, 'content-type: application/json',
      `content-length: ${body.length}`, ...(close ? ['connection: close'] : []), '', body,
    ].join('\r\n');
    socket.write(req('alice-token-0123456789', false) + req('not-a-token', false) + req('bob-token-0123456789', true));
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([200, 401, 200]);
    const ids = [...text.matchAll(/x-decision-id: ([0-9a-f-]{36})/gi)].map((m) => m[1]!);
    const users = ids.map((id) => recordOf(id)?.caller.username);
    expect(users).toContain('alice');
    expect(users).toContain('bob');
    expect(users.indexOf('alice')).toBeLessThan(users.indexOf('bob'));
  });

  it('a token removed from the token file is refused from its next use; a broken file accepts no token', async () => {
    const original = readFileSync(tokenFile, 'utf8');
    try {
      expect((await call('/things/v1/things', { headers: { authorization: 'Bearer bob-token-0123456789' } })).status).toBe(200);
      writeFileSync(tokenFile, 'alice-token-0123456789,alice,u-alice,devs\n');
      await until(async () => (await call('/things/v1/things', { headers: { authorization: 'Bearer bob-token-0123456789' } })).status === 401, { timeoutMs: 5000, intervalMs: 200 });
      expect((await call('/things/v1/things', { headers: ALICE })).status).toBe(200);
      writeFileSync(tokenFile, 'alice-token-0123456789,"alice\n');
      await until(async () => (await call('/things/v1/things', { headers: ALICE })).status === 401, { timeoutMs: 5000, intervalMs: 200 });
    } finally {
      writeFileSync(tokenFile, original);
    }
    await until(async () => (await call('/things/v1/things', { headers: ALICE })).status === 200, { timeoutMs: 5000, intervalMs: 200 });
  });

  it('bearer spellings a client might try: scheme case, Token scheme, a padded token, two Authorization lines', async () => {
    expect((await call('/things/v1/things', { headers: { authorization: 'bEaReR alice-token-0123456789' } })).status).toBe(200);
    expect((await call('/things/v1/things', { headers: { authorization: 'Token alice-token-0123456789' } })).status).toBe(200);
    expect(lastSeen().headers.authorization).toBeUndefined();
    const before = seen.length;
    expect((await call('/things/v1/things', { headers: { authorization: 'Bearer  alice-token-0123456789' } })).status).toBe(401);
    expect((await call('/things/v1/things', { headers: { authorization: 'Bearer alice-token-0123456789x' } })).status).toBe(401);
    expect(seen.length).toBe(before);
  });

  it('the held secret goes only to the configured upstream: Host, absolute-form and path tricks change nothing', async () => {
    const elsewhereHost = `127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    const before = seen.length;
    await call('/things/v1/things', { headers: { ...ALICE, host: elsewhereHost } });
    expect(seen.length).toBe(before + 1);
    const url = new URL(gateway.url);
    for (const target of [`http://${elsewhereHost}/things/v1/things`, `//${elsewhereHost}/v1`, '/things/..%2f..%2fv1', '/things/%2e%2e/x', '/things@127.0.0.1/v1', '/things/\\\\evil/v1']) {
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: readFileSync(certs.caCert) });
      await once(socket, 'secureConnect');
      socket.write(`GET ${target} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer alice-token-0123456789\r\nconnection: close\r\n\r\n`);
      const chunks: Buffer[] = [];
      for await (const c of socket) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      expect(text, target).not.toContain(HELD);
    }
    expect(seenElsewhere).toEqual([]);
    // Whatever reached the upstream reached it on a path of its own, under the mount's target.
    for (const s of seen) expect(s.url.startsWith('/')).toBe(true);
  });

  it('the caller\'s own x-api-key never goes upstream next to the held one, and the echoed secret is masked', async () => {
    const r = await call('/things/v1/things', { headers: { ...ALICE, 'x-api-key': 'caller-own-key' } });
    expect(r.status).toBe(200);
    expect(lastSeen().headers['x-api-key']).toBe(HELD);
    expect(r.text).not.toContain(HELD);
    expect(r.text).not.toContain('caller-own-key');
    expect(String(r.headers['x-echo-key'])).not.toContain(HELD);
  });

  it('an upstream that echoes the held secret JSON-escaped, percent-encoded or form-encoded does not hand it to the caller', async () => {
    const r = await call('/things/v1/encoded', { headers: ALICE });
    expect(r.status).toBe(200);
    expect(lastSeen().headers['x-api-key']).toBe(HELD);
    expect(r.text).toContain('"x-api-key":"');
    expect(r.text).not.toContain(HELD.replace(/\//g, '\\/'));
    expect(r.text).not.toContain('Secret+0123456789abcdefXYZ');
    expect(String(r.headers.location)).toMatch(/^\/x\?k=\*+$/);
    expect(String(r.headers['x-form'])).toMatch(/^k=\*+$/);
  });

  it('an upstream that puts the held secret in its reason phrase or a trailer does not hand it to the caller', async () => {
    const answer = await exchange('GET /things/v1/trailer HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer alice-token-0123456789\r\nte: trailers\r\nconnection: close\r\n\r\n');
    expect(statusOf(answer), answer).toBe(200);
    expect(answer).toContain('body');
    expect(answer).not.toContain(HELD);
  });

  it('/-/admin/policies: a caller\'s gateway token or certificate is not the admin token; the source and a ref read as an option are refused', async () => {
    const cert = pki.issue('root', { cn: 'root', o: ['system:masters', 'platform-admins'] });
    const post = (body: unknown, headers: Record<string, string>, dispatcher?: Agent) => call('/-/admin/policies/plan', {
      method: 'POST', body: JSON.stringify(body), headers, ...(dispatcher ? { dispatcher } : {}),
    });
    expect((await post({}, { authorization: 'Bearer bob-token-0123456789' })).status).toBe(401);
    expect((await post({}, {}, agent(pem(cert)))).status).toBe(401);
    expect((await post({}, { authorization: `Bearer ${ADMIN_TOKEN}x` })).status).toBe(401);
    expect((await post({}, { authorization: `Token ${ADMIN_TOKEN}` })).status).toBe(401);
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await post({ source: '/etc' }, auth)).status).toBe(400);
    const marker = join(dir, 'pwned');
    const injected = await post({ ref: `--upload-pack=touch ${marker}` }, auth);
    expect(injected.status).toBeGreaterThanOrEqual(400);
    const exts = await post({ ref: `main:ext::sh -c touch% ${marker}` }, auth);
    expect(exts.status).toBeGreaterThanOrEqual(400);
    expect(existsSync(marker)).toBe(false);
  });

  it('neither the held secret nor a gateway token is in the decision log or /-/metrics after all of the above', async () => {
    const metrics = await call('/-/metrics');
    const log = readFileSync(join(dir, 'decisions.log'), 'utf8');
    for (const secret of [HELD, ADMIN_TOKEN, 'alice-token-0123456789', 'bob-token-0123456789']) {
      expect(log).not.toContain(secret);
      expect(metrics.text).not.toContain(secret);
    }
    expect(log.length).toBeGreaterThan(0);
  });
});

describe('limits.perCaller cannot be escaped by making up a credential per request', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-attacks-percaller-'));
  let upstream: Server;
  let opa: LocalOpa;
  let gateway: Gateway;
  let forwarded = 0;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      forwarded += 1;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    // No listen.auth: nothing proves who calls, so a credential header is only a claim.
    gateway = await startGateway(parseConfig({
      listen: { host: '127.0.0.1', port: 0 },
      opa: { url: opa.url },
      decisionLog: { path: join(dir, 'decisions.log') },
      limits: { perCaller: { rps: 0.001, burst: 3, concurrent: 10 } },
      upstreams: [{ name: 'things', kind: 'generic', prefix: '/things', target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, policy: 'writegate/generic/decision' }],
    }));
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await opa?.stop();
    upstream?.close();
  });

  it('twenty requests from one address, each with a fresh bearer token or cookie, get only the burst through', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const headers = i % 2 === 0 ? { authorization: `Bearer made-up-${i}` } : { cookie: `session=made-up-${i}` };
      const res = await request(`${gateway.url}/things/v1/things`, { headers });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(17);
    expect(forwarded).toBe(3);
  });
});
