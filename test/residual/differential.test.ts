/**
 * Differential test: for every shipped policy and every tricky policy, the residual engine and OPA's own
 * evaluation decide the same generated inputs. The engine may only answer "allow"; it must never do so when
 * OPA's decision is not "allowed with no deny and no warn violations", and it must answer for every input OPA
 * allows cleanly (otherwise the residual would be useless).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ResidualEngine, residualOpaClient } from '../../src/residual/engine.js';
import { admissionInput } from './arbitraries.js';
import { allowedClean, startHarness, type Harness, COMPILE_TIMEOUT_MS } from './harness.js';

const RUNS = Number(process.env.WG_DIFF_RUNS ?? 10_000);
const BATCH = 1000;

const COMPILED = [
  'writegate/kubernetes/decision',
  'writegate/tricky/missing/decision',
  'writegate/tricky/types/allow',
  'writegate/tricky/iteration/decision',
  'writegate/tricky/defaults/allow',
  'writegate/tricky/conflict/decision',
  'writegate/tricky/pkg',
];

/** Decisions outside the fragment, and the reason each must be refused with (compiled by the real OPA). */
const REFUSED: Record<string, string> = {
  'writegate/tricky/fallback/with_decision': 'with modifier',
  'writegate/tricky/fallback/else_allow': 'data reference not folded: data.writegate.tricky.fallback.else_decision',
  'writegate/tricky/fallback/time_decision': 'nondeterministic builtin: time.now_ns',
  'writegate/tricky/fallback/http_decision': 'nondeterministic builtin: http.send',
  'writegate/tricky/fallback/regex_decision': 'unsupported builtin: regex.match',
};

let h: Harness;
let engine: ResidualEngine;

beforeAll(async () => {
  h = await startHarness(['policies', 'test/residual/policies']);
  engine = new ResidualEngine({ client: residualOpaClient(h.opa.url, COMPILE_TIMEOUT_MS), pollIntervalMs: 60_000 });
  await engine.start([...COMPILED, ...Object.keys(REFUSED)]);
});

afterAll(async () => {
  if (engine) console.log(`engine counters: ${JSON.stringify(engine.counters)}`);
  engine?.stop();
  await h?.stop();
});

describe('residual vs OPA', () => {
  for (const [i, path] of COMPILED.entries()) {
    test(path, async () => {
      const state = engine.residual(path);
      expect(state?.reason, `${path} should compile`).toBeUndefined();
      const inputs = fc.sample(admissionInput, { numRuns: RUNS, seed: 1000 + i });
      const stats = { inputs: inputs.length, opaClean: 0, residualAllow: 0, disagreements: 0, missed: 0, runtimeFallback: 0 };
      const examples: unknown[] = [];
      for (let start = 0; start < inputs.length; start += BATCH) {
        const chunk = inputs.slice(start, start + BATCH);
        const verdicts = await h.decide(path, chunk);
        chunk.forEach((input, j) => {
          const opaOk = allowedClean(verdicts[j]!);
          const local = engine.evaluate(path, input);
          if (opaOk) stats.opaClean++;
          if (local.outcome === 'allow') stats.residualAllow++;
          if (local.outcome === 'fallback' && local.reason.startsWith('runtime:')) stats.runtimeFallback++;
          if (local.outcome === 'allow' && !opaOk) {
            stats.disagreements++;
            if (examples.length < 3) examples.push({ input, opa: verdicts[j] });
          }
          if (opaOk && local.outcome !== 'allow') {
            stats.missed++;
            if (examples.length < 3) examples.push({ input, opa: verdicts[j], local });
          }
        });
      }
      console.log(`${path}: ${JSON.stringify(stats)}`);
      expect(examples, JSON.stringify(examples, null, 1).slice(0, 4000)).toEqual([]);
      expect(stats.disagreements).toBe(0);
      expect(stats.missed).toBe(0);
      // The generators must exercise both outcomes, or the comparison proves little.
      expect(stats.opaClean).toBeGreaterThan(RUNS / 50);
      expect(stats.opaClean).toBeLessThan(RUNS);
    });
  }

  test('policies outside the fragment are refused with a stable reason', () => {
    for (const [path, reason] of Object.entries(REFUSED)) {
      expect(engine.residual(path)?.reason, path).toBe(reason);
      expect(engine.evaluate(path, fc.sample(admissionInput, { numRuns: 1, seed: 1 })[0])).toEqual({
        outcome: 'fallback',
        reason: `not compilable: ${reason}`,
      });
    }
  });

  test('the batched query agrees with the Data API itself', async () => {
    const inputs = fc.sample(admissionInput, { numRuns: 200, seed: 7 });
    for (const path of COMPILED) {
      const batch = await h.decide(path, inputs);
      const single = await Promise.all(inputs.map((x) => h.dataApi(path, x)));
      expect(batch.map(allowedClean)).toEqual(single.map(allowedClean));
    }
  });
});
