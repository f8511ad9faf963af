/**
 * limits.perCaller end to end with real OPA: callers authenticated by the gateway (listen.auth.tokenFile) each get
 * their own bucket and in-flight cap across mounts; a request over either is a 429 in the kind's envelope with
 * Retry-After, nothing goes upstream, and the refusal is recorded with the caller.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../app/server.js';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates } from '../../src/tls.js';
import { until } from '../helpers/wait.js';

describe('limits.perCaller', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-per-caller-'));
  let api: Server;
  let sim: CloudflareSim;
  let opa: LocalOpa;
  let gateway: Gateway;
  let dispatcher: Agent;
  const held: ServerResponse[] = [];

  const call = async (caller: 'alice' | 'bob', path: string) => {
    const res = await request(`${gateway.url}${path}`, { dispatcher, headers: { authorization: `Bearer ${caller}-gateway-token` } });
    return { status: res.statusCode, headers: res.headers, json: await res.body.json() as Record<string, any> };
  };
  const decisions = (): DecisionEvent[] => {
    gateway.decisionLog.flush();
    return readFileSync(join(dir, 'decisions.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'writegate/decision');
  };

  beforeAll(async () => {
    // /slow answers only when the test lets it, so a request stays in flight.
    api = createServer((req, res) => {
      if (req.url === '/v1/slow') {
        held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    sim = await startCloudflareSim();
    writeFileSync(join(dir, 'callers.csv'), 'alice-gateway-token,alice,u-alice\nbob-gateway-token,bob,u-bob\n');
    writeFileSync(join(dir, 'cf-token'), DEFAULT_TOKEN);
    const certs = devCertificates(join(dir, 'certs'));
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    gateway = await startGateway(parseConfig({
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certs.cert, key: certs.key }, auth: { tokenFile: join(dir, 'callers.csv') } },
      opa: { url: opa.url },
      decisionLog: { path: join(dir, 'decisions.log') },
      // A bucket that does not refill within the test: whether a request passes depends on the count alone.
      limits: { perCaller: { rps: 0.001, burst: 4, concurrent: 1 } },
      upstreams: [
        { name: 'things', kind: 'generic', prefix: '/things', target: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, policy: 'writegate/generic/decision' },
        { name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision', credentials: { mode: 'held', tokenFile: join(dir, 'cf-token') } },
      ],
    }));
    dispatcher = new Agent({ connect: { ca: readFileSync(certs.caCert) } });
  });

  afterAll(async () => {
    for (const res of held) res.end();
    await gateway?.close();
    await dispatcher?.close();
    await opa?.stop();
    await sim?.close();
    api?.close();
  });

  it('caps a caller\'s requests in flight, counts its burst across mounts, leaves other callers alone, and records each refusal', async () => {
    const slow = call('alice', '/things/v1/slow');
    await until(() => held.length === 1, { what: 'the slow request upstream' });
    const busy = await call('alice', '/things/v1/fast');
    expect(busy.status).toBe(429);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.json).toMatchObject({ error: 'WG_ERR_RATE_LIMITED' });
    expect(busy.json.message).toContain('requests of this caller in flight');
    expect((await call('bob', '/things/v1/fast')).status).toBe(200);
    held[0]!.end('{}');
    expect((await slow).status).toBe(200);

    // Four in the burst: the slow one, then three more on two mounts; the refusal above took none.
    expect((await call('alice', '/things/v1/fast')).status).toBe(200);
    expect((await call('alice', `/cf/client/v4/zones/${SEED_IDS.zone}`)).status).toBe(200);
    expect((await call('alice', '/things/v1/fast')).status).toBe(200);
    const before = sim.requests.length;
    const over = await call('alice', `/cf/client/v4/zones/${SEED_IDS.zone}`);
    expect(over.status).toBe(429);
    // Cloudflare's own envelope, as the SDKs read it.
    expect(over.json).toMatchObject({ success: false, errors: [{ code: 90429 }] });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(900);
    expect(sim.requests).toHaveLength(before);
    expect((await call('bob', '/things/v1/fast')).status).toBe(200);

    // Each refusal is recorded with its caller.
    const refused = decisions().filter((d) => d.error?.code === 'WG_ERR_RATE_LIMITED');
    expect(refused.map((d) => [d.upstream, d.caller.username, d.outcome])).toEqual([['things', 'alice', 'error'], ['cf', 'alice', 'error']]);
  });
});
