/**
 * Golden tests: a residual (hand-made in OPA's JSON encoding, or captured from OPA 1.22.3 under golden/) and
 * the answers its predicate must give, one construct at a time. Expected answers follow Rego, not JavaScript.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { Body, CompileResponseV1, Expr, Module, Term } from '../../src/residual/ast.js';
import { parseCompileResponse } from '../../src/residual/ast.js';
import { compileResidual, ResidualUnsupported, type CompiledResidual } from '../../src/residual/compile.js';

/* Term builders in OPA's JSON encoding (v1/ast/term.go MarshalJSON). */
const s = (value: string): Term => ({ type: 'string', value });
const n = (value: number): Term => ({ type: 'number', value });
const b = (value: boolean): Term => ({ type: 'boolean', value });
const nul: Term = { type: 'null', value: {} };
const v = (value: string): Term => ({ type: 'var', value });
const arr = (...items: Term[]): Term => ({ type: 'array', value: items });
const set = (...items: Term[]): Term => ({ type: 'set', value: items });
const obj = (...pairs: [Term, Term][]): Term => ({ type: 'object', value: pairs });
/** `ref('input.a', 'i', '.b')`: dotted strings are keys, bare names are vars. */
function ref(head: string, ...rest: (string | Term)[]): Term {
  const [root, ...keys] = head.split('.');
  const terms: Term[] = [v(root!), ...keys.map(s)];
  for (const r of rest) {
    if (typeof r !== 'string') terms.push(r);
    else if (r.startsWith('.')) terms.push(...r.slice(1).split('.').map(s));
    else terms.push(v(r));
  }
  return { type: 'ref', value: terms };
}
const op = (name: string): Term => {
  const [root, ...rest] = name.split('.');
  return { type: 'ref', value: [v(root!), ...rest.map(s)] };
};
const call = (name: string, ...args: Term[]): Term => ({ type: 'call', value: [op(name), ...args] });
const e = (name: string, ...args: Term[]): Expr => ({ index: 0, terms: [op(name), ...args] });
const not = (x: Expr): Expr => ({ ...x, negated: true });
const t = (term: Term): Expr => ({ index: 0, terms: term });

function residual(queries: Body[], support: Module[] = []): CompileResponseV1 {
  return { result: { queries, support } };
}

/** Guarded mode is the default; `exact` compiles as for a policy whose negations cannot have lost a binding. */
function compiled(r: CompileResponseV1, exact = false): CompiledResidual {
  const c = compileResidual(r, { guarded: !exact });
  if ('reason' in c) throw new Error(`not compilable: ${c.reason}`);
  return c;
}

function verdicts(r: CompileResponseV1, inputs: unknown[], exact = false): boolean[] {
  const c = compiled(r, exact);
  return inputs.map((x) => c.predicate(x));
}

/** The predicate's answer, or the reason it refused (`ResidualUnsupported`). */
function answer(c: CompiledResidual, input: unknown): boolean | string {
  try {
    return c.predicate(input);
  } catch (err) {
    if (err instanceof ResidualUnsupported) return err.reason;
    throw err;
  }
}

describe('queries', () => {
  test('no queries is never true; an empty body is always true (rest-api.md)', () => {
    expect(verdicts({ result: {} }, [{}])).toEqual([false]);
    expect(verdicts(residual([[]]), [{}, null])).toEqual([true, true]);
  });

  test('queries are a disjunction of conjunctions', () => {
    const r = residual([[e('equal', ref('input.a'), n(1)), e('equal', ref('input.b'), n(2))], [e('equal', ref('input.c'), n(3))]]);
    expect(verdicts(r, [{ a: 1, b: 2 }, { a: 1 }, { c: 3 }, {}])).toEqual([true, false, true, false]);
  });
});

describe('undefined propagation', () => {
  test('`input.x != "a"` is false when x is missing; `not input.x = "a"` is true', () => {
    const neq = residual([[e('neq', ref('input.x'), s('a'))]]);
    const notEq = residual([[not(e('eq', ref('input.x'), s('a')))]]);
    expect(verdicts(neq, [{}, { x: 'b' }, { x: 'a' }, { x: null }])).toEqual([false, true, false, true]);
    expect(verdicts(notEq, [{}, { x: 'b' }, { x: 'a' }], true)).toEqual([true, true, false]);
  });

  test('guarded mode refuses an undefined whole-ref operand under not (it may stand for an erased binding)', () => {
    const c = compiled(residual([[not(e('eq', ref('input.x'), s('a')))]]));
    expect([{}, { x: 'b' }, { x: 'a' }].map((x) => answer(c, x))).toEqual(['undefined operand under not', true, false]);
    const rule = compiled(residual([[not(t(ref('data.partial.__not1_0_2__')))]], [
      { package: { path: [v('data'), s('partial')] }, rules: [{ head: { name: '__not1_0_2__', value: b(true), ref: [v('__not1_0_2__')] }, body: [t(ref('input.y'))] }] },
    ]));
    expect([{}, { y: true }].map((x) => answer(rule, x))).toEqual([true, false]);
  });

  test('a call under not has its operands moved out first, as OPA compiles it (rewriteDynamics)', () => {
    // `not input.x == "a"` as a query: `==` is a call, so `input.x` is bound before the negation.
    const notEqual = residual([[not(e('equal', ref('input.x'), s('a')))]]);
    expect(verdicts(notEqual, [{}, { x: 'b' }, { x: 'a' }], true)).toEqual([false, true, false]);
    // Nested calls move out too (rewriteExprTerms): `count` of a number fails the body, not the negation.
    const nested = residual([[not(e('gt', call('count', ref('input.xs')), n(2)))]]);
    expect(verdicts(nested, [{}, { xs: 5 }, { xs: [1] }, { xs: [1, 2, 3] }], true)).toEqual([false, false, true, false]);
    // A call written with its output operand stays in the `not` (only its operands move): `not count(input.xs,
    // 0)` holds for a number, as on OPA 1.22.3.
    const output = residual([[not(e('count', ref('input.xs'), n(0)))]]);
    expect(verdicts(output, [{}, { xs: 5 }, { xs: [] }, { xs: [1] }], true)).toEqual([false, true, false, true]);
    // Refs inside a unification's operands move (ref keys, composite elements); the whole ref stays.
    const key = residual([[not(e('eq', ref('input.m', ref('input.k')), n(1)))]]);
    expect(verdicts(key, [{}, { m: {} }, { m: {}, k: 'a' }, { m: { a: 1 }, k: 'a' }], true)).toEqual([false, false, true, false]);
  });

  test('a term expression holds when defined and not false', () => {
    const r = residual([[t(ref('input.x'))]]);
    expect(verdicts(r, [{}, { x: false }, { x: 0 }, { x: '' }, { x: null }, { x: [] }])).toEqual([
      false, false, true, true, true, true,
    ]);
  });

  test('refs into non-collections are undefined, array keys must be in-range integers', () => {
    const r = residual([[t(ref('input.a', { type: 'number', value: 1 } as Term))]]);
    expect(verdicts(r, [{ a: [0, 1] }, { a: [0] }, { a: { 1: true } }, { a: 'ab' }])).toEqual([true, false, false, false]);
  });
});

describe('comparison', () => {
  test('cross-type order: null < boolean < number < string < array < object < set', () => {
    const gt = residual([[e('gt', s('a'), ref('input.x'))]]);
    expect(verdicts(gt, [{ x: 1 }, { x: 'b' }, { x: null }, { x: [] }, { x: {} }, { x: true }])).toEqual([
      true, false, true, false, false, true,
    ]);
    const lt = residual([[e('lt', ref('input.x'), set())]]);
    expect(verdicts(lt, [{ x: {} }, { x: [9] }])).toEqual([true, true]);
  });

  test('arrays compare element-wise then by length; objects by sorted keys', () => {
    const r = residual([[e('lt', ref('input.x'), arr(n(1), n(2)))]]);
    expect(verdicts(r, [{ x: [1] }, { x: [1, 1, 9] }, { x: [1, 2] }, { x: [2] }])).toEqual([true, true, false, false]);
    const o = residual([[e('lt', ref('input.x'), obj([s('b'), n(1)]))]]);
    expect(verdicts(o, [{ x: { a: 5 } }, { x: { b: 0 } }, { x: { c: 0 } }])).toEqual([true, true, false]);
  });

  test('strings order by code point, as Go does, not by UTF-16 unit', () => {
    const r = residual([[e('lt', ref('input.x'), s('\uffff'))]]);
    expect(verdicts(r, [{ x: '\u{1F600}' }, { x: 'z' }])).toEqual([false, true]);
  });

  test('structural equality: 1 == 1.0, deep arrays/objects, sets never equal arrays', () => {
    expect(verdicts(residual([[e('equal', ref('input.x'), n(1))]]), [{ x: 1.0 }, { x: '1' }])).toEqual([true, false]);
    const s2 = residual([[e('eq', ref('input.y'), set(n(1), n(2)))]]);
    expect(verdicts(s2, [{ y: [1, 2] }])).toEqual([false]);
    const o = residual([[e('equal', ref('input.o'), obj([s('a'), arr(n(1))]))]]);
    expect(verdicts(o, [{ o: { a: [1] } }, { o: { a: [1], b: 1 } }])).toEqual([true, false]);
  });
});

describe('unification and iteration', () => {
  test('refs with variables iterate; eq binds', () => {
    const r = residual([[e('eq', ref('input.cs', 'i', '.name'), s('x')), e('eq', ref('input.cs', 'i', '.ok'), b(true))]]);
    expect(
      verdicts(r, [{ cs: [{ name: 'x' }, { name: 'y', ok: true }] }, { cs: [{ name: 'y' }, { name: 'x', ok: true }] }]),
    ).toEqual([false, true]);
  });

  test('object iteration binds keys', () => {
    const r = residual([[e('startswith', ref('input.labels', 'k'), s('ops')), e('eq', v('k'), s('team'))]]);
    expect(verdicts(r, [{ labels: { team: 'ops-a' } }, { labels: { team: 'dev', x: 'ops' } }])).toEqual([true, false]);
  });

  test('array patterns destructure', () => {
    const r = residual([[e('eq', arr(n(1), v('x')), ref('input.w')), e('gt', v('x'), n(2))]]);
    expect(verdicts(r, [{ w: [1, 3] }, { w: [1, 2] }, { w: [2, 3] }, { w: [1, 3, 4] }])).toEqual([true, false, false, false]);
  });

  test('bodies are reordered so a negation waits for its variables (PE emits it first)', () => {
    const r = residual([[not(e('eq', ref('x', '.privileged'), b(true))), e('eq', v('x'), ref('input.cs', 'i'))]]);
    expect(verdicts(r, [{ cs: [{ privileged: true }] }, { cs: [{ privileged: true }, {}] }, { cs: [] }], true)).toEqual([
      false, true, false,
    ]);
  });

  test('every: all elements; an undefined or scalar domain fails', () => {
    const every: Expr = {
      index: 0,
      terms: { key: v('k'), value: v('c'), domain: ref('input.cs'), body: [e('neq', ref('c', '.name'), s('evil'))] },
    };
    expect(verdicts(residual([[every]]), [{ cs: [{ name: 'a' }] }, { cs: [{ name: 'evil' }] }, { cs: [] }, {}, { cs: 'x' }])).toEqual([
      true, false, true, false, false,
    ]);
  });

  test('comprehensions and count', () => {
    const comp: Term = {
      type: 'arraycomprehension',
      value: { term: v('g'), body: [e('eq', v('g'), ref('input.groups', 'i')), e('startswith', v('g'), s('admin'))] },
    };
    const r = residual([[e('eq', v('xs'), comp), e('gt', call('count', v('xs')), n(0))]]);
    expect(verdicts(r, [{ groups: ['dev', 'admins'] }, { groups: ['dev'] }, {}])).toEqual([true, false, false]);
  });
});

describe('builtins', () => {
  test('`in` on arrays, sets and objects (values); strings yield false', () => {
    const r = residual([[e('internal.member_2', s('a'), ref('input.c'))]]);
    expect(verdicts(r, [{ c: ['a'] }, { c: { k: 'a' } }, { c: { a: 1 } }, { c: 'a' }])).toEqual([true, true, false, false]);
  });

  test('string builtins on the wrong type are undefined (non-strict builtin errors)', () => {
    const r = residual([[not(e('startswith', ref('input.x'), s('a')))]]);
    // `{}`: the moved operand `input.x` is undefined, so the body fails.
    expect(verdicts(r, [{ x: 'ab' }, { x: 'b' }, { x: 1 }, {}])).toEqual([false, true, true, false]);
  });

  test('count of strings counts code points', () => {
    const r = residual([[e('equal', call('count', ref('input.s')), n(2))]]);
    expect(verdicts(r, [{ s: '\u{1F600}x' }, { s: 'abc' }, { s: 5 }])).toEqual([true, false, false]);
  });

  test('object.get walks paths through objects and arrays, with a default', () => {
    const r = residual([[e('object.get', ref('input'), arr(s('a'), n(0)), s('D'), s('D'))]]);
    expect(verdicts(r, [{}, { a: ['x'] }, { a: [] }, { a: { 0: 'x' } }])).toEqual([true, false, true, true]);
  });
});

describe('support rules', () => {
  const pkg = { path: [v('data'), s('partial'), s('p')] };
  test('partial set rule feeding count, and a function', () => {
    const deny: Module = {
      package: pkg,
      rules: [
        { head: { name: 'deny', key: s('privileged'), ref: [v('deny')] }, body: [e('eq', ref('input.cs', 'i', '.privileged'), b(true))] },
        { head: { name: 'bad', args: [v('x')], value: b(true), ref: [v('bad')] }, body: [e('equal', v('x'), s('evil'))] },
        { head: { name: 'deny', key: v('m'), ref: [v('deny')] }, body: [e('data.partial.p.bad', ref('input.name')), e('eq', v('m'), s('evil name'))] },
      ],
    };
    const r = residual([[e('count', ref('data.partial.p.deny'), n(0))]], [deny]);
    expect(verdicts(r, [{ cs: [{}], name: 'ok' }, { cs: [{ privileged: true }] }, { name: 'evil' }])).toEqual([true, false, false]);
  });

  test('a complete rule with two different values is a conflict: never answered locally', () => {
    const level: Module = {
      package: pkg,
      rules: [
        { head: { name: 'level', value: s('low'), ref: [v('level')] }, body: [t(ref('input.a'))] },
        { head: { name: 'level', value: s('high'), ref: [v('level')] }, body: [t(ref('input.b'))] },
        { default: true, head: { name: 'level', value: s('none'), ref: [v('level')] }, body: [t(b(true))] },
      ],
    };
    const c = compiled(residual([[e('neq', ref('data.partial.p.level'), s('x'))]], [level]));
    expect(c.predicate({ a: true })).toBe(true);
    expect(c.predicate({})).toBe(true);
    expect(() => c.predicate({ a: true, b: true })).toThrow(ResidualUnsupported);
  });
});

describe('not compilable', () => {
  const cases: [string, CompileResponseV1][] = [
    ['with modifier', residual([[{ ...e('equal', ref('input.a'), n(1)), with: [{ target: ref('input.b'), value: n(2) }] }]])],
    ['else rule', residual([[t(ref('data.partial.p.q'))]], [{ package: { path: [v('data'), s('partial'), s('p')] }, rules: [{ head: { name: 'q', value: b(true) }, body: [t(ref('input.a'))], else: { head: { name: 'q', value: b(false) }, body: [] } }] }])],
    ['unsupported builtin: regex.match', residual([[e('regex.match', s('^a'), ref('input.name'))]])],
    ['nondeterministic builtin: time.now_ns', residual([[e('gt', call('time.now_ns'), ref('input.t'))]])],
    ['nondeterministic builtin: http.send', residual([[e('http.send', obj([s('url'), ref('input.u')]), v('r'))]])],
    ['data reference not folded: data.writegate.x', residual([[e('eq', ref('data.writegate.x'), b(true))]])],
    ['unknown term type: templatestring', residual([[t({ type: 'templatestring', value: {} })]])],
    ['unsafe body', residual([[e('eq', v('x'), v('y'))]])],
  ];
  for (const [reason, r] of cases) {
    test(reason, () => {
      expect(compileResidual(r)).toEqual({ reason });
    });
  }

  test('number literals a double cannot hold exactly are refused', () => {
    const text = JSON.stringify(residual([[e('lt', ref('input.t'), n(0))]])).replace('"value":0', '"value":1672617599000000001');
    expect(compileResidual(parseCompileResponse(text))).toEqual({
      reason: 'number literal not exactly representable: 1672617599000000001',
    });
    expect(compileResidual(parseCompileResponse(text.replace('1672617599000000001', '0.25')))).not.toHaveProperty('reason');
  });

  test('null literal', () => {
    expect(verdicts(residual([[e('equal', ref('input.x'), nul)]]), [{ x: null }, {}])).toEqual([true, false]);
  });
});

describe('residuals captured from OPA 1.22.3 (golden/)', () => {
  const dir = new URL('./golden/', import.meta.url);
  for (const file of readdirSync(dir)) {
    test(file, () => {
      const { response } = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { response: CompileResponseV1 };
      const c = compiled(response);
      expect(c.text).toContain('# query 1');
      expect(typeof c.predicate({})).toBe('boolean');
    });
  }

  test('kubernetes decision on the policy library examples', () => {
    const golden = JSON.parse(readFileSync(new URL('kubernetes-decision.json', dir), 'utf8')) as { response: CompileResponseV1 };
    const c = compiled(golden.response, true);
    const example = (name: string): unknown =>
      JSON.parse(readFileSync(new URL(`../../policies/kubernetes/testdata/${name}/input.json`, import.meta.url), 'utf8'));
    expect(c.predicate(example('deployment-create'))).toBe(true);
    expect(c.predicate(example('delete-production'))).toBe(false);
  });
});
