import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../../../sim/cloudflare/index.js';
import { parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import { CloudflareAdapter } from '../../../../src/upstreams/cloudflare/adapter.js';
import { CloudflareIdentity, UNIDENTIFIED } from '../../../../src/upstreams/cloudflare/identity.js';
import { UpstreamClient } from '../../../../src/upstreams/client.js';
import type { GateRequest } from '../../../../src/upstreams/types.js';

const TOKEN_ID = '5a4b3c2d1e0f5a4b3c2d1e0f5a4b3c2d';
const DISABLED = 'disabled-token-000000000000000000000000a';
const UNKNOWN = 'unknown-token-0000000000000000000000000a';

let sim: CloudflareSim;
let client: UpstreamClient;

beforeAll(async () => {
  sim = await startCloudflareSim({ tokens: { [DEFAULT_TOKEN]: { id: TOKEN_ID }, [DISABLED]: { status: 'disabled' } } });
  const cfg = ofKind(parseConfig({ upstreams: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'p' }] }).upstreams[0]!, 'cloudflare');
  client = new UpstreamClient(cfg);
});
afterAll(async () => {
  await client.close();
  await sim.close();
});
beforeEach(() => sim.clearRequests());

const verifications = () => sim.requests.filter((r) => r.url === '/client/v4/user/tokens/verify').length;

describe('cloudflare identity', () => {
  it('is the token id Cloudflare verifies, asked once per token while cached', async () => {
    const identity = new CloudflareIdentity(client);
    const user = await identity.resolve({ authorization: `Bearer ${DEFAULT_TOKEN}` });
    expect(user).toEqual({ username: TOKEN_ID, uid: TOKEN_ID, groups: [], extra: { scheme: ['api-token'] }, authenticatedBy: 'upstream' });
    await identity.resolve({ authorization: `Bearer ${DEFAULT_TOKEN}` });
    expect(verifications()).toBe(1);
  });

  it('leaves a token Cloudflare does not vouch for unidentified, and asks again next time', async () => {
    const identity = new CloudflareIdentity(client);
    expect(await identity.resolve({ authorization: `Bearer ${UNKNOWN}` })).toEqual(UNIDENTIFIED);
    expect(await identity.resolve({ authorization: `Bearer ${DISABLED}` })).toEqual(UNIDENTIFIED);
    expect(await identity.resolve({ authorization: `Bearer ${UNKNOWN}` })).toEqual(UNIDENTIFIED);
    expect(verifications()).toBe(3);
  });

  it('takes a global key\'s caller from its email, and no credential as unidentified, without asking', async () => {
    const identity = new CloudflareIdentity(client);
    expect(await identity.resolve({ 'x-auth-email': 'a@example.com', 'x-auth-key': 'k' })).toMatchObject({ username: 'a@example.com', authenticatedBy: 'upstream' });
    expect(await identity.resolve({ 'x-auth-email': 'A@Example.COM', 'x-auth-key': 'k' })).toMatchObject({ username: 'a@example.com' });
    expect(await identity.resolve({ 'x-auth-email': 'a@example.com' })).toEqual(UNIDENTIFIED);
    expect(await identity.resolve({})).toEqual(UNIDENTIFIED);
    expect(await identity.resolve({ authorization: 'Basic dTpw' })).toEqual(UNIDENTIFIED);
    expect(verifications()).toBe(0);
  });

  it('with identity: none, verifies nothing and tells the policy the caller is not identified', async () => {
    const cfg = ofKind(parseConfig({ upstreams: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'p', identity: 'none' }] }).upstreams[0]!, 'cloudflare');
    const adapter = new CloudflareAdapter(cfg, client);
    const req: GateRequest = {
      method: 'POST', url: `/client/v4/zones/${SEED_IDS.zone}/dns_records`, upgrade: false, remoteAddress: '127.0.0.1',
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
    };
    const input = await adapter.buildInput(req, adapter.classify(req), Buffer.from('{"type":"A","name":"x","content":"192.0.2.1"}'), client);
    expect((input.request as { userInfo: unknown }).userInfo).toEqual(UNIDENTIFIED);
    expect(verifications()).toBe(0);
  });
});
