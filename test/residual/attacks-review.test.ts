/**
 * Adversarial review (after issue 7): policies and inputs chosen to make the residual engine answer "allow" where
 * OPA's Data API, given exactly the bytes the gateway sends (`JSON.stringify({input})`), does not allow cleanly.
 * Each case is a whole package (Rego v1) loaded into a real OPA; every input goes through the gate's input check,
 * then the residual, and each local allow is compared with OPA.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkPolicyInput } from '../../src/decision/input-value.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { ResidualEngine, residualOpaClient } from '../../src/residual/engine.js';
import { allowedClean, type OpaVerdict, COMPILE_TIMEOUT_MS } from './harness.js';

const HAZARDS: unknown[] = [
  null, true, false, 0, -0, 1, -1, 0.5, 1e-7, 2 ** 53 - 1, '', 'a', '1', 'é', '😀', '\uff61', [], [0], [1], [1, 1], ['a'], [null],
  {}, { a: 1 }, { '': 1 }, { __proto__x: 1 }, { toString: 1 },
];
const around = (key: string): unknown[] => [{}, ...HAZARDS.map((v) => ({ [key]: v }))];
const pairs = (a: string, b: string): unknown[] => HAZARDS.flatMap((x) => [{ [a]: x }, ...HAZARDS.slice(0, 14).map((y) => ({ [a]: x, [b]: y }))]);

/** Rule bodies and helper rules of package writegate.review.<name>; `allow` is the decision. */
const CASES: Record<string, { rego: string; inputs: unknown[] }> = {
  every_domain: { rego: 'allow if every x in input.xs { x > 0 }', inputs: around('xs') },
  every_kv: { rego: 'allow if every k, v in input.o { k != v }', inputs: around('o') },
  not_every: { rego: 'allow if not every_pos\nevery_pos if every x in input.xs { x > 0 }', inputs: around('xs') },
  in_collection: { rego: 'allow if input.x in input.c', inputs: pairs('c', 'x') },
  not_in: { rego: 'allow if not input.x in input.c', inputs: pairs('c', 'x') },
  in_kv: { rego: 'allow if 0, input.x in input.c', inputs: pairs('c', 'x') },
  some_in_object: { rego: 'allow if { some k, v in input.o; k == v }', inputs: around('o') },
  set_comprehension: { rego: 'allow if count({x | some x in input.xs}) == 1', inputs: [...around('xs'), { xs: [1, 1.0] }, { xs: [{}, {}] }, { xs: [[], {}] }, { xs: { a: 1, b: 1 } }] },
  array_comprehension_eq: { rego: 'allow if [x | some x in input.xs] == [1]', inputs: [...around('xs'), { xs: { a: 1 } }, { xs: { '': 1 } }] },
  object_comprehension: { rego: 'allow if {k: 1 | some k in input.xs} == {"a": 1}', inputs: [...around('xs'), { xs: ['a', 'a'] }, { xs: { x: 'a' } }] },
  string_order: { rego: 'allow if input.s < "\\uff61"', inputs: around('s') },
  string_escape_eq: { rego: 'allow if input.s == "\\u00e9"', inputs: [...around('s'), { s: 'e\u0301' }] },
  raw_string: { rego: 'allow if input.s == `\\n`', inputs: [...around('s'), { s: '\\n' }, { s: '\n' }] },
  concat_set_order: { rego: 'allow if concat(",", {x | some x in input.xs}) == "B,a"', inputs: [...around('xs'), { xs: ['a', 'B'] }, { xs: ['é', 'B'] }] },
  neg_zero_key: { rego: 'allow if { o := {input.n: "z"}; o[0] == "z" }', inputs: around('n') },
  neg_zero_sprintf: { rego: 'allow if sprintf("%v", [input.n]) == "0"', inputs: around('n') },
  neg_zero_mul: { rego: 'allow if sprintf("%d", [input.n * -1]) == "0"', inputs: around('n') },
  split_empty: { rego: 'allow if count(split(input.s, "")) == 2', inputs: around('s') },
  count_string: { rego: 'allow if count(input.s) == 1', inputs: [...around('s'), { s: 'e\u0301' }] },
  keys_set_eq: { rego: 'allow if object.keys(input.o) == {"a"}', inputs: around('o') },
  array_compare: { rego: 'allow if input.a < [1, 2]', inputs: around('a') },
  object_compare: { rego: 'allow if input.o > {"a": 1}', inputs: around('o') },
  helper_default: { rego: 'default ok := false\nok if input.a == 1\nallow if ok == false', inputs: around('a') },
  helper_value_null: { rego: 'v := input.a\nallow if not v', inputs: around('a') },
  deny_partial: {
    rego: 'default allow := true\ndeny contains "x" if input.a\ndecision := {"allow": allow, "deny": deny}',
    inputs: around('a'),
  },
};

let opa: LocalOpa;
let engine: ResidualEngine;

async function dataApi(path: string, input: unknown): Promise<OpaVerdict> {
  const res = await request(`${opa.url}/v1/data/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  const json = (await res.body.json()) as Record<string, unknown>;
  return res.statusCode === 200 ? { result: json.result } : { error: String(json.code) };
}

const pathOf = (name: string): string => (name === 'deny_partial' ? `writegate/review/${name}/decision` : `writegate/review/${name}/allow`);

/** `{"__proto__x": v}` in HAZARDS stands for a `__proto__` own key, as JSON.parse builds it. */
const materialise = (input: unknown): unknown => JSON.parse(JSON.stringify(input).replaceAll('"__proto__x"', '"__proto__"'));

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'writegate-review-'));
  for (const [name, c] of Object.entries(CASES)) writeFileSync(join(dir, `${name}.rego`), `package writegate.review.${name}\n\n${c.rego}\n`);
  opa = await startLocalOpa({ paths: [dir] });
  engine = new ResidualEngine({ client: residualOpaClient(opa.url, COMPILE_TIMEOUT_MS), pollIntervalMs: 60_000 });
  await engine.start(Object.keys(CASES).map(pathOf));
}, 120_000);

afterAll(async () => {
  engine?.stop();
  await opa?.stop();
});

describe('attack review: the residual never allows what OPA does not', () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(name, async () => {
      const path = pathOf(name);
      const unsafe: string[] = [];
      let local = 0;
      for (const raw of c.inputs) {
        const input = materialise(raw);
        try {
          checkPolicyInput(input as Record<string, unknown>);
        } catch {
          continue;
        }
        if (engine.evaluate(path, structuredClone(input)).outcome !== 'allow') continue;
        local++;
        const verdict = await dataApi(path, input);
        if (!allowedClean(verdict)) unsafe.push(`${JSON.stringify(input)} → OPA ${JSON.stringify(verdict)}`);
      }
      expect(unsafe, `${path}: residual ${engine.residual(path)?.reason ?? 'compiled'}, ${local} local allows`).toEqual([]);
    });
  }
});
