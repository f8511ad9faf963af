/**
 * Every unsafe allow the policy fuzzer found (test/residual/fuzz/regressions/*.json, written by
 * `npm run fuzz`), replayed against a real OPA: the residual engine must not allow locally where OPA's Data
 * API does not allow cleanly — on the saved example and on its neighbours (the class, not the example).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { decodeValue } from './fuzz/codec.js';
import { checkPolicy, guessClass, runMutants, startFuzzOpa, type FuzzOpa, type RegressionCase } from './fuzz/runner.js';

const dir = join(projectRoot(), 'test', 'residual', 'fuzz', 'regressions');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

let opa: FuzzOpa;

beforeAll(async () => {
  opa = await startFuzzOpa();
});

afterAll(async () => {
  await opa?.stop();
});

describe('policy fuzzer regressions', () => {
  test('the saved cases are complete and their inputs decode to what OPA was sent', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegressionCase;
      expect(typeof c.policy, f).toBe('string');
      expect(c.path, f).toMatch(/^fuzz\//);
      expect(JSON.stringify(decodeValue(c.input)), f).toBe(c.opaInput);
    }
  });

  test('mutants of every saved case (operators, not, literals, input fields; input variants) are no unsafe allow', async () => {
    const cases = files.map((f) => ({ name: f, case: JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegressionCase }));
    const found: RegressionCase[] = [];
    const totals = await runMutants(opa, cases, { seed: 7, mutants: 12, freshInputs: 8, onFinding: (c) => found.push(c) });
    console.log(`mutants of saved cases: ${JSON.stringify(totals)}`);
    for (const c of found) console.log(`UNSAFE ALLOW (${c.found})\n${c.policy}input: ${c.opaInput}\npaste: ${JSON.stringify(c)}`);
    expect(totals.policies).toBeGreaterThan(files.length * 5);
    expect(totals.localAllows).toBeGreaterThan(0);
    expect(found.slice(0, 3), JSON.stringify(found.slice(0, 3), null, 1).slice(0, 6000)).toEqual([]);
    expect(totals.unsafeAllows).toBe(0);
  }, 150_000);

  for (const f of files) {
    const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegressionCase;
    test(`${f}: ${c.note ?? `untriaged, class guess: ${guessClass(c)}`}`, async () => {
      const check = await checkPolicy(opa, c.policy, c.path, [decodeValue(c.input)]);
      expect(check.rejected).toBeUndefined();
      const got = check.comparisons[0]!;
      // An input the gateway now refuses (src/decision/input-value.ts) reaches neither engine: not an allow.
      const now = got.verdict === 'refused' ? `refused by the gateway: ${got.reason}` : `OPA now: ${JSON.stringify(got.opa)}\nresidual now: ${JSON.stringify(got.residual)}`;
      expect(got.verdict, `${c.policy}\ninput: ${c.opaInput}\n${now}`).not.toBe('unsafe');
    });
  }
});
