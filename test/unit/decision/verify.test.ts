import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { DecisionLog, type LogRecord, type ResidualMismatchEvent, type VerificationEvent } from '../../../src/decision/log.js';
import { ResidualVerifier, VERIFY_CONCURRENCY, VERIFY_QUEUE_BYTES, verifyAllow, type VerificationJob } from '../../../src/decision/verify.js';
import { Metrics } from '../../../src/metrics.js';
import { freePort } from '../../../src/net.js';
import { OpaClient } from '../../../src/opa/client.js';
import { startLocalOpa, type LocalOpa } from '../../../src/opa/supervisor.js';
import { ResidualEngine, residualOpaClient } from '../../../src/residual/engine.js';
import { until } from '../../helpers/wait.js';

const POLICY = `package t

clean := {"allow": true, "deny": set(), "warn": set()}

denied := {"allow": false, "deny": {"frozen [t-freeze]"}, "warn": set()}

warned := {"allow": true, "deny": set(), "warn": {"careful"}}

refused := false

x := 1 if input.a

x := 2 if input.b

conflict := x == 1

limited := {"allow": input.n < data.cfg.max}
`;

const RESIDUAL_RESULT = { allow: true, deny: [], warn: [] };

function job(path: string, n = 0, bodyBytes = 0): VerificationJob {
  return { decisionId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, upstream: 'k8s', path, revision: 'rev-1', input: {}, result: RESIDUAL_RESULT, bodyBytes };
}

/** A TCP server that accepts and never answers: every OPA call to it stays in flight. */
async function silentServer(): Promise<{ url: string; connections(): number; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => { sockets.add(s); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => sockets.size,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** mulberry32: a small seeded PRNG, so that a sampling test draws the same numbers on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function count(metrics: Metrics, result: string): Promise<number> {
  const m = await metrics.residualVerifications.get();
  return m.values.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);
}

/** Every line of the log: only re-check records are expected in these tests. */
function records(log: DecisionLog, path: string): Array<VerificationEvent | ResidualMismatchEvent> {
  log.flush();
  const all = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord);
  return all.filter((r): r is VerificationEvent | ResidualMismatchEvent => r.type === 'writegate/verification' || r.type === 'writegate/residual-mismatch');
}

function newLog(): { log: DecisionLog; path: string } {
  const path = join(mkdtempSync(join(tmpdir(), 'wg-verify-')), 'decisions.log');
  return { log: new DecisionLog(path, 'test'), path };
}

describe('verifyAllow against a real OPA', () => {
  let opa: LocalOpa;
  let client: OpaClient;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-verify-policy-'));
    writeFileSync(join(dir, 't.rego'), POLICY);
    opa = await startLocalOpa({ paths: [dir] });
    client = new OpaClient({ url: opa.url, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await client?.close();
    await opa?.stop();
  });

  it('a clean allow is verified, with OPA\'s own decision_id and result', async () => {
    const v = await verifyAllow(client, 't/clean', {});
    expect(v).toMatchObject({ status: 'verified', allowed: true, reasons: [], opa: { defined: true, result: RESIDUAL_RESULT } });
    expect(v.opa.decision_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['t/denied', {}, ['deny: frozen [t-freeze]']],
    ['t/warned', {}, ['warn: careful']],
    ['t/refused', {}, ['deny: denied by policy']],
    ['t/missing', {}, ['WG_ERR_NO_DECISION: no decision: the policy is undefined for this request']],
  ])('%s is a mismatch: %j', async (path, input, reasons) => {
    const v = await verifyAllow(client, path, input);
    expect(v.status).toBe('mismatch');
    expect(v.reasons).toEqual(reasons);
  });

  it('an eval_conflict_error answer is a mismatch, not an unverified decision', async () => {
    const v = await verifyAllow(client, 't/conflict', { a: true, b: true });
    expect(v.status).toBe('mismatch');
    expect(v.opa.error).toMatchObject({ code: 'internal_error', errors: ['eval_conflict_error'] });
    expect(v.reasons[0]).toMatch(/^eval_conflict_error: rule data\.t\.x produced conflicting values/);
    expect((await verifyAllow(client, 't/conflict', { a: true })).status).toBe('verified');
  });

  it('an OPA that cannot be reached or does not answer in time leaves the decision unverified', async () => {
    const gone = new OpaClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 1000 });
    const silent = await silentServer();
    const slow = new OpaClient({ url: silent.url, timeoutMs: 200 });
    try {
      expect(await verifyAllow(gone, 't/clean', {})).toMatchObject({ status: 'unverified', opa: { error: { code: 'WG_ERR_OPA_UNAVAILABLE' } } });
      expect(await verifyAllow(slow, 't/clean', {})).toMatchObject({ status: 'unverified', opa: { error: { code: 'WG_ERR_OPA_TIMEOUT' } } });
    } finally {
      silent.close();
      await gone.close();
      await slow.close();
    }
  });

  it('switchOff takes a path off the residual while that revision is in force, and only that revision', async () => {
    const put = async (max: number): Promise<void> => {
      const r = await request(`${opa.url}/v1/data/cfg`, { method: 'PUT', body: JSON.stringify({ max }), headers: { 'content-type': 'application/json' } });
      expect(r.statusCode).toBe(204);
      await r.body.dump();
    };
    await put(5);
    const engine = new ResidualEngine({ client: residualOpaClient(opa.url) });
    await engine.start(['t/limited']);
    engine.stop();
    const first = engine.evaluate('t/limited', { n: 1 });
    expect(first.outcome).toBe('allow');
    const revision = (first as { revision: string }).revision;
    engine.switchOff('t/limited', 'a-revision-no-longer-in-force');
    expect(engine.evaluate('t/limited', { n: 1 })).toEqual(first);
    engine.switchOff('t/limited', revision);
    expect(engine.evaluate('t/limited', { n: 1 })).toEqual({ outcome: 'fallback', reason: 'verification mismatch' });
    await engine.invalidate();
    expect(engine.evaluate('t/limited', { n: 1 })).toEqual({ outcome: 'fallback', reason: 'verification mismatch' });
    await put(6);
    await engine.invalidate();
    const after = engine.evaluate('t/limited', { n: 1 });
    expect(after).toMatchObject({ outcome: 'allow' });
    expect((after as { revision: string }).revision).not.toBe(revision);
  });

  it('records a verification per agreed allow and a mismatch with both results, switching the residual off', async () => {
    const { log, path } = newLog();
    const metrics = new Metrics();
    const switched: string[][] = [];
    const verifier = new ResidualVerifier({
      opa: client, log, metrics, residual: { switchOff: (p, r) => switched.push([p, r]) }, sampleRate: 1, queue: 10, drainMs: 1000,
    });
    expect(verifier.submit(job('t/clean', 1))).toBe(true);
    expect(verifier.submit(job('t/denied', 2))).toBe(true);
    await verifier.idle();
    const out = records(log, path);
    const ok = out.find((r) => r.decision_id === job('t/clean', 1).decisionId)!;
    expect(ok).toMatchObject({ type: 'writegate/verification', verified: true, upstream: 'k8s', path: 't/clean', revision: 'rev-1', opa: { result: RESIDUAL_RESULT } });
    const bad = out.find((r) => r.decision_id === job('t/denied', 2).decisionId)!;
    expect(bad).toMatchObject({
      type: 'writegate/residual-mismatch', path: 't/denied', revision: 'rev-1',
      residual: { result: RESIDUAL_RESULT }, opa: { result: { allow: false, deny: ['frozen [t-freeze]'], warn: [] } }, reasons: ['deny: frozen [t-freeze]'],
    });
    expect(out).toHaveLength(2);
    expect(switched).toEqual([['t/denied', 'rev-1']]);
    expect(await count(metrics, 'verified')).toBe(1);
    expect(await count(metrics, 'mismatch')).toBe(1);
    expect((await metrics.residualMismatches.get()).values).toEqual([expect.objectContaining({ labels: { upstream: 'k8s' }, value: 1 })]);
    await verifier.close();
    log.close();
  });

  it('an unreachable OPA is counted unverified: no mismatch, no switch-off', async () => {
    const { log, path } = newLog();
    const metrics = new Metrics();
    const gone = new OpaClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 1000 });
    const switched: string[][] = [];
    const verifier = new ResidualVerifier({
      opa: gone, log, metrics, residual: { switchOff: (p, r) => switched.push([p, r]) }, sampleRate: 1, queue: 10, drainMs: 1000,
    });
    verifier.submit(job('t/clean', 3));
    await verifier.idle();
    expect(records(log, path)).toEqual([expect.objectContaining({ type: 'writegate/verification', verified: false, opa: { error: expect.objectContaining({ code: 'WG_ERR_OPA_UNAVAILABLE' }) } })]);
    expect(switched).toEqual([]);
    expect(await count(metrics, 'unverified')).toBe(1);
    expect((await metrics.residualMismatches.get()).values.every((v) => v.value === 0)).toBe(true);
    await verifier.close();
    await gone.close();
    log.close();
  });
});

describe('ResidualVerifier bounds, with an OPA that never answers', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let opa: OpaClient;
  beforeEach(async () => {
    silent = await silentServer();
    opa = new OpaClient({ url: silent.url, timeoutMs: 60_000 });
  });
  afterEach(async () => {
    // The abandoned calls fail once their connections go; only then can the pool close.
    silent.close();
    await opa.close();
  });

  it('a full queue drops (counted) and submit returns at once while OPA answers nothing', async () => {
    const { log, path } = newLog();
    const metrics = new Metrics();
    const verifier = new ResidualVerifier({ opa, log, metrics, residual: { switchOff: () => undefined }, sampleRate: 1, queue: 2, drainMs: 50 });
    const accepted = [1, 2, 3, 4, 5].map((n) => verifier.submit(job('t/clean', n)));
    expect(accepted).toEqual([true, true, false, false, false]);
    expect(await count(metrics, 'dropped')).toBe(3);
    // Both queued re-checks are now in flight toward an OPA that never answers; shutdown abandons them.
    await new Promise((r) => setImmediate(r));
    await verifier.close();
    expect(await count(metrics, 'abandoned')).toBe(2);
    expect(verifier.submit(job('t/clean', 6))).toBe(false);
    expect(await count(metrics, 'abandoned')).toBe(3);
    expect(records(log, path)).toEqual([]);
    log.close();
  });

  it('bounds the request-body bytes held by waiting re-checks', async () => {
    const { log } = newLog();
    const metrics = new Metrics();
    const verifier = new ResidualVerifier({ opa, log, metrics, residual: { switchOff: () => undefined }, sampleRate: 1, queue: 100, drainMs: 50 });
    const big = Math.floor(VERIFY_QUEUE_BYTES * 0.6);
    expect([verifier.submit(job('t/clean', 1, big)), verifier.submit(job('t/clean', 2, big)), verifier.submit(job('t/clean', 3, 1024))]).toEqual([true, false, true]);
    expect(await count(metrics, 'dropped')).toBe(1);
    // Once a big one is handed to OPA, its bytes no longer count against the waiting ones.
    await new Promise((r) => setImmediate(r));
    expect(verifier.submit(job('t/clean', 4, big))).toBe(true);
    await verifier.close();
    log.close();
  });

  it(`keeps at most ${VERIFY_CONCURRENCY} re-checks in flight and the rest queued`, async () => {
    const { log } = newLog();
    const metrics = new Metrics();
    const verifier = new ResidualVerifier({ opa, log, metrics, residual: { switchOff: () => undefined }, sampleRate: 1, queue: 100, drainMs: 50 });
    for (let n = 0; n < 10; n++) verifier.submit(job('t/clean', n));
    await until(() => silent.connections() >= VERIFY_CONCURRENCY, { intervalMs: 10, what: 're-checks in flight' });
    await verifier.close();
    // Abandoned = queued + in flight = all ten; nothing was dropped, nothing answered.
    expect(await count(metrics, 'abandoned')).toBe(10);
    expect(await count(metrics, 'dropped')).toBe(0);
    expect(silent.connections()).toBe(VERIFY_CONCURRENCY);
    log.close();
  });

  it('sampleRate 0.01 re-checks about one allow in a hundred (seeded random source)', async () => {
    const { log } = newLog();
    const metrics = new Metrics();
    const verifier = new ResidualVerifier({
      opa, log, metrics, residual: { switchOff: () => undefined }, sampleRate: 0.01, queue: 10_000, drainMs: 50, random: seeded(7),
    });
    let queued = 0;
    for (let n = 0; n < 10_000; n++) if (verifier.submit(job('t/clean', n))) queued++;
    expect(queued).toBeGreaterThanOrEqual(70);
    expect(queued).toBeLessThanOrEqual(130);
    await verifier.close();
    expect(await count(metrics, 'abandoned')).toBe(queued);
    const none = new ResidualVerifier({ opa, log, metrics, residual: { switchOff: () => undefined }, sampleRate: 0, queue: 10, drainMs: 50 });
    expect(none.submit(job('t/clean', 1))).toBe(false);
    log.close();
  });
});

describe('opa.verifyResidual configuration', () => {
  const upstreams = [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' }];

  it('defaults to re-checking every residual allow with a queue of 10,000, with or without an opa section', () => {
    expect(parseConfig({ upstreams }).opa.verifyResidual).toEqual({ sampleRate: 1.0, queue: 10_000 });
    expect(parseConfig({ opa: { timeoutMs: 500 }, upstreams }).opa.verifyResidual).toEqual({ sampleRate: 1.0, queue: 10_000 });
    expect(parseConfig({ opa: { verifyResidual: { sampleRate: 0.01 } }, upstreams }).opa.verifyResidual).toEqual({ sampleRate: 0.01, queue: 10_000 });
  });

  it('refuses a rate outside 0..1, a queue that is not a positive integer, and unknown keys', () => {
    for (const verifyResidual of [{ sampleRate: 1.5 }, { sampleRate: -0.1 }, { queue: 0 }, { queue: 2.5 }, { sampleRate: 1, queue: 10, concurrency: 8 }]) {
      expect(() => parseConfig({ opa: { verifyResidual }, upstreams })).toThrow(expect.objectContaining({ code: 'WG_ERR_CONFIG_INVALID' }));
    }
  });
});
