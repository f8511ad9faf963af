/**
 * The official `cloudflare` SDK with a token the gateway issued (`listen.auth.tokenFile`) while the gateway holds
 * the Cloudflare API token (`credentials.mode: held`), in front of the Cloudflare simulator and real OPA with the
 * starter policies: the policy judges the gateway's caller, Cloudflare sees only the held token, and the held token
 * never reaches the SDK (answers, errors) or the decision log.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Cloudflare from 'cloudflare';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../app/server.js';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates } from '../../src/tls.js';

const ZONE = SEED_IDS.zone;

describe('the cloudflare SDK with a gateway-issued token, the gateway holding the Cloudflare token', () => {
  let sim: CloudflareSim;
  let opa: LocalOpa;
  let gateway: Gateway;
  let dispatcher: Agent;
  let cf: Cloudflare;
  let work: string;
  const callerToken = `gw-ci-${randomBytes(16).toString('hex')}`;
  const seenBySdk: string[] = [];

  const decisions = (): DecisionEvent[] => {
    gateway.decisionLog.flush();
    return readFileSync(join(work, 'decisions.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'writegate/decision');
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'wg-cf-held-'));
    sim = await startCloudflareSim();
    writeFileSync(join(work, 'cloudflare-token'), `${DEFAULT_TOKEN}\n`);
    writeFileSync(join(work, 'callers.csv'), `${callerToken},ci-bot,uid-ci,"ci"\n`);
    const certs = devCertificates(join(work, 'certs'));
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    gateway = await startGateway(parseConfig({
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certs.cert, key: certs.key }, auth: { tokenFile: join(work, 'callers.csv') } },
      opa: { url: opa.url },
      decisionLog: { path: join(work, 'decisions.log') },
      upstreams: [{
        name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision',
        credentials: { mode: 'held', tokenFile: join(work, 'cloudflare-token') },
      }],
    }));
    dispatcher = new Agent({ connect: { ca: readFileSync(certs.caCert) } });
    cf = new Cloudflare({
      baseURL: `${gateway.url}/cf/client/v4`,
      // Only the credential given: the SDK would otherwise read CLOUDFLARE_API_KEY and the like from the environment.
      apiToken: callerToken, apiKey: null, apiEmail: null, userServiceKey: null,
      maxRetries: 0,
      fetch: (async (url: string, init: RequestInit) => {
        const res = await undiciFetch(url, init as never);
        // Everything the SDK is answered, for the leak check.
        seenBySdk.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.clone().text()}`);
        return res;
      }) as unknown as typeof fetch,
      fetchOptions: { dispatcher } as never,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await dispatcher?.close();
    await opa?.stop();
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => sim.clearRequests());

  it('a create is judged as the caller (a CI identity) and sent with the held token only; its delete the shipped policy keeps from CI', async () => {
    const rec = await cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'held', content: '192.0.2.90', ttl: 300, proxied: false });
    expect(sim.state.dnsRecords(ZONE).some((r) => r.id === rec.id)).toBe(true);
    const err = await cf.dns.records.delete(rec.id, { zone_id: ZONE }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Cloudflare.PermissionDeniedError);
    expect((err as Error).message).toContain('[ci-no-record-delete]');
    expect(sim.state.dnsRecords(ZONE).some((r) => r.id === rec.id)).toBe(true);
    const [d] = decisions().filter((e) => e.method === 'POST' && e.outcome === 'allowed');
    expect(d).toMatchObject({ caller: { username: 'ci-bot', authenticated_by: 'token' } });
    expect((d!.input as any).request.userInfo).toMatchObject({ username: 'ci-bot', groups: expect.arrayContaining(['ci']), authenticatedBy: 'token' });
    expect(sim.requests.length).toBeGreaterThan(0);
    for (const r of sim.requests) {
      expect(r.headers.authorization).toBe(`Bearer ${DEFAULT_TOKEN}`);
      expect(JSON.stringify(r.headers)).not.toContain(callerToken);
    }
  });

  it('a write the policy denies is a 403 in Cloudflare\'s envelope and never reaches Cloudflare', async () => {
    const err = await cf.dns.records.create({ zone_id: ZONE, type: 'A', name: 'fast', content: '192.0.2.91', ttl: 30 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Cloudflare.PermissionDeniedError);
    expect((err as Error).message).toContain('[dns-min-ttl]');
    expect(sim.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('a caller with no gateway token is refused by the gateway, not let through with the held token', async () => {
    const anonymous = new Cloudflare({
      baseURL: `${gateway.url}/cf/client/v4`, apiToken: null, apiKey: null, apiEmail: null, userServiceKey: null, maxRetries: 0,
      fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher } as never,
    });
    const err = await anonymous.zones.get({ zone_id: ZONE }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Cloudflare.AuthenticationError);
    expect(sim.requests).toEqual([]);
  });

  it('the held token never reaches the SDK or the decision log', () => {
    expect(seenBySdk.length).toBeGreaterThan(2);
    expect(seenBySdk.join('\n')).not.toContain(DEFAULT_TOKEN);
    expect(readFileSync(join(work, 'decisions.log'), 'utf8')).not.toContain(DEFAULT_TOKEN);
  });
});
