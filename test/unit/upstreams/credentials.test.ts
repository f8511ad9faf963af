import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../src/auth/caller.js';
import { parseConfig } from '../../../src/config/load.js';
import { ofKind, type RawConfig } from '../../../src/config/schema.js';
import type { WritegateError } from '../../../src/errors.js';
import { UpstreamClient } from '../../../src/upstreams/client.js';
import { UpstreamHeaders } from '../../../src/upstreams/headers.js';
import { KubernetesAdapter } from '../../../src/upstreams/kubernetes/adapter.js';
import { impersonationHeaders } from '../../../src/upstreams/kubernetes/impersonation.js';
import type { GateRequest } from '../../../src/upstreams/types.js';

type RawUpstream = RawConfig['upstreams'][number];
const kube: RawUpstream = { name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' };

function issues(upstream: Record<string, unknown>): string[] {
  try {
    parseConfig({ upstreams: [{ ...kube, ...upstream }] });
    return [];
  } catch (err) {
    return ((err as WritegateError).details.issues as { key: string; why: string }[]).map((i) => `${i.key}: ${i.why}`);
  }
}

describe('upstreams[].credentials configuration', () => {
  it('passthrough is the default and takes no source', () => {
    expect(parseConfig({ upstreams: [kube] }).upstreams[0]!.credentials).toEqual({ mode: 'passthrough', impersonate: false });
    expect(issues({ credentials: { tokenFile: '/t' } })).toEqual(['upstreams.0.credentials.tokenFile: only with mode: held (passthrough sends the caller\'s own credential)']);
    expect(issues({ credentials: { impersonate: true } })).toEqual(['upstreams.0.credentials.impersonate: only with mode: held']);
  });

  it('held takes exactly one source: tokenFile, env, or clientCert with clientKey', () => {
    const one = 'upstreams.0.credentials.mode: held needs exactly one of tokenFile, env, or clientCert with clientKey';
    expect(issues({ credentials: { mode: 'held' } })).toEqual([one]);
    expect(issues({ credentials: { mode: 'held', tokenFile: '/t', env: 'T' } })).toEqual([one]);
    expect(issues({ credentials: { mode: 'held', clientCert: '/c' } })).toEqual(['upstreams.0.credentials.clientCert: clientCert and clientKey go together']);
    expect(issues({ credentials: { mode: 'held', clientCert: '/c', clientKey: '/k' }, tls: { cert: '/c2', key: '/k2' } }))
      .toEqual(['upstreams.0.credentials.clientCert: the upstream already has a client certificate (tls.cert); hold one of them']);
    expect(issues({ credentials: { mode: 'held', env: 'not a name' } })).toEqual([expect.stringMatching(/^upstreams\.0\.credentials\.env: /)]);
    expect(issues({ credentials: { mode: 'held', env: 'T' } })).toEqual([]);
  });

  it('impersonate needs a kind that can impersonate; header and prefix go with a held secret, in a header that can carry one', () => {
    const cf = { kind: 'cloudflare', prefix: '/cf', target: 'https://api.cloudflare.test', policy: 'writegate/cloudflare/decision' };
    expect(issues({ ...cf, credentials: { mode: 'held', env: 'T', impersonate: true } }))
      .toContain('upstreams.0.credentials.impersonate: this kind has no way to tell its upstream who the caller is');
    expect(issues({ credentials: { mode: 'held', env: 'T', header: 'Host' } })).toEqual(['upstreams.0.credentials.header: "host" cannot carry a credential']);
    expect(issues({ credentials: { mode: 'held', env: 'T', header: 'X Api' } })).toEqual([expect.stringMatching(/^upstreams\.0\.credentials\.header: /)]);
    expect(issues({ credentials: { mode: 'held', env: 'T', prefix: 'Bearer\n' } })).toEqual([expect.stringMatching(/^upstreams\.0\.credentials\.prefix: /)]);
    expect(issues({ credentials: { mode: 'held', clientCert: '/c', clientKey: '/k', header: 'x-key' } }))
      .toEqual(['upstreams.0.credentials.header: header and prefix are for a held secret (tokenFile, env)']);
  });

  it('impersonate needs an authenticated caller: listen.auth, or identity: tokenreview', () => {
    const held = { credentials: { mode: 'held', env: 'T', impersonate: true } };
    expect(issues(held)).toEqual(['upstreams.0.credentials.impersonate: needs listen.auth or identity: tokenreview (there is no authenticated caller to impersonate otherwise)']);
    expect(issues({ ...held, identity: 'tokenreview' })).toEqual([]);
    expect(() => parseConfig({ listen: { auth: { anonymous: true } }, upstreams: [{ ...kube, ...held }] })).not.toThrow();
  });

  it('resolves credential files against the configuration folder', () => {
    const cfg = parseConfig({ upstreams: [{ ...kube, credentials: { mode: 'held', tokenFile: 'secrets/token' } }] }, '/etc/writegate');
    expect(cfg.upstreams[0]!.credentials.tokenFile).toBe('/etc/writegate/secrets/token');
  });
});

describe('Kubernetes impersonation headers', () => {
  const caller: Caller = { username: 'jane', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: {}, authenticatedBy: 'token' };

  it('names the user, each group, the uid and each extra value, as client-go sends them', () => {
    expect(impersonationHeaders({ ...caller, extra: { 'example.com/Team': ['a', 'b'], scopes: ['x y'] } })).toEqual({
      'impersonate-user': 'jane',
      'impersonate-group': ['devs', 'system:authenticated'],
      'impersonate-uid': 'u-1',
      // The apiserver lower-cases the header name, then percent-decodes: "/" and an upper-case letter are escaped.
      'impersonate-extra-example.com%2F%54eam': ['a', 'b'],
      'impersonate-extra-scopes': ['x y'],
    });
    expect(impersonationHeaders({ ...caller, uid: '', groups: [] })).toEqual({ 'impersonate-user': 'jane' });
  });

  it('sends a non-ASCII name as its UTF-8 bytes and refuses one a header would change', () => {
    expect(impersonationHeaders({ ...caller, username: 'jürgen' })['impersonate-user']).toBe(Buffer.from('jürgen', 'utf8').toString('latin1'));
    expect(() => impersonationHeaders({ ...caller, username: '' })).toThrow(/no username/);
    expect(() => impersonationHeaders({ ...caller, username: ' jane' })).toThrow(/surrounding spaces/);
    expect(() => impersonationHeaders({ ...caller, groups: ['a\r\nimpersonate-user: admin'] })).toThrow(/control characters/);
  });
});

describe('held credentials on a Kubernetes mount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-cred-unit-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'sa-token\n');
  const build = (credentials: Record<string, unknown>) => {
    const cfg = ofKind(parseConfig({ listen: { auth: {} }, upstreams: [{ ...kube, credentials }] }).upstreams[0]!, 'kubernetes');
    const adapter = new KubernetesAdapter(cfg, new UpstreamClient(cfg));
    return { adapter, headers: new UpstreamHeaders(adapter.headers) };
  };
  const req = (headers: Record<string, string>, caller?: Caller): GateRequest => ({
    method: 'POST', url: '/api/v1/namespaces/default/configmaps', headers: { authorization: 'Bearer caller', ...headers }, upgrade: false, remoteAddress: '127.0.0.1',
    ...(caller ? { caller } : {}),
  });
  const jane: Caller = { username: 'jane', uid: '', groups: ['devs'], extra: {}, authenticatedBy: 'token' };

  it('refuses a caller\'s own Impersonate-* and bearer token subprotocol, which only passthrough forwards', () => {
    const held = build({ mode: 'held', tokenFile, impersonate: true });
    expect(held.headers.endToEnd({ 'impersonate-user': 'admin' }).refused?.message).toMatch(/impersonate-user: the gateway holds this upstream's credential/);
    expect(held.headers.endToEnd({ 'sec-websocket-protocol': 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.YWJj' }).refused?.code).toBe('WG_ERR_BAD_REQUEST');
    const passthrough = build({});
    expect(passthrough.headers.endToEnd({ 'impersonate-user': 'admin' }).refused).toBeUndefined();
  });

  it('sends the held token and the caller as impersonation, on forwarded requests and on the gateway\'s own calls alike', () => {
    const { adapter, headers } = build({ mode: 'held', tokenFile, impersonate: true });
    const r = req({ cookie: 'c' }, jane);
    const want = { authorization: 'Bearer sa-token', 'impersonate-user': 'jane', 'impersonate-group': ['devs'] };
    expect(headers.forwarded(r.headers, 'd-1', r)).toEqual({ cookie: 'c', ...want, 'x-decision-id': 'd-1' });
    expect(adapter.headers.credentials(r)).toEqual(want);
  });

  it('with impersonate but no authenticated caller, refuses rather than act as the gateway', () => {
    const { adapter } = build({ mode: 'held', tokenFile, impersonate: true });
    expect(() => adapter.headers.credentials(req({}))).toThrow(/impersonate needs an authenticated caller/);
  });

  it('passthrough keeps the caller\'s credential', () => {
    const { adapter, headers } = build({});
    const r = req({}, jane);
    expect(headers.forwarded(r.headers, undefined, r)).toEqual({ authorization: 'Bearer caller' });
    expect(adapter.headers.credentials(r)).toEqual({ authorization: 'Bearer caller' });
  });
});

describe('answers of a held-secret upstream', () => {
  const secret = 'Sx7-held-secret-0123456789abcdef';
  let server: ReturnType<typeof createServer>;
  let client: UpstreamClient;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-mask-'));
    writeFileSync(join(dir, 'token'), secret);
    // The secret split across chunks written apart, a near miss, and a chunk ending in a prefix that never completes.
    server = createServer((req, res) => {
      res.writeHead(401, { 'x-echo': String(req.headers.authorization) });
      res.write(`{"got":"${secret.slice(0, 10)}`);
      setTimeout(() => {
        res.write(`${secret.slice(10)}","near":"${secret.slice(0, -1)}!","tail":"`);
        setTimeout(() => res.end(secret.slice(0, 5)), 20);
      }, 20);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const cfg = parseConfig({ upstreams: [{ name: 'api', kind: 'generic', prefix: '/api', target: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, policy: 'writegate/generic/decision', credentials: { mode: 'held', tokenFile: join(dir, 'token') } }] }).upstreams[0]!;
    client = new UpstreamClient(cfg);
  });

  afterAll(async () => {
    await client.close();
    server.close();
  });

  it('masks every occurrence, across chunks, in headers and body, keeping every length', async () => {
    const res = await client.request('GET', '/', client.credentials.ownHeaders());
    const stars = '*'.repeat(secret.length);
    expect(res.headers['x-echo']).toBe(`Bearer ${stars}`);
    expect(res.body.toString()).toBe(`{"got":"${stars}","near":"${secret.slice(0, -1)}!","tail":"${secret.slice(0, 5)}`);
  });
});
