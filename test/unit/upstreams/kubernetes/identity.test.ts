import { describe, expect, it } from 'vitest';
import type { UpstreamClient, UpstreamResponse } from '../../../../src/upstreams/client.js';
import { credentialHeaders, impersonatedUser, isWebSocketUpgrade, KubeIdentity } from '../../../../src/upstreams/kubernetes/identity.js';

const protocol = (token: string): string => `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;

describe('credentialHeaders', () => {
  it('carries a WebSocket bearer-token subprotocol into the identity lookup as Authorization', () => {
    const headers = { 'sec-websocket-protocol': `${protocol('alice-token')}, v5.channel.k8s.io`, 'impersonate-user': 'bob' };
    expect(credentialHeaders(headers, true)).toEqual({ authorization: 'Bearer alice-token', 'impersonate-user': 'bob' });
  });

  it('reads every Sec-WebSocket-Protocol value, as the apiserver does', () => {
    expect(credentialHeaders({ 'sec-websocket-protocol': [protocol('t'), 'v4.channel.k8s.io'] as unknown as string }, true))
      .toEqual({ authorization: 'Bearer t' });
  });

  it('decodes the last character without strictness about its unused bits, as Go\'s RawURLEncoding does', () => {
    expect(credentialHeaders({ 'sec-websocket-protocol': 'base64url.bearer.authorization.k8s.io.YR, v5.channel.k8s.io' }, true))
      .toEqual({ authorization: 'Bearer a' });
  });

  it('ignores the subprotocol on a request the apiserver does not see as a WebSocket', () => {
    expect(credentialHeaders({ 'sec-websocket-protocol': `${protocol('t')}, v5.channel.k8s.io` }, false)).toEqual({});
  });

  it.each([
    ['next to an Authorization header', { authorization: 'Bearer other', 'sec-websocket-protocol': `${protocol('t')}, v5.channel.k8s.io` }],
    ['twice', { 'sec-websocket-protocol': `${protocol('a')}, ${protocol('b')}, v5.channel.k8s.io` }],
    ['alone', { 'sec-websocket-protocol': protocol('t') }],
    ['padded', { 'sec-websocket-protocol': `${protocol('ab')}==, v5.channel.k8s.io` }],
    ['in the standard alphabet', { 'sec-websocket-protocol': 'base64url.bearer.authorization.k8s.io.a+b/, v5.channel.k8s.io' }],
    ['not UTF-8', { 'sec-websocket-protocol': `base64url.bearer.authorization.k8s.io.${Buffer.from([0xff, 0xfe]).toString('base64url')}, v5.channel.k8s.io` }],
    ['empty', { 'sec-websocket-protocol': 'base64url.bearer.authorization.k8s.io., v5.channel.k8s.io' }],
  ])('refuses a token subprotocol %s', (_why, headers) => {
    expect(() => credentialHeaders(headers, true)).toThrow(expect.objectContaining({ code: 'WG_ERR_BAD_REQUEST' }));
  });
});

describe('isWebSocketUpgrade', () => {
  it('is an upgrade whose Upgrade header is "websocket" in any case', () => {
    expect(isWebSocketUpgrade(true, { upgrade: 'WebSocket' })).toBe(true);
    expect(isWebSocketUpgrade(true, { upgrade: 'SPDY/3.1' })).toBe(false);
    expect(isWebSocketUpgrade(false, { upgrade: 'websocket' })).toBe(false);
  });
});

/** An upstream that answers every SelfSubjectReview with `status` and records what it was sent. */
function fakeUpstream(status: number, cert?: Buffer): { client: UpstreamClient; sent: Record<string, string | string[] | undefined>[] } {
  const sent: Record<string, string | string[] | undefined>[] = [];
  const client = {
    tls: { rejectUnauthorized: true, ...(cert ? { cert } : {}) },
    async request(_method: string, _path: string, headers: Record<string, string | string[] | undefined>): Promise<UpstreamResponse> {
      sent.push(headers);
      const body = JSON.stringify({ kind: 'SelfSubjectReview', status: { userInfo: { username: 'gateway-cert', groups: ['system:authenticated'] } } });
      return { status, headers: {}, body: Buffer.from(body) };
    },
  } as unknown as UpstreamClient;
  return { client, sent };
}

describe('KubeIdentity', () => {
  it('answers anonymous without a lookup when the request and the gateway carry no credential', async () => {
    const { client, sent } = fakeUpstream(201);
    expect(await new KubeIdentity(client).resolve({})).toEqual({ username: 'system:anonymous', groups: ['system:unauthenticated'], authenticatedBy: 'anonymous' });
    expect(sent).toHaveLength(0);
  });

  it('asks the upstream when the gateway presents a client certificate: every request is that certificate upstream', async () => {
    const { client, sent } = fakeUpstream(201, Buffer.from('cert'));
    expect((await new KubeIdentity(client).resolve({})).username).toBe('gateway-cert');
    expect(sent).toHaveLength(1);
  });

  it('takes a 401 as anonymous (the apiserver refuses the request itself the same way)', async () => {
    const { client } = fakeUpstream(401);
    expect((await new KubeIdentity(client).resolve({ authorization: 'Bearer bad' })).username).toBe('system:anonymous');
  });

  it('refuses when the lookup is forbidden or fails: it says nothing about who the caller is', async () => {
    for (const status of [403, 404, 500]) {
      const { client } = fakeUpstream(status);
      await expect(new KubeIdentity(client).resolve({ authorization: 'Bearer t' })).rejects.toMatchObject({ code: 'WG_ERR_UPSTREAM_BAD_ANSWER' });
    }
  });
});

describe('impersonatedUser', () => {
  it('reads the headers as the apiserver\'s impersonation filter does, extra keys percent-decoded', () => {
    expect(impersonatedUser({
      'impersonate-user': 'olga', 'impersonate-group': 'ops', 'impersonate-uid': 'u-7', 'impersonate-extra-acme.com%2fteam': 'infra',
    })).toEqual({ username: 'olga', uid: 'u-7', groups: ['ops'], extra: { 'acme.com/team': ['infra'] } });
  });

  it('is null without impersonation, and refuses groups, uid or extras without a user', () => {
    expect(impersonatedUser({ authorization: 'Bearer t' })).toBeNull();
    for (const header of ['impersonate-group', 'impersonate-uid', 'impersonate-extra-scopes']) {
      expect(() => impersonatedUser({ [header]: 'x' })).toThrow(expect.objectContaining({ code: 'WG_ERR_BAD_REQUEST' }));
    }
    expect(() => impersonatedUser({ 'impersonate-user': 'a', 'impersonate-extra-%zz': 'x' })).toThrow(expect.objectContaining({ code: 'WG_ERR_BAD_REQUEST' }));
  });
});
