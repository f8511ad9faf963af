/**
 * Every unsafe allow the policy fuzzer found (test/residual/fuzz/regressions/*.json, written by
 * `npm run fuzz`), replayed against a real OPA: the residual engine must not allow locally where OPA's Data
 * API does not allow cleanly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { decodeValue } from './fuzz/codec.js';
import { checkPolicy, guessClass, startFuzzOpa, type FuzzOpa, type RegressionCase } from './fuzz/runner.js';

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
