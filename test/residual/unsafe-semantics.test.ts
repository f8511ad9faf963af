/**
 * Regression tests for unsafe local allows (issue 7, classes 1 and 2, and package-level decision paths): small
 * policies compiled by a real OPA, each decided by the residual engine and by OPA's Data API on hazard-rich
 * inputs (missing fields, null, wrong types, empty/one/many-element collections). The engine may answer
 * "allow" only where OPA allows cleanly.
 *
 * Class 1 — `not` over a call or comparison with an undefined or ill-typed operand. OPA's compiler hoists
 * dynamic call operands and nested calls out of a negated expression (v1/ast/compile.go rewriteExprTerms,
 * rewriteDynamics), so an undefined operand fails the body; copy propagation in partial evaluation
 * (v1/topdown/copypropagation) then substitutes the hoisted refs back into the `not`, and also erases
 * bindings written by the author (`x := input.a; not x == 1`) or made for function arguments.
 *
 * Class 2 — conflicts that inlining hides: one definition with several outputs, ref heads, partial objects,
 * multi-definition functions called with constant arguments that read `input`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ResidualEngine, residualOpaClient } from '../../src/residual/engine.js';
import { allowedClean, startHarness, type Harness, type OpaVerdict, COMPILE_TIMEOUT_MS } from './harness.js';

/** Inputs with missing fields, null, wrong types and collections of 0, 1 and several elements. */
const VALUES: unknown[] = [
  null, true, false, 0, 1, 2, 3, -1, 1.5, '', 'x', 'X', 'a', 'ab', 'a,b', '/admin', '/admin/x', '/x', 'x:latest',
  [], [1], [2], [1, 2], [1, 2, 3], ['a'], ['a', 'b'], ['1'], {}, { k: 1 }, { k: 2 }, { k: null }, { k: 1, j: 2 },
];
const INPUTS: unknown[] = [
  {},
  null,
  'str',
  ...VALUES.map((a) => ({ a })),
  ...VALUES.map((b) => ({ a: 1, b })),
  ...VALUES.map((b) => ({ a: 'x', b })),
  { a: 'a', b: 'a' },
  { a: 'x', b: 'x' },
  { a: 1, b: 1 },
  { a: { k: 1 }, b: 'k' },
  { a: [1, 2], b: 0 },
  { cs: [] },
  { cs: [{ image: 'a' }] },
  { cs: [{ image: 'a' }, { image: 'a' }] },
  { cs: [{ image: 'a' }, { image: 'b' }] },
  { cs: [{ image: 'a', p: true }, { image: 'b' }] },
  { cs: [{ image: 'a' }, { image: 'b' }], b: 1 },
  { a: ['x'], b: 1 },
  { a: ['y'], b: 1 },
  { b: true },
  { cs: [{ p: false }] },
  { cs: [{}] },
  { cs: 'x' },
  { cs: null },
];

/** One case: a module body (the package line is added) and the rule the decision path names. */
interface Case {
  name: string;
  rego: string;
  /** The decision rule (default `allow`), or `''` for the package itself. */
  rule?: string;
}

/** Every call and comparison the residual implements, negated over operands from the input. */
const NEGATED: string[] = [
  'contains(input.a, "/admin")',
  'input.a != 1',
  'input.a < 2',
  'input.a >= 2',
  'input.a > input.b',
  'count(input.a) > 2',
  'count(input.a) == 0',
  'count(input.a, 0)',
  'startswith(input.a, "/")',
  'endswith(input.a, "x")',
  'lower(input.a) == "x"',
  'upper(input.a) == "X"',
  'split(input.a, ",")[0] == "a"',
  'concat(",", input.a) == "1"',
  'object.get(input.a, "k", 0) == 1',
  'object.keys(input.a) == {"k"}',
  'input.a + 1 == 3',
  'input.a - 1 == 0',
  'input.a * 2 == 2',
  'input.a in {1, 2}',
  'input.a in input.b',
  'is_string(input.a)',
  'is_number(input.a)',
  'is_array(input.a)',
  'is_object(input.a)',
  'is_null(input.a)',
  'is_boolean(input.a)',
  'type_name(input.a) == "string"',
  'array.concat(input.a, [1]) == [1]',
  'sprintf("%v", [input.a]) == "1"',
  'count(input.a) > count(input.b)',
  'input.a[input.b] == 1',
  '[input.a, 1] == [2, 1]',
  '{"k": input.a} == {"k": 1}',
  'input.a == 1',
  'input.a',
  'input.a == input.b',
  'f(input.a)',
  'g(input.a)',
  'h(input.a) == 2',
  'startswith(s(input.a), "x")',
  'contains(lower(input.a), "x")',
  'count([x | some x in input.a; x == 1]) == 1',
];

const HELPERS = `
f(x) if x == 1
g(x) if startswith(x, "a")
h(x) := x + 1
s(x) := x if is_string(x)
`;

const class1: Case[] = [];
for (const [i, expr] of NEGATED.entries()) {
  // The negation decides the allow (a body that must fail when OPA's would) ...
  class1.push({ name: `allow if not ${expr}`, rego: `${HELPERS}\nallow if not ${expr}\n` });
  // ... or it decides a violation (a body that must hold when OPA's holds).
  class1.push({
    name: `deny contains "m" if not ${expr}`,
    rego: `${HELPERS}\ndeny contains "m" if not ${expr}\ndecision := {"allow": count(deny) == 0, "deny": deny}\n`,
    rule: 'decision',
  });
  // Through a support rule, a comprehension and an `every` body.
  if (i % 3 === 0) {
    class1.push({ name: `helper rule: not ${expr}`, rego: `${HELPERS}\nok if not ${expr}\nallow if ok\n` });
    class1.push({
      name: `comprehension: not ${expr}`,
      rego: `${HELPERS}\nallow if count([1 | not ${expr}]) == 1\n`,
    });
  }
}
class1.push(
  { name: 'x := input.a; not x == 1', rego: 'allow if {\n  x := input.a\n  not x == 1\n}\n' },
  { name: 'x := input.a; not x', rego: 'allow if {\n  x := input.a\n  not x\n}\n' },
  { name: 'x := input.a; not x.k == 1', rego: 'allow if {\n  x := input.a\n  not x.k == 1\n}\n' },
  { name: 'x := input.a; not x[input.b]', rego: 'allow if {\n  x := input.a\n  not x[input.b]\n}\n' },
  {
    name: 'deny: x := input.a; not x == 1',
    rego: 'deny contains "m" if {\n  x := input.a\n  not x == 1\n}\ndecision := {"allow": count(deny) == 0, "deny": deny}\n',
    rule: 'decision',
  },
  {
    name: 'function parameter compared under not',
    rego: 'p(x) if not x == 1\nallow if p(input.a)\n',
  },
  {
    name: 'function parameter under not, negated at the call',
    rego: 'p(x) if not x\nallow if not p(input.a)\n',
  },
  {
    name: 'every body with not',
    rego: 'allow if {\n  every c in input.cs {\n    not c.p == true\n  }\n}\n',
  },
  {
    name: 'iteration then not over the element',
    rego: 'allow if {\n  some c in input.cs\n  not c.p == true\n}\n',
  },
  {
    name: 'iteration then not over a call on the element',
    rego: 'allow if {\n  some c in input.cs\n  not contains(c.image, "b")\n}\n',
  },
  {
    name: 'deny over elements with not contains',
    rego:
      'deny contains c.image if {\n  some c in input.cs\n  not contains(c.image, "a")\n}\ndecision := {"allow": count(deny) == 0, "deny": deny}\n',
    rule: 'decision',
  },
);

const class2: Case[] = [
  {
    name: 'one definition, several outputs (complete rule)',
    rego: 'image := c.image if some c in input.cs\nallow if image == "a"\n',
  },
  {
    name: 'one definition, several outputs, decision object',
    rego: 'image := c.image if some c in input.cs\ndecision := {"allow": image == "a"}\n',
    rule: 'decision',
  },
  {
    name: 'one definition, several outputs, read only for definedness',
    rego: 'image := c.image if some c in input.cs\nallow if image\n',
  },
  {
    name: 'ref head rules with two values',
    rego: 'limits.max := 1 if input.a == 1\nlimits.max := 5 if input.b == 1\nallow if limits.max >= 1\n',
  },
  {
    name: 'ref head rule with several outputs',
    rego: 'limits.img := c.image if some c in input.cs\nallow if limits.img == "a"\n',
  },
  {
    name: 'partial object rule, two values for one key',
    rego: 'o[k] := 1 if k := input.a\no[k] := 2 if k := input.b\nallow if o.x == 1\nallow if o.a == 1\n',
  },
  {
    name: 'partial object rule, one definition, two values for one key',
    rego: 'o[k] := c.image if {\n  some c in input.cs\n  k := "img"\n}\nallow if o.img == "a"\n',
  },
  {
    name: 'function, two definitions, constant arguments, body reads input',
    rego: 'level(k) := 1 if input.a == k\nlevel(k) := 2 if input.b == k\nallow if level("x") == 1\nallow if level(1) == 1\n',
  },
  {
    name: 'function, one definition, several outputs',
    rego: 'pick(k) := c.image if {\n  some c in input.cs\n  k == 1\n}\nallow if pick(1) == "a"\n',
  },
  {
    name: 'function, two definitions, dynamic argument',
    rego: 'level(k) := 1 if k == "x"\nlevel(k) := 2 if input.b == k\nallow if level(input.a) == 1\n',
  },
  {
    name: 'a conflicting rule read first by a definition that PE drops (a later expression is false)',
    rego: 'image := c.image if some c in input.cs\nallow if {\n  image == "a"\n  count([]) > 0\n}\nallow if input.b == 1\n',
  },
  {
    name: 'partial object rule with a constant-key definition',
    rego: 'o[k] := 1 if some k in input.a\no["x"] := 2\nallow if {\n  input.b == 1\n  o.x\n}\n',
  },
  {
    name: 'object comprehension with two values for one key, in a definition PE drops',
    rego: 'f("a") := true\nallow if {\n  not count({"k": c | some c in input}) < 0\n  not f("a") >= true\n}\n',
    rule: '',
  },
  {
    name: 'object comprehension with two values for one key',
    rego: 'allow if count({"k": c | some c in input}) > 0\n',
  },
  {
    name: 'object comprehension over an object: one value per key',
    rego: 'allow if count({k: v | some k, v in input.a}) > 0\n',
  },
  {
    name: 'self-comparison of a missing field',
    rego: 'allow if input.a == input.a\n',
  },
  {
    name: 'self-comparison in a rule with a second, non-constant definition',
    rego: 'allow if input.a == input.a\nallow := input.b\n',
  },
  {
    name: 'self-comparison under not, in a violation',
    rego: 'deny contains "m" if not input.a == input.a\ndecision := {"allow": count(deny) == 0, "deny": deny}\n',
    rule: 'decision',
  },
  {
    name: 'self-comparison inside composites',
    rego: 'allow if [input.a, 1] == [input.a, 1]\n',
  },
  {
    name: 'complete rule, two definitions, in a package decision',
    rego: 'lvl := 1 if input.a == 1\nlvl := 2 if input.b == 1\nallow if lvl == 1\n',
    rule: '',
  },
  {
    name: 'package decision: a helper rule that conflicts',
    rego: 'image := c.image if some c in input.cs\ndeny contains "m" if input.a == 2\n',
    rule: '',
  },
  {
    name: 'package decision: a helper partial object that conflicts',
    rego: 'o[k] := 1 if k := input.a\no[k] := 2 if k := input.b\nallow if input.a\n',
    rule: '',
  },
  {
    name: 'package decision in a subpackage: conflict below',
    rego: 'deny contains "m" if input.a == 2\n',
    rule: '',
  },
];

/** Package-style decisions (`policy: acme/k8s`): allow/deny/warn read from the package object. */
const packages: Case[] = [
  { name: 'package: allow only', rego: 'allow if input.a == 1\n', rule: '' },
  { name: 'package: default allow false', rego: 'default allow := false\nallow if input.a == 1\n', rule: '' },
  { name: 'package: deny only', rego: 'deny contains "m" if input.a == 2\n', rule: '' },
  {
    name: 'package: allow, deny and warn',
    rego: 'allow if input.a in {1, 2}\ndeny contains "m" if input.b == 1\nwarn contains "w" if input.b == 2\n',
    rule: '',
  },
  { name: 'package: allow not boolean', rego: 'allow := input.a\n', rule: '' },
  { name: 'package: deny as a string', rego: 'deny := "no" if input.a == 2\n', rule: '' },
  { name: 'package: deny as a complete array', rego: 'deny := [x | some x in input.a]\n', rule: '' },
  { name: 'package: no decision rules at all', rego: 'other := input.a\n', rule: '' },
];

const ALL = [...class1, ...class2, ...packages];
/** The subpackage case puts a conflicting rule one package below the decision package. */
const SUBPACKAGE = 'package decision in a subpackage: conflict below';

let h: Harness;
let engine: ResidualEngine;
let dir: string;
const pathOf = new Map<Case, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wg-unsafe-'));
  for (const [i, c] of ALL.entries()) {
    const pkg = `wg7.c${i}`;
    writeFileSync(join(dir, `c${i}.rego`), `package ${pkg}\n\n${c.rego}`);
    if (c.name === SUBPACKAGE) {
      writeFileSync(join(dir, `c${i}sub.rego`), `package ${pkg}.sub\n\nimage := c.image if some c in input.cs\n`);
    }
    const rule = c.rule ?? 'allow';
    pathOf.set(c, `wg7/c${i}${rule === '' ? '' : `/${rule}`}`);
  }
  h = await startHarness([dir]);
  engine = new ResidualEngine({ client: residualOpaClient(h.opa.url, COMPILE_TIMEOUT_MS), pollIntervalMs: 60_000 });
  await engine.start([...pathOf.values()]);
});

afterAll(async () => {
  engine?.stop();
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  unsafe: { input: unknown; opa: OpaVerdict }[];
  localAllows: number;
  opaClean: number;
  reason?: string;
}

async function judge(c: Case): Promise<Outcome> {
  const path = pathOf.get(c)!;
  const verdicts = await Promise.all(INPUTS.map((x) => h.dataApi(path, x)));
  const out: Outcome = { unsafe: [], localAllows: 0, opaClean: 0, reason: engine.residual(path)?.reason };
  INPUTS.forEach((input, j) => {
    const local = engine.evaluate(path, input);
    const clean = allowedClean(verdicts[j]!);
    if (clean) out.opaClean++;
    if (local.outcome === 'allow') {
      out.localAllows++;
      if (!clean) out.unsafe.push({ input, opa: verdicts[j]! });
    }
  });
  return out;
}

function check(cases: Case[]): void {
  for (const c of cases) {
    test(c.name, async () => {
      const o = await judge(c);
      expect(o.unsafe, `${pathOf.get(c)}\n${c.rego}\n${JSON.stringify(o.unsafe.slice(0, 3))}`).toEqual([]);
    });
  }
}

describe('class 1: not over undefined or ill-typed operands', () => {
  // The attacks only prove something if the residual is in use. The exception: PE leaves a user function
  // called inside a comprehension as a call to the original policy, which is refused.
  test('every class-1 policy compiles in-process', () => {
    const refused = class1
      .map((c) => [c.name, engine.residual(pathOf.get(c)!)?.reason])
      .filter(([name, r]) => r !== undefined && !(name!.startsWith('comprehension:') && r!.startsWith('data reference not folded')));
    expect(refused).toEqual([]);
  });
  check(class1);
});
describe('class 2: conflicts hidden by inlining', () => {
  check(class2);

  test('a function that may conflict refuses only the paths that depend on it', () => {
    const reasons = Object.fromEntries(class2.map((c) => [c.name, engine.residual(pathOf.get(c)!)?.reason]));
    expect(reasons['function, two definitions, dynamic argument']).toMatch(/^function may conflict: data\.wg7\.c\d+\.level$/);
    expect(reasons['function, two definitions, constant arguments, body reads input']).toMatch(/^function may conflict: /);
    expect(reasons['ref head rules with two values']).toMatch(/^rule may conflict: data\.wg7\.c\d+\.limits\.max$/);
    // Rules kept out of inlining are evaluated in-process, with the conflict check.
    expect(reasons['one definition, several outputs (complete rule)']).toBeUndefined();
    expect(reasons['partial object rule, two values for one key']).toBeUndefined();
    expect(reasons['object comprehension with two values for one key']).toMatch(/^object comprehension may conflict: /);
    expect(reasons['object comprehension over an object: one value per key']).toBeUndefined();
  });
});
describe('package-level decision paths', () => {
  check(packages);

  // A complete `deny` that is not boolean-typed makes the "absent" variant (`not R = false`) a type error, so
  // OPA drops it and those inputs go to OPA: fewer local allows, never a wrong one (checked above).
  test('package decisions compile and decide their clean allows in-process', async () => {
    const typical = ['package: allow only', 'package: default allow false', 'package: deny only', 'package: allow, deny and warn'];
    for (const c of packages.filter((x) => typical.includes(x.name))) {
      const o = await judge(c);
      expect(o.reason, c.name).toBeUndefined();
      expect(o.localAllows, c.name).toBe(o.opaClean);
    }
  });
});

describe('exact negation stays local', () => {
  test('`not input.a == 1` and `not input.a` decide their allows in-process (no lost binding to guard)', async () => {
    for (const expr of ['input.a == 1', 'input.a']) {
      const c = class1.find((x) => x.name === `allow if not ${expr}`)!;
      const o = await judge(c);
      expect(o.reason).toBeUndefined();
      expect(o.localAllows).toBe(o.opaClean);
    }
  });

  test('only a policy whose negations may have lost a binding is guarded, and explain says so', () => {
    const text = (name: string): string => engine.residual(pathOf.get(class1.find((x) => x.name === name)!)!)!.text!;
    expect(text('x := input.a; not x == 1')).toMatch(/^# guarded negation: data\.wg7\.c\d+\.allow may have lost a binding\n/);
    expect(text('allow if not input.a == 1')).not.toMatch(/guarded/);
    expect(text('allow if not contains(input.a, "/admin")')).not.toMatch(/guarded/);
    // Bindings copy propagation keeps out of a negation: iteration (`__l2 = input.cs[__l1]`) and `every`.
    expect(text('iteration then not over the element')).not.toMatch(/guarded/);
    expect(text('every body with not')).not.toMatch(/guarded/);
  });

  test('negations over iterated elements decide their allows in-process', async () => {
    for (const name of ['iteration then not over the element', 'every body with not']) {
      const o = await judge(class1.find((x) => x.name === name)!);
      expect(o.localAllows, name).toBe(o.opaClean);
      expect(o.opaClean, name).toBeGreaterThan(0);
    }
  });

  test('a call under not with an operand that is missing fails the body, as OPA compiles it', async () => {
    const c = class1.find((x) => x.name === 'allow if not contains(input.a, "/admin")')!;
    const path = pathOf.get(c)!;
    expect(engine.evaluate(path, {})).toEqual({ outcome: 'fallback', reason: 'residual false' });
    expect(engine.evaluate(path, { a: '/x' }).outcome).toBe('allow');
    expect(await h.dataApi(path, {})).toEqual({ result: undefined });
  });
});
