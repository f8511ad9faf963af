/**
 * Every builtin the residual implements, called with every combination of hazardous JSON operands (null, wrong
 * types, `-0`, `__proto__`/`constructor` keys, a present null, non-ASCII and astral text…), against the same call
 * evaluated by a real OPA (`POST /v1/query`, operands passed as input, as the gateway passes them). Where OPA's
 * builtin errors (undefined in its default non-strict mode) the residual must answer undefined too; where the
 * residual refuses (ResidualUnsupported) the request would go to OPA; everywhere else the two values are equal.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { BUILTINS } from '../../src/residual/builtins.js';
import { equal, RegoSet, ResidualUnsupported, type Value } from '../../src/residual/values.js';

const proto = (v: unknown): Value => JSON.parse(`{"__proto__":${JSON.stringify(v)},"a":1}`) as Value;

const POOL: Value[] = [
  null, true, false, 0, 1, -1, 1.5, 3, 2 ** 53 - 1, '', 'a', 'A', 'ab', 'a,b', ',', 'é', '😀x', '__proto__', 'constructor',
  [], ['a'], ['a', 'b'], [1, null], {}, { a: 1 }, { a: null }, proto('x'), { constructor: 'x', toString: 'y' },
];
/** A smaller pool for three operands. */
const SMALL: Value[] = [null, false, 0, 1, '', 'a', '__proto__', 'constructor', ['a'], [0], {}, { a: null }, proto(null), { constructor: 'x' }];

/** Rego for the call on operands `input.args[i]`; comparisons and membership use their operators. */
const CALLS: Record<string, [arity: number, rego: (a: string[]) => string]> = {
  equal: [2, (a) => `${a[0]} == ${a[1]}`],
  neq: [2, (a) => `${a[0]} != ${a[1]}`],
  lt: [2, (a) => `${a[0]} < ${a[1]}`],
  lte: [2, (a) => `${a[0]} <= ${a[1]}`],
  gt: [2, (a) => `${a[0]} > ${a[1]}`],
  gte: [2, (a) => `${a[0]} >= ${a[1]}`],
  plus: [2, (a) => `${a[0]} + ${a[1]}`],
  minus: [2, (a) => `${a[0]} - ${a[1]}`],
  mul: [2, (a) => `${a[0]} * ${a[1]}`],
  'internal.member_2': [2, (a) => `${a[0]} in ${a[1]}`],
  'internal.member_3': [3, (a) => `${a[0]}, ${a[1]} in ${a[2]}`],
  count: [1, (a) => `count(${a[0]})`],
  startswith: [2, (a) => `startswith(${a[0]}, ${a[1]})`],
  endswith: [2, (a) => `endswith(${a[0]}, ${a[1]})`],
  contains: [2, (a) => `contains(${a[0]}, ${a[1]})`],
  lower: [1, (a) => `lower(${a[0]})`],
  upper: [1, (a) => `upper(${a[0]})`],
  split: [2, (a) => `split(${a[0]}, ${a[1]})`],
  concat: [2, (a) => `concat(${a[0]}, ${a[1]})`],
  'object.get': [3, (a) => `object.get(${a[0]}, ${a[1]}, ${a[2]})`],
  'object.keys': [1, (a) => `object.keys(${a[0]})`],
  'array.concat': [2, (a) => `array.concat(${a[0]}, ${a[1]})`],
  is_string: [1, (a) => `is_string(${a[0]})`],
  is_number: [1, (a) => `is_number(${a[0]})`],
  is_boolean: [1, (a) => `is_boolean(${a[0]})`],
  is_null: [1, (a) => `is_null(${a[0]})`],
  is_array: [1, (a) => `is_array(${a[0]})`],
  is_set: [1, (a) => `is_set(${a[0]})`],
  is_object: [1, (a) => `is_object(${a[0]})`],
  type_name: [1, (a) => `type_name(${a[0]})`],
};

function tuples(pool: Value[], n: number): Value[][] {
  if (n === 0) return [[]];
  return tuples(pool, n - 1).flatMap((t) => pool.map((v) => [...t, v]));
}

/** A residual value as OPA's JSON shows it (sets as their sorted members). */
function asJson(v: Value): unknown {
  if (v instanceof RegoSet) return v.sorted().map(asJson);
  if (Array.isArray(v)) return v.map(asJson);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.keys(v).map((k) => [k, asJson(v[k]!)]));
  return v;
}

let opa: LocalOpa;
beforeAll(async () => {
  opa = await startLocalOpa({ paths: [] });
});
afterAll(async () => {
  await opa?.stop();
});

/** OPA's value for each operand tuple (undefined where its builtin errors). */
async function opaValues(rego: (a: string[]) => string, arity: number, calls: Value[][]): Promise<unknown[]> {
  const args = Array.from({ length: arity }, (_, i) => `c[${i}]`);
  const query = `out := {i: [v] | some i, c in input.calls; v := ${rego(args)}}`;
  const res = await request(`${opa.url}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, input: { calls } }),
  });
  const json = (await res.body.json()) as { result?: { out: Record<string, [unknown]> }[] };
  expect(res.statusCode, JSON.stringify(json)).toBe(200);
  const out = json.result?.[0]?.out ?? {};
  return calls.map((_, i) => out[String(i)]?.[0]);
}

describe('builtins against OPA on hazardous operands', () => {
  for (const [name, [arity, rego]] of Object.entries(CALLS)) {
    test(name, async () => {
      const calls = tuples(arity === 3 ? SMALL : POOL, arity);
      const truth = await opaValues(rego, arity, calls);
      const differ: string[] = [];
      let compared = 0;
      calls.forEach((args, i) => {
        let mine: Value | undefined;
        try {
          mine = BUILTINS[name]!.fn(args);
        } catch (err) {
          if (err instanceof ResidualUnsupported) return;
          throw err;
        }
        compared++;
        const theirs = truth[i];
        const same = mine === undefined ? theirs === undefined : theirs !== undefined && equal(asJson(mine) as Value, theirs as Value);
        if (!same) differ.push(`${name}(${args.map((a) => JSON.stringify(a)).join(', ')}): residual ${JSON.stringify(mine === undefined ? 'undefined' : asJson(mine))}, OPA ${JSON.stringify(theirs ?? 'undefined')}`);
      });
      expect(differ).toEqual([]);
      expect(compared).toBeGreaterThan(calls.length / 2);
    });
  }
});
