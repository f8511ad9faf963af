/**
 * Policy-level differential fuzzing, the bounded slice that `npm test` runs (issue 7): generated Rego policies
 * (test/residual/fuzz/policy-gen.ts) crossed with hazard-rich inputs (input-gen.ts), decided by the residual
 * engine and by a real OPA's Data API. The engine must never allow locally what OPA does not allow cleanly.
 * Seeded and reproducible; `npm run fuzz -- --policies N --inputs M --seed S` runs the same comparison long.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeValue, encodeValue } from './fuzz/codec.js';
import { generateInput } from './fuzz/input-gen.js';
import { generatePolicy, renderPolicy } from './fuzz/policy-gen.js';
import { cleanAllow, guessClass, regressionCase, runFuzz, startFuzzOpa, type Finding, type FuzzOpa } from './fuzz/runner.js';

const SEED = Number(process.env.WG_FUZZ_SEED ?? 20261202);
const POLICIES = Number(process.env.WG_FUZZ_POLICIES ?? 300);
const INPUTS = Number(process.env.WG_FUZZ_INPUTS ?? 40);

let opa: FuzzOpa;

beforeAll(async () => {
  opa = await startFuzzOpa();
});

afterAll(async () => {
  await opa?.stop();
});

describe('policy-level differential fuzzing', () => {
  test(`${POLICIES} generated policies × ${INPUTS} inputs: no local allow that OPA would not give`, async () => {
    const findings: Finding[] = [];
    const totals = await runFuzz(opa, {
      seed: SEED,
      policies: POLICIES,
      inputs: INPUTS,
      minimise: 5,
      onFinding: (f) => {
        findings.push(f);
      },
    });
    const cases = findings.map(regressionCase);
    for (const c of cases) {
      console.log(`UNSAFE ALLOW (${c.found}; class guess: ${guessClass(c)})\n${c.policy}input: ${c.opaInput}\nOPA: ${JSON.stringify(c.opa)}\npaste: ${JSON.stringify(c)}`);
    }
    console.log(`policy fuzz totals: ${JSON.stringify(totals)}`);
    // The generators must produce policies OPA accepts and residuals the engine uses, on both sides of the
    // decision, or a clean run proves little.
    expect(totals.policies).toBe(POLICIES);
    expect(totals.comparisons + totals.refusedInputs).toBe(totals.inputs);
    expect(totals.refusedInputs).toBeLessThan(totals.inputs * 0.2);
    expect(totals.rejected).toBeLessThan(POLICIES * 0.05);
    expect(totals.compiled).toBeGreaterThan(POLICIES * 0.25);
    expect(totals.localAllows).toBeGreaterThan(totals.comparisons * 0.03);
    expect(totals.opaCleanAllows).toBeLessThan(totals.comparisons);
    // Every decision shape (boolean allow, {allow, deny, warn} object, package) is decided locally somewhere.
    for (const [shape, s] of Object.entries(totals.byShape)) expect(s.localAllows, shape).toBeGreaterThan(0);
    expect(cases.slice(0, 5), JSON.stringify(cases.slice(0, 5), null, 1).slice(0, 6000)).toEqual([]);
    expect(totals.unsafeAllows).toBe(0);
    // About 6-10 s on a 2-core machine, 11 s with both cores busy elsewhere; the bound is generous for CI.
  }, 150_000);

  test('policies and inputs are a function of (seed, index): findings reproduce', () => {
    for (const i of [0, 7, 123]) {
      expect(renderPolicy(generatePolicy(SEED, i))).toBe(renderPolicy(generatePolicy(SEED, i)));
      expect(JSON.stringify(encodeValue(generateInput(SEED, i, 3)))).toBe(JSON.stringify(encodeValue(generateInput(SEED, i, 3))));
    }
    expect(renderPolicy(generatePolicy(SEED, 1))).not.toBe(renderPolicy(generatePolicy(SEED + 1, 1)));
  });

  test('regression files keep the exact JS input: non-finite numbers, -0, __proto__ keys, lone surrogates', () => {
    const input = JSON.parse('{"__proto__": {"a": "\\ud800"}, "xs": [1]}') as Record<string, unknown>;
    (input.xs as unknown[]).push(NaN, Infinity, -Infinity, -0);
    const back = decodeValue(JSON.parse(JSON.stringify(encodeValue(input)))) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'xs']);
    expect((Object.getOwnPropertyDescriptor(back, '__proto__')?.value as { a: string }).a).toBe('\ud800');
    const xs = back.xs as number[];
    expect(xs[0]).toBe(1);
    expect(Number.isNaN(xs[1])).toBe(true);
    expect(xs.slice(2, 4)).toEqual([Infinity, -Infinity]);
    expect(Object.is(xs[4], -0)).toBe(true);
  });

  test('a clean allow is what the gateway normalises to allowed with nothing to report', () => {
    expect(cleanAllow({ result: true })).toBe(true);
    expect(cleanAllow({ result: {} })).toBe(true);
    expect(cleanAllow({ result: { allow: true, deny: [], warn: [] } })).toBe(true);
    expect(cleanAllow({ result: false })).toBe(false);
    expect(cleanAllow({ undefined: true })).toBe(false);
    expect(cleanAllow({ error: 'internal_error: eval_conflict_error' })).toBe(false);
    expect(cleanAllow({ result: { allow: true, warn: ['w'] } })).toBe(false);
    expect(cleanAllow({ result: { deny: 'x' } })).toBe(false);
    expect(cleanAllow({ result: { deny: {} } })).toBe(false);
    expect(cleanAllow({ result: { allow: 'yes' } })).toBe(false);
    expect(cleanAllow({ result: 'true' })).toBe(false);
  });
});
