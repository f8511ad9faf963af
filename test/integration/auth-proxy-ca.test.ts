/**
 * The trusted proxy's own CA (listen.auth.trustedProxy.clientCA, kube-apiserver's --requestheader-client-ca-file):
 * a certificate is the proxy only when it chains to that CA, and a user (x509) only when it chains to
 * listen.tls.clientCA. The TLS listener accepts both; the attack is a user certificate with the proxy's CN asserting
 * X-Remote-User. A real OPA and a generic mount in front of an upstream that records what it receives.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../app/server.js';
import { CallerAuth } from '../../src/auth/authenticate.js';
import { parseConfig } from '../../src/config/load.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates, type DevCertificates } from '../../src/tls.js';
import { clientPki, pem, type ClientPki } from './auth-pki.js';

interface UserInfo { username: string; groups: string[]; authenticatedBy: string }

describe('the trusted proxy is known by its own CA, not by a CN from the users\' CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-proxy-ca-'));
  let upstream: Server;
  let opa: LocalOpa;
  let gateway: Gateway;
  let certs: DevCertificates;
  let users: ClientPki;
  let proxies: ClientPki;
  const seen: IncomingHttpHeaders[] = [];
  const agents: Agent[] = [];

  const agent = (cert: ReturnType<typeof pem>): Agent => {
    const a = new Agent({ connect: { ca: readFileSync(certs.caCert), ...cert } });
    agents.push(a);
    return a;
  };
  const recordOf = (id: string | string[] | undefined): DecisionEvent => {
    gateway.decisionLog.flush();
    return readFileSync(join(dir, 'decisions.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionEvent).find((d) => d.decision_id === id)!;
  };
  const userInfo = (d: DecisionEvent): UserInfo => (d.input as { request: { userInfo: UserInfo } }).request.userInfo;
  const post = async (dispatcher: Agent, headers: Record<string, string> = {}) => {
    const res = await request(`${gateway.url}/things/v1/things`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    return { status: res.statusCode, id: res.headers['x-decision-id'], text: await res.body.text() };
  };

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    certs = devCertificates(join(dir, 'certs'));
    users = clientPki(join(dir, 'users'), 'users-ca');
    proxies = clientPki(join(dir, 'proxies'), 'proxies-ca');
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    writeFileSync(join(dir, 'tokens.csv'), 'alice-token-0123456789,alice,u-alice,devs\n');
    gateway = await startGateway(parseConfig({
      listen: {
        host: '127.0.0.1', port: 0,
        tls: { cert: certs.cert, key: certs.key, clientCA: users.caCert, clientAuth: 'optional' },
        auth: { tokenFile: join(dir, 'tokens.csv'), trustedProxy: { clientCA: proxies.caCert, clientCNs: ['front-proxy'] } },
      },
      opa: { url: opa.url },
      decisionLog: { path: join(dir, 'decisions.log'), refusedPerSecond: 1000, refusedBurst: 1000 },
      upstreams: [{ name: 'things', kind: 'generic', prefix: '/things', target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, policy: 'writegate/generic/decision' }],
    }));
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(agents.map((a) => a.close()));
    await opa?.stop();
    upstream?.close();
  });

  it('a user certificate with CN=front-proxy is that user: its X-Remote-User: root is stripped, never honoured', async () => {
    const r = await post(agent(pem(users.issue('fake-proxy', { cn: 'front-proxy' }))), { 'x-remote-user': 'root', 'x-remote-group': 'platform-admins' });
    expect(r.status, r.text).toBe(200);
    const d = recordOf(r.id);
    expect(d.caller).toMatchObject({ username: 'front-proxy', authenticated_by: 'x509' });
    expect(d.caller.stripped_identity_headers).toEqual(expect.arrayContaining(['x-remote-user', 'x-remote-group']));
    expect(userInfo(d).groups).not.toContain('platform-admins');
    expect(Object.keys(seen[seen.length - 1]!).filter((h) => h.startsWith('x-remote-'))).toEqual([]);
  });

  it('the proxy\'s certificate from the proxy CA is honoured, directly or through an intermediate', async () => {
    const direct = await post(agent(pem(proxies.issue('front-proxy', { cn: 'front-proxy' }))), { 'x-remote-user': 'carol', 'x-remote-group': 'ops' });
    expect(direct.status, direct.text).toBe(200);
    expect(userInfo(recordOf(direct.id))).toMatchObject({ username: 'carol', groups: ['ops', 'system:authenticated'], authenticatedBy: 'proxy' });
    const viaIntermediate = proxies.intermediate(join(dir, 'proxies-intermediate'), 'proxies-intermediate').issue('front-proxy-2', { cn: 'front-proxy' });
    const chained = await post(agent(pem(viaIntermediate)), { 'x-remote-user': 'dora' });
    expect(chained.status, chained.text).toBe(200);
    expect(userInfo(recordOf(chained.id))).toMatchObject({ username: 'dora', authenticatedBy: 'proxy' });
  });

  it('a proxy CA certificate whose CN is not in clientCNs is not the proxy, nor a user', async () => {
    const before = seen.length;
    const r = await post(agent(pem(proxies.issue('other-proxy', { cn: 'other-proxy' }))), { 'x-remote-user': 'root' });
    expect(r.status, r.text).toBe(401);
    expect(seen.length).toBe(before);
  });

  it('the proxy\'s certificate without X-Remote headers is not an x509 user (nor is it with a token beside it)', async () => {
    const proxy = agent(pem(proxies.issue('front-proxy-bare', { cn: 'front-proxy', o: ['platform-admins'] })));
    const before = seen.length;
    const bare = await post(proxy);
    expect(bare.status, bare.text).toBe(401);
    expect(JSON.parse(bare.text).message).toMatch(/trusted proxy/);
    const withToken = await post(proxy, { authorization: 'Bearer alice-token-0123456789' });
    expect(withToken.status, withToken.text).toBe(401);
    expect(seen.length).toBe(before);
  });

  it('a user certificate through an intermediate of the users\' CA is an x509 user, on a resumed TLS session too', async () => {
    const cert = users.intermediate(join(dir, 'users-intermediate'), 'users-intermediate').issue('erin', { cn: 'erin', o: ['devs'] });
    const erin = agent(pem(cert));
    // Each request on a connection of its own: undici resumes the first one's TLS session, whose handshake sends no chain.
    for (let i = 0; i < 2; i++) {
      const res = await request(`${gateway.url}/things/v1/things`, { method: 'POST', dispatcher: erin, reset: true, headers: { 'content-type': 'application/json' }, body: '{}' });
      const text = await res.body.text();
      expect(res.statusCode, text).toBe(200);
      expect(userInfo(recordOf(res.headers['x-decision-id']))).toMatchObject({ username: 'erin', groups: ['devs', 'system:authenticated'], authenticatedBy: 'x509' });
    }
  });

  it('the issue\'s form, clientCNs without a CA of the proxy\'s own, verifies the proxy against listen.tls.clientCA: only its CNs assert X-Remote-*', async () => {
    const shared = await startGateway(parseConfig({
      listen: {
        host: '127.0.0.1', port: 0,
        tls: { cert: certs.cert, key: certs.key, clientCA: users.caCert, clientAuth: 'optional' },
        auth: { trustedProxy: { clientCNs: ['front-proxy'] } },
      },
      opa: { url: opa.url },
      decisionLog: { path: join(dir, 'shared.log'), refusedPerSecond: 1000, refusedBurst: 1000 },
      upstreams: [{ name: 'things', kind: 'generic', prefix: '/things', target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, policy: 'writegate/generic/decision' }],
    }));
    try {
      const as = async (cert: ReturnType<typeof pem>, headers: Record<string, string>) => {
        const res = await request(`${shared.url}/things/v1/things`, { method: 'POST', dispatcher: agent(cert), headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
        await res.body.text();
        shared.decisionLog.flush();
        const id = res.headers['x-decision-id'];
        const d = readFileSync(join(dir, 'shared.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionEvent).find((e) => e.decision_id === id);
        return { status: res.statusCode, d };
      };
      const proxy = await as(pem(users.issue('shared-proxy', { cn: 'front-proxy' })), { 'x-remote-user': 'carol', 'x-remote-group': 'ops' });
      expect(proxy.status).toBe(200);
      expect(userInfo(proxy.d!)).toMatchObject({ username: 'carol', authenticatedBy: 'proxy' });
      const user = await as(pem(users.issue('shared-user', { cn: 'alice' })), { 'x-remote-user': 'root' });
      expect(user.status).toBe(200);
      expect(user.d!.caller).toMatchObject({ username: 'alice', authenticated_by: 'x509' });
      expect(user.d!.caller.stripped_identity_headers).toEqual(['x-remote-user']);
      const other = await as(pem(proxies.issue('other-ca-proxy', { cn: 'front-proxy' })), { 'x-remote-user': 'root' });
      expect(other.status).toBe(401);
    } finally {
      await shared.close();
    }
  });

  it('refuses a proxy CA file that holds a CA of the users\' (the users\' certificates would be the proxy\'s), or no certificate', () => {
    const both = join(dir, 'both.crt');
    writeFileSync(both, readFileSync(proxies.caCert, 'utf8') + readFileSync(users.caCert, 'utf8'));
    const listen = parseConfig({
      listen: { tls: { cert: certs.cert, key: certs.key, clientCA: users.caCert }, auth: { trustedProxy: { clientCA: both, clientCNs: ['front-proxy'] } } },
      upstreams: [{ name: 'things', kind: 'generic', prefix: '/things', target: 'http://127.0.0.1:1', policy: 'writegate/generic/decision' }],
    }).listen;
    expect(() => new CallerAuth(listen)).toThrow(/users-ca is also in listen.tls.clientCA/);
    const empty = join(dir, 'empty.crt');
    writeFileSync(empty, 'not a certificate\n');
    expect(() => new CallerAuth({ ...listen, auth: { ...listen.auth!, trustedProxy: { ...listen.auth!.trustedProxy!, clientCA: empty } } })).toThrow(/empty.crt holds no PEM certificate/);
  });
});
