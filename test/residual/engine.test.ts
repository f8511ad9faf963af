/**
 * The engine against a real OPA: revision detection (policy and data changes seen within a second, at once
 * after invalidate()), counters, and the fallback reasons.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { ResidualEngine, residualOpaClient, type ResidualEngineEvent } from '../../src/residual/engine.js';

const PATH = 'writegate/tricky/revision/decision';
const PUSHED = 'writegate/tricky/pushed/decision';
const pushed = (ns: string): string =>
  `package writegate.tricky.pushed\n\nimport rego.v1\n\ndecision := {"allow": input.request.namespace == "${ns}"}\n`;
const input = (namespace: string): unknown => ({ request: { namespace } });

let opa: LocalOpa;
let engine: ResidualEngine;
const events: ResidualEngineEvent[] = [];

async function put(path: string, body: string, type: string): Promise<void> {
  const res = await request(opa.url + path, { method: 'PUT', headers: { 'content-type': type }, body });
  await res.body.text();
  expect(res.statusCode).toBeLessThan(300);
}

/** Milliseconds until `check` holds, polling every 10 ms; fails after 3 s. */
async function until(check: () => boolean): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > 3000) throw new Error('condition not reached in 3 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

beforeAll(async () => {
  opa = await startLocalOpa({ paths: ['test/residual/policies/revision.rego', 'test/residual/policies/fallback.rego'] });
  engine = new ResidualEngine({ client: residualOpaClient(opa.url), pollIntervalMs: 500, onEvent: (e) => events.push(e) });
  await put('/v1/policies/pushed', pushed('qa'), 'text/plain');
  await engine.start([PATH, PUSHED]);
});

afterAll(async () => {
  engine?.stop();
  await opa?.stop();
});

describe('ResidualEngine', () => {
  test('answers allow locally, falls back otherwise', () => {
    const allowed = engine.evaluate(PATH, input('dev'));
    expect(allowed).toEqual({ outcome: 'allow', revision: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(engine.evaluate(PATH, input('prod'))).toEqual({ outcome: 'fallback', reason: 'residual false' });
    expect(engine.counters.hits).toBe(2);
    expect(engine.counters.fallbacks['residual false']).toBe(1);
    expect(events.some((e) => e.event === 'compiled' && e.path === PATH)).toBe(true);
  });

  test('a data change is seen within a second', async () => {
    const before = engine.residual(PATH)!.revision;
    await put('/v1/data/config', JSON.stringify({ namespaces: ['prod'] }), 'application/json');
    const ms = await until(() => engine.evaluate(PATH, input('prod')).outcome === 'allow');
    console.log(`data change detected after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
    expect(engine.residual(PATH)!.revision).not.toBe(before);
    expect(engine.evaluate(PATH, input('dev')).outcome).toBe('fallback');
  });

  test('a policy change is seen within a second', async () => {
    expect(engine.evaluate(PUSHED, input('stage')).outcome).toBe('fallback');
    await put('/v1/policies/pushed', pushed('stage'), 'text/plain');
    const ms = await until(() => engine.evaluate(PUSHED, input('stage')).outcome === 'allow');
    console.log(`policy change detected after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
  });

  test('invalidate() recompiles at once', async () => {
    await put('/v1/policies/pushed', pushed('uat'), 'text/plain');
    const start = performance.now();
    await engine.invalidate();
    const ms = performance.now() - start;
    console.log(`invalidate() took ${ms.toFixed(1)} ms`);
    expect(engine.evaluate(PUSHED, input('uat')).outcome).toBe('allow');
    expect(engine.evaluate(PUSHED, input('stage')).outcome).toBe('fallback');
  });

  test('paths outside the fragment fall back with the reason, and an unknown path compiles on first use', async () => {
    const time = 'writegate/tricky/fallback/time_decision';
    expect(engine.evaluate(time, {})).toEqual({ outcome: 'fallback', reason: 'no residual' });
    expect(engine.counters.misses).toBe(1);
    await until(() => engine.residual(time) !== undefined);
    expect(engine.evaluate(time, {})).toEqual({
      outcome: 'fallback',
      reason: 'not compilable: nondeterministic builtin: time.now_ns',
    });
  });

  test('when OPA cannot confirm the revision, the residual is not used', async () => {
    const dead = new ResidualEngine({ client: residualOpaClient('http://127.0.0.1:9', 200) });
    await dead.start([PATH]);
    expect(dead.evaluate(PATH, input('dev'))).toEqual({ outcome: 'fallback', reason: 'no residual' });
    dead.stop();
  });
});
