/**
 * A generator of whole Rego v1 policies for policy-level differential fuzzing (issue 7): helper rules with one or
 * several (possibly conflicting) definitions, `default`, `else`, ref-head rules, partial set and object rules,
 * functions (one or several definitions, called with constant or input-reading arguments), negation of every
 * call and comparison, comprehensions, `some … in`, `every`, `in`, `with`, `object.get`, `sprintf` with all
 * verbs and edge number literals — the residual's accepted fragment and just beyond it. Decisions come in the
 * three shapes the gateway accepts: a boolean `allow`, a `{allow, deny, warn}` object rule, and a package whose
 * rules are `allow`/`deny`/`warn`.
 *
 * Policies read a fixed input vocabulary (see input-gen.ts) and compare with literals drawn from the same pools
 * as the input values, so that conditions hold often enough for the residual to allow locally.
 *
 * A policy is kept as rules of clauses of body literals (not as text) so that a finding can be minimised by
 * dropping rules and literals.
 */
import { Rng } from './rng.js';

export type Shape = 'boolean' | 'object' | 'package';

/** `head if { body }`, or `head` alone when the body is empty; clauses after the first are `else` parts. */
export interface Clause {
  head: string;
  body: string[];
}

export interface RuleSrc {
  clauses: Clause[];
}

export interface PolicySrc {
  /** Package path, e.g. `fuzz.p12`. */
  pkg: string;
  /** Decision path the gateway would be configured with, e.g. `fuzz/p12/allow`. */
  path: string;
  shape: Shape;
  rules: RuleSrc[];
}

export function renderRule(rule: RuleSrc): string {
  return rule.clauses
    .map((c) => (c.body.length === 0 ? c.head : `${c.head} if {\n\t${c.body.join('\n\t')}\n}`))
    .join(' ');
}

export function renderPolicy(p: PolicySrc): string {
  return `package ${p.pkg}\n\n${p.rules.map(renderRule).join('\n\n')}\n`;
}

/** Strings that the input generator also draws from (input-gen.ts STRINGS is a superset). */
export const STRING_LITERALS = [
  'a', 'b', 'ab', '', 'A', 'é', '/admin', 'x/admin', '__proto__', 'constructor', 'toString', '\ufffd', '8080', 'a,b',
  'a/b', 'true', 'null', ' a ',
  // Above U+FFFF vs just below it: UTF-16 order (JavaScript's <) and code point order (Go's) disagree.
  '\ud83d\ude00', '\uffff',
] as const;

/** Number literals, including the ones that are not exact as doubles (issue 7, class 4). */
export const NUMBER_LITERALS = [
  '0', '1', '2', '-1', '0.5', '1.0', '8080', '8080.0', '1e-400', '0.99999999999999999', '3e-324', '1e308', '-0',
  '9007199254740993', '9007199254740992', '0.1', '1e400', '100',
] as const;

const SPRINTF_VERBS = [
  '%s', '%v', '%d', '%t', '%q', '%x', '%X', '%o', '%b', '%e', '%E', '%f', '%g', '%G', '%c', '%U', '%5d', '%-4s',
  '%05d', '%.2f', '%+d', '%T', '%%', '%#v', '%08.3f',
] as const;

/** Strings sprintf results are compared with: what Go prints for likely operands, and Go's error forms. */
const SPRINTF_RESULTS = [
  '1', '8080', 'a', 'true', 'false', '%!d(string=a)', '%!t(string=false)', '1.5', 'a-1', '"a"', '["a"]', '8080.0', '',
  '%!d(float64=8080)', '<nil>', '1e+308', '0', '-0', 'null',
] as const;

type Kind = 'str' | 'num' | 'bool' | 'coll' | 'obj' | 'any';

const REFS: Record<Exclude<Kind, 'any'>, readonly string[]> = {
  str: ['input.s', 'input.t', 'input.k', 'input.user.name', 'input.o.a', 'input.xs[0]', 'input.items[0].name'],
  num: ['input.n', 'input.m', 'input.user.level', 'input.ns[0]', 'input.o.a', 'input.items[0].n'],
  bool: ['input.b', 'input.items[0].priv', 'input.o.flag'],
  coll: ['input.xs', 'input.ns', 'input.o', 'input.items', 'input.user.roles', 'input.s', 'input.missing'],
  obj: ['input.o', 'input.user', 'input.items[0]', 'input', 'input.s'],
};
/**
 * Refs whose JavaScript reading differs from Rego's unless the evaluator is careful: property-key coercion
 * (`o[1]` is `o["1"]` in JS), inherited and built-in properties (`xs.length`, `o.constructor`), fractional and
 * negative indices, string keys on arrays.
 */
const ODD_REFS = [
  'input.missing', 'input.o[input.k]', 'input.xs[input.n]', 'input.o.__proto__', 'input.user', 'input.nul',
  'input.o[1]', 'input.xs["0"]', 'input.xs.length', 'input.s.length', 'input.o.constructor', 'input.o.toString',
  'input.xs[-1]', 'input.xs[1.0]', 'input.xs[0.5]', 'input.ns[input.ns[0]]', 'input.s[0]',
];

const CMP = ['==', '!=', '<', '<=', '>', '>='] as const;

interface Local {
  name: string;
  kind: Kind;
}

interface Helper {
  /** How the helper is referenced (`h1`, `limits.max`, `names`). */
  ref: string;
  kind: 'value' | 'set' | 'object';
  /**
   * The literals its value (an object helper: its values) can be, to compare with; empty when input-derived.
   * Comparing a typed value with a literal of another type is a type error ("match error").
   */
  values: string[];
}

interface Fn {
  name: string;
  arity: number;
  /** Boolean functions can be called as conditions; value functions are compared. */
  returns: 'bool' | 'value';
  /** The constant argument its bodies expect, for functions that read input (called with constants). */
  constArg?: string;
  /** As {@link Helper.values}. */
  values: string[];
}

class Scope {
  constructor(readonly locals: Local[] = []) {}
  with(l: Local): Scope {
    return new Scope([...this.locals, l]);
  }
  of(kind: Kind): string[] {
    return this.locals.filter((l) => l.kind === kind || kind === 'any').map((l) => l.name);
  }
}

const q = (s: string): string => JSON.stringify(s);

class Gen {
  readonly rules: RuleSrc[] = [];
  readonly helpers: Helper[] = [];
  readonly fns: Fn[] = [];
  private tmp = 0;

  constructor(private readonly r: Rng) {}

  private fresh(prefix: string): string {
    return `${prefix}${this.tmp++}`;
  }

  /* ------------------------------------------------------------ terms */

  strLit(): string {
    // A lone surrogate literal is rare: OPA turns it into U+FFFD when parsing the policy.
    return this.r.chance(0.02) ? '"\\ud800"' : q(this.r.pick(STRING_LITERALS));
  }

  numLit(): string {
    return this.r.chance(0.6) ? this.r.pick(['0', '1', '2', '-1', '8080', '100']) : this.r.pick(NUMBER_LITERALS);
  }

  lit(kind: Kind): string {
    switch (kind) {
      case 'str':
        return this.strLit();
      case 'num':
        return this.numLit();
      case 'bool':
        return this.r.pick(['true', 'false']);
      case 'coll':
        return this.r.pick(['[]', '["a"]', '["a", "b"]', '{"a"}', 'set()', '{"a": 1}', '[1, 2]', '{}']);
      case 'obj':
        return this.r.pick(['{}', '{"a": 1}', '{"a": null}', '{"__proto__": "a"}']);
      default:
        return this.r.pick([this.strLit(), this.numLit(), 'null', 'true', 'false', '[]', '{}', '["a"]']);
    }
  }

  ref(kind: Kind, sc: Scope): string {
    const locals = sc.of(kind);
    if (locals.length > 0 && this.r.chance(0.6)) return this.r.pick(locals);
    if (this.r.chance(0.08)) return this.r.pick(ODD_REFS);
    if (kind === 'any') return this.r.pick([...REFS.str, ...REFS.num, ...REFS.bool, ...REFS.coll]);
    return this.r.pick(REFS[kind]);
  }

  /** A term of roughly `kind`, sometimes a call; `depth` bounds nesting. */
  term(kind: Kind, sc: Scope, depth = 0): string {
    const r = this.r;
    if (depth < 1 && r.chance(0.15)) {
      switch (kind) {
        case 'str':
          return r.pick([
            () => `lower(${this.term('str', sc, depth + 1)})`,
            () => `upper(${this.term('str', sc, depth + 1)})`,
            () => `concat(",", ${this.ref('coll', sc)})`,
            () => `object.get(${this.ref('obj', sc)}, ${this.strLit()}, ${this.lit('any')})`,
            () => `split(${this.term('str', sc, depth + 1)}, "/")[${r.pick(['0', '1'])}]`,
            () => `sprintf(${q(r.pick(SPRINTF_VERBS))}, [${this.term('any', sc, depth + 1)}])`,
            () => `trim_space(${this.term('str', sc, depth + 1)})`,
            () => `type_name(${this.term('any', sc, depth + 1)})`,
          ])();
        case 'num':
          return r.pick([
            () => `count(${this.term(r.pick(['coll', 'str'] as const), sc, depth + 1)})`,
            () => `${this.term('num', sc, depth + 1)} ${r.pick(['+', '-', '*'])} ${this.numLit()}`,
            () => `${this.term('num', sc, depth + 1)} ${r.pick(['/', '%'])} ${r.pick(['2', '3'])}`,
            () => `count(object.keys(${this.ref('obj', sc)}))`,
            () => `abs(${this.term('num', sc, depth + 1)})`,
            () => `to_number(${this.term('str', sc, depth + 1)})`,
          ])();
        case 'coll':
          return r.pick([
            () => `object.keys(${this.ref('obj', sc)})`,
            () => `array.concat(${this.ref('coll', sc)}, ["z"])`,
            () => `split(${this.term('str', sc, depth + 1)}, ",")`,
            () => {
              const x = this.fresh('e');
              return `{${x} | some ${x} in ${this.ref('coll', sc)}}`;
            },
            () => {
              const x = this.fresh('e');
              return `[${x} | some ${x} in ${this.ref('coll', sc)}; ${this.condOn(x, depth + 1)}]`;
            },
            () => {
              const [k, v] = [this.fresh('k'), this.fresh('v')];
              return `{${k}: ${v} | some ${k}, ${v} in ${this.ref('obj', sc)}}`;
            },
          ])();
        default:
          break;
      }
    }
    return r.chance(0.7) ? this.ref(kind, sc) : this.lit(kind);
  }

  /**
   * A term that is not a literal, for the left of comparisons: two literals of different types are a type
   * error, and a leading negative literal would continue the previous line (`input.m\n-0 >= v` is a subtraction).
   */
  operand(kind: Kind, sc: Scope): string {
    for (let i = 0; i < 4; i++) {
      const t = this.term(kind, sc);
      if (!/^(-|\d|"|\[|\{|set\(|true$|false$|null$)/.test(t)) return t;
    }
    return this.ref(kind, sc);
  }

  /** A condition on a bound variable (comprehension and `every` bodies, function bodies). */
  condOn(v: string, depth: number): string {
    const sc = new Scope([{ name: v, kind: this.r.pick(['str', 'any'] as const) }]);
    const [c] = this.single(sc, depth);
    return c!;
  }

  /* ------------------------------------------------------------ conditions */

  /** One condition of one or more literals; single-literal conditions may be negated by the caller. */
  cond(sc: Scope, depth = 0): string[] {
    const r = this.r;
    const kind = r.weighted<'single' | 'some' | 'index' | 'every' | 'local' | 'destructure' | 'with'>([
      [12, 'single'],
      [2, 'some'],
      [0.7, 'index'],
      [1, 'every'],
      [1.5, 'local'],
      [0.3, 'destructure'],
      [0.2, 'with'],
    ]);
    switch (kind) {
      case 'some': {
        const x = this.fresh('x');
        if (r.chance(0.5)) {
          const inner = sc.with({ name: x, kind: r.pick(['str', 'num', 'any'] as const) });
          return [`some ${x} in ${this.ref('coll', sc)}`, this.using([x], inner, depth)];
        }
        const k = this.fresh('k');
        const inner = sc.with({ name: k, kind: 'str' }).with({ name: x, kind: 'any' });
        return [`some ${k}, ${x} in ${this.ref('coll', sc)}`, this.using([k, x], inner, depth)];
      }
      case 'index': {
        // An index variable: arrays by position, objects by key, sets by member.
        const i = this.fresh('i');
        const coll = this.ref('coll', sc);
        return [`some ${i}`, `${coll}[${i}] ${r.pick(CMP)} ${this.lit('any')}`, `${i} ${r.pick(CMP)} ${r.pick(['0', '1', '"a"'])}`];
      }
      case 'every': {
        const x = this.fresh('x');
        const inner = sc.with({ name: x, kind: r.pick(['str', 'num', 'any'] as const) });
        return [`every ${x} in ${this.ref('coll', sc)} { ${this.using([x], inner, depth + 1)} }`];
      }
      case 'local': {
        const v = this.fresh('v');
        const k = r.pick(['str', 'num', 'any', 'coll'] as const);
        // From a ref or call, not a literal: the type checker refuses comparing a typed local with a literal of
        // another type ("match error").
        return [`${v} := ${this.operand(k, sc)}`, this.using([v], sc.with({ name: v, kind: k }), depth)];
      }
      case 'destructure': {
        const a = this.fresh('a');
        return [`[_, ${a}] = ${this.ref('coll', sc)}`, this.using([a], sc.with({ name: a, kind: 'any' }), depth)];
      }
      case 'with': {
        const target = r.pick(['input.s', 'input.n', 'input.xs', 'input.b', 'input']);
        const value = target === 'input' ? r.pick(['{}', '{"s": "a"}']) : this.lit(target === 'input.xs' ? 'coll' : 'any');
        return [`${this.negatable(sc, depth).join('; ')} with ${target} as ${value}`];
      }
      default:
        return this.negatable(sc, depth);
    }
  }

  /**
   * A (possibly negated) condition that mentions every one of `vars` (OPA refuses a `some` variable that is
   * declared and not used); after a few tries, the variables are tested for definedness instead.
   */
  using(vars: string[], sc: Scope, depth: number): string {
    for (let i = 0; i < 6; i++) {
      const [c] = this.negatable(sc, depth);
      if (vars.every((v) => new RegExp(`\\b${v}\\b`).test(c!))) return c!;
    }
    return vars.map((v) => `${v} != null`).join('; ');
  }

  /**
   * A literal one of `values`; when the value is input-derived (`values` empty) an input ref, whose type is
   * unknown to the type checker, so that no comparison is a type error.
   */
  private valueLit(values: string[]): string {
    return values.length > 0 ? this.r.pick(values) : this.r.pick([...REFS.str, ...REFS.num, ...REFS.coll]);
  }

  private negatable(sc: Scope, depth: number): string[] {
    const [c] = this.single(sc, depth);
    // A wildcard under `not` is unsafe (OPA refuses the policy).
    return [this.r.chance(0.35) && !c!.includes('[_]') ? `not ${c}` : c!];
  }

  /** A single expression: a comparison, a builtin call, a helper or function reference, a membership test. */
  single(sc: Scope, depth: number): [string] {
    const r = this.r;
    const form = r.weighted<string>([
      [6, 'cmp'],
      [2, 'strcall'],
      [1.5, 'is'],
      [2, 'in'],
      [1.5, 'count'],
      [1, 'case'],
      [this.helpers.length > 0 ? 4 : 0, 'helper'],
      [this.fns.length > 0 ? 3 : 0, 'fn'],
      [1.5, 'objget'],
      [1, 'split'],
      [0.7, 'concat'],
      [1.5, 'sprintf'],
      [1, 'arith'],
      [0.7, 'typename'],
      [1.5, 'truthy'],
      [1, 'lookup'],
      [1, 'edge'],
      [depth < 1 ? 1 : 0, 'compr'],
      [0.2, 'beyond'],
      [0.5, 'unify'],
      [0.6, 'self'],
      [0.8, 'order'],
      [0.6, 'setop'],
      [0.5, 'composite'],
    ]);
    switch (form) {
      case 'cmp': {
        const k = r.pick(['str', 'num', 'any', 'bool', 'obj'] as const);
        return [`${this.operand(k, sc)} ${r.pick(CMP)} ${this.term(k, sc, depth)}`];
      }
      case 'strcall':
        return [`${r.pick(['contains', 'startswith', 'endswith'])}(${this.term('str', sc, depth)}, ${r.chance(0.8) ? this.strLit() : this.ref('str', sc)})`];
      case 'is':
        return [`is_${r.pick(['string', 'number', 'boolean', 'null', 'array', 'set', 'object'])}(${this.term('any', sc, depth)})`];
      case 'in': {
        if (r.chance(0.25)) {
          // Against a literal collection the member is an input ref: a typed member of another type than the
          // collection's elements is a type error.
          return [`${r.pick([...REFS.str, ...REFS.num])} in ${r.pick(['{"a", "b"}', '["a", "é"]', '{"a": "b"}', '[1, 2.0]'])}`];
        }
        const coll = this.ref('coll', sc);
        if (r.chance(0.2)) return [`${this.strLit()}, ${this.operand('any', sc)} in ${coll}`];
        return [`${this.operand(r.pick(['str', 'num', 'any'] as const), sc)} in ${coll}`];
      }
      case 'count':
        return [`count(${this.term('coll', sc, depth)}) ${r.pick(CMP)} ${r.pick(['0', '1', '2'])}`];
      case 'case':
        return [`${r.pick(['lower', 'upper'])}(${this.term('str', sc, depth)}) ${r.pick(['==', '!='])} ${this.strLit()}`];
      case 'helper': {
        const h = r.pick(this.helpers);
        if (h.kind === 'set') {
          return [r.pick([`${this.strLit()} in ${h.ref}`, `count(${h.ref}) > ${r.pick(['0', '1'])}`, `${h.ref}[${this.term('str', sc, depth)}]`])];
        }
        if (h.kind === 'object') {
          return [r.pick([`${h.ref}.a ${r.pick(CMP)} ${this.valueLit(h.values)}`, `count(${h.ref}) > 0`, `${h.ref}[${this.ref('str', sc)}]`])];
        }
        return [r.pick([h.ref, `${h.ref} ${r.pick(CMP)} ${this.valueLit(h.values)}`, `${h.ref} == ${this.valueLit([])}`])];
      }
      case 'fn': {
        const f = r.pick(this.fns);
        const args = Array.from({ length: f.arity }, () =>
          f.constArg !== undefined && r.chance(0.95) ? f.constArg : r.chance(0.75) ? this.term('str', sc, depth) : this.strLit(),
        ).join(', ');
        return [f.returns === 'bool' && r.chance(0.7) ? `${f.name}(${args})` : `${f.name}(${args}) ${r.pick(CMP)} ${this.valueLit(f.values)}`];
      }
      case 'objget': {
        const key = r.chance(0.3) ? `[${this.strLit()}, ${r.pick(['"a"', '0', '"b"'])}]` : r.chance(0.2) ? this.ref('str', sc) : this.strLit();
        return [`object.get(${this.ref('obj', sc)}, ${key}, ${this.lit('any')}) ${r.pick(['==', '!='])} ${this.lit('any')}`];
      }
      case 'split':
        return [
          r.pick([
            `split(${this.term('str', sc, depth)}, ${q(r.pick(['/', ',', '']))})[${r.pick(['0', '1'])}] == ${this.strLit()}`,
            `count(split(${this.term('str', sc, depth)}, ${q(r.pick(['/', ',', '']))})) ${r.pick(CMP)} ${r.pick(['1', '2'])}`,
          ]),
        ];
      case 'concat':
        return [`concat(${q(r.pick([',', '', '/']))}, ${this.ref('coll', sc)}) ${r.pick(['==', '!='])} ${this.strLit()}`];
      case 'sprintf': {
        const n = r.range(1, 2);
        // `%%` consumes no operand, so it is followed by a `%s` that does: one operand per verb.
        const verbs = Array.from({ length: n }, () => r.pick(SPRINTF_VERBS).replace('%%', '%%%s'));
        const args = Array.from({ length: verbs.length }, () => this.term(r.pick(['str', 'num', 'bool', 'any'] as const), sc, depth));
        const target = r.chance(0.7) ? q(r.pick(SPRINTF_RESULTS)) : this.strLit();
        return [`sprintf(${q(verbs.join('-'))}, [${args.join(', ')}]) ${r.pick(['==', '!='])} ${target}`];
      }
      case 'arith':
        return [`${this.ref('num', sc)} ${r.pick(['+', '-', '*', '/', '%'])} ${this.numLit()} ${r.pick(CMP)} ${this.numLit()}`];
      case 'typename':
        return [`type_name(${this.term('any', sc, depth)}) == ${q(r.pick(['string', 'number', 'boolean', 'null', 'array', 'object', 'set']))}`];
      case 'truthy':
        return [this.ref(r.pick(['bool', 'any', 'str'] as const), sc)];
      case 'lookup':
        return [
          r.pick([
            `input.o[${this.ref('str', sc)}] ${r.pick(CMP)} ${this.lit('any')}`,
            `input.xs[_] == ${this.strLit()}`,
            `input.items[_].priv == true`,
            `input.o[${this.strLit()}]`,
            `input.user.roles[${r.pick(['0', '1', '_'])}] ${r.pick(['==', '!='])} ${this.strLit()}`,
          ]),
        ];
      case 'edge':
        return [`${this.ref('num', sc)} ${r.pick(CMP)} ${r.pick(NUMBER_LITERALS)}`];
      case 'compr': {
        const x = this.fresh('c');
        const coll = this.ref(r.pick(['coll', 'obj'] as const), sc);
        return [
          r.pick([
            () => `count([${x} | some ${x} in ${coll}; ${this.condOn(x, depth + 1)}]) ${r.pick(CMP)} ${r.pick(['0', '1'])}`,
            () => `{${x} | some ${x} in ${coll}} == ${r.pick(['{"a"}', 'set()', '{"a", "b"}'])}`,
            () => `count({${x}: ${x}v | some ${x}, ${x}v in ${coll}}) ${r.pick(CMP)} ${r.pick(['0', '1'])}`,
            () => `[${x} | some ${x} in ${coll}] == ${r.pick(['["a"]', '[]', '["a", "b"]'])}`,
            // Two values for one key in an object comprehension: an evaluation error in OPA.
            () => `count({"a": ${x} | some ${x} in ${coll}}) ${r.pick(CMP)} ${r.pick(['0', '1'])}`,
          ])(),
        ];
      }
      case 'self': {
        // One term on both sides: OPA's partial evaluation folds some of these (fuzz-findings F2).
        const t = r.chance(0.7) ? this.ref(r.pick(['str', 'num', 'any'] as const), sc) : this.term('num', sc, 1);
        return [`${t} ${r.pick(CMP)} ${t}`];
      }
      case 'order': {
        // Iteration order: OPA visits object keys and set members sorted (by code point), JS in insertion order.
        const x = this.fresh('o');
        return [
          r.pick([
            `[${x} | some ${x}, _ in ${this.ref('obj', sc)}] == ${r.pick(['["a", "b"]', '["b", "a"]', '["a"]', '[]'])}`,
            `concat(",", [${x} | some ${x}, _ in ${this.ref('obj', sc)}]) ${r.pick(['==', '!=', '<'])} ${q(r.pick(['a,b', 'b,a', '__proto__,a', 'a']))}`,
            `[${x} | some ${x} in {${x}2 | some ${x}2 in ${this.ref('coll', sc)}}][0] ${r.pick(CMP)} ${this.strLit()}`,
            `[${x} | some ${x} in ${this.ref('coll', sc)}][${r.pick(['0', '1'])}] ${r.pick(CMP)} ${this.lit('any')}`,
          ]),
        ];
      }
      case 'setop': {
        const x = this.fresh('s');
        const set = `{${x} | some ${x} in ${this.ref('coll', sc)}}`;
        return [`count(${set} ${r.pick(['|', '&', '-'])} ${r.pick(['{"a"}', 'set()', '{"a", 1}'])}) ${r.pick(CMP)} ${r.pick(['0', '1'])}`];
      }
      case 'composite':
        // Composite literals holding refs: undefined members make the whole literal undefined.
        return [
          r.pick([
            `{"a": ${this.ref('any', sc)}} ${r.pick(['==', '!='])} ${this.ref('obj', sc)}`,
            `[${this.ref('str', sc)}, ${this.strLit()}] ${r.pick(['==', '!=', '<'])} ${this.ref('coll', sc)}`,
            `{${this.ref('str', sc)}} ${r.pick(['==', '!='])} {${this.strLit()}}`,
            // Unary minus on the right: a line that starts with `-` continues the previous expression.
            `${this.ref('num', sc)} ${r.pick(CMP)} -${this.ref('num', sc)}`,
          ]),
        ];
      case 'beyond':
        // Builtins outside today's fragment: the residual must refuse them (or implement them exactly).
        return [
          r.pick([
            `regex.match("^a", ${this.term('str', sc, depth)})`,
            `trim(${this.term('str', sc, depth)}, " ") == "a"`,
            `max(${this.ref('coll', sc)}) > 1`,
            `json.marshal(${this.term('any', sc, depth)}) == "{}"`,
            `strings.replace_n({"a": "b"}, ${this.term('str', sc, depth)}) == "b"`,
            `indexof(${this.term('str', sc, depth)}, "a") == 0`,
            `substring(${this.term('str', sc, depth)}, 0, 1) == "a"`,
            `union({${this.ref('coll', sc)}}) == set()`,
            `print(${this.term('any', sc, depth)})`,
            `trace(${this.term('str', sc, depth)})`,
            `glob.match("a*", [], ${this.term('str', sc, depth)})`,
            `time.now_ns() > 0`,
          ]),
        ];
      default:
        return [`${this.operand('any', sc)} = ${this.lit('any')}`];
    }
  }

  body(sc: Scope = new Scope(), max = 3): string[] {
    const out: string[] = [];
    const n = this.r.range(1, max);
    for (let i = 0; i < n; i++) out.push(...this.cond(sc));
    return out;
  }

  /* ------------------------------------------------------------ rules */

  private push(...clauses: Clause[]): void {
    this.rules.push({ clauses });
  }

  /** Complete helper rules: constant or input-derived values, one or several definitions, default, else. */
  helperRule(): void {
    const r = this.r;
    const name = this.fresh('h');
    const form = r.weighted<string>([
      [4, 'multi'],
      [1.5, 'iter'],
      [0.8, 'else'],
      [1.5, 'refhead'],
      [1.5, 'set'],
      [1.5, 'object'],
      [1, 'input'],
      [1, 'cfg'],
    ]);
    switch (form) {
      case 'multi': {
        const defs = r.range(1, 3);
        const vals = [r.pick(['1', '2', 'true', '"x"']), r.pick(['1', '2', 'true', '"y"']), r.pick(['1', '3'])].slice(0, defs);
        if (r.chance(0.4)) {
          const d = r.pick(['0', 'false', '"none"']);
          this.push({ head: `default ${name} := ${d}`, body: [] });
          vals.push(d);
        }
        for (let i = 0; i < defs; i++) this.push({ head: `${name} := ${vals[i]}`, body: this.body(new Scope(), 2) });
        this.helpers.push({ ref: name, kind: 'value', values: vals });
        return;
      }
      case 'iter': {
        // One definition, several outputs for one input: an eval_conflict_error in OPA when the names differ.
        const c = this.fresh('c');
        const head = r.pick([`${name} := ${c}.name`, `${name} := ${c}`]);
        const coll = head.endsWith('.name') ? 'input.items' : r.pick(['input.xs', 'input.ns']);
        this.push({ head, body: [`some ${c} in ${coll}`, ...(r.chance(0.5) ? [this.using([c], new Scope([{ name: c, kind: 'any' }]), 0)] : [])] });
        this.helpers.push({ ref: name, kind: 'value', values: [] });
        return;
      }
      case 'else': {
        const clauses: Clause[] = [{ head: `${name} := 1`, body: this.body(new Scope(), 2) }, { head: 'else := 2', body: this.body(new Scope(), 1) }];
        if (r.chance(0.6)) clauses.push({ head: 'else := 3', body: [] });
        this.push(...clauses);
        this.helpers.push({ ref: name, kind: 'value', values: ['1', '2', '3'] });
        return;
      }
      case 'refhead': {
        const ref = `${this.fresh('lim')}.max`;
        const defs = r.range(1, 2);
        for (let i = 0; i < defs; i++) this.push({ head: `${ref} := ${r.pick(['1', '5', '1'])}`, body: this.body(new Scope(), 2) });
        this.helpers.push({ ref, kind: 'value', values: ['1', '5'] });
        return;
      }
      case 'set': {
        const x = this.fresh('x');
        this.push({
          head: `${name} contains ${x}`,
          body: [`some ${x} in ${this.ref('coll', new Scope())}`, this.using([x], new Scope([{ name: x, kind: 'any' }]), 0)],
        });
        if (r.chance(0.4)) this.push({ head: `${name} contains ${this.strLit()}`, body: this.body(new Scope(), 2) });
        this.helpers.push({ ref: name, kind: 'set', values: [] });
        return;
      }
      case 'cfg': {
        // A constant object with keys JavaScript objects inherit (issue 7, class 6), looked up by input.
        this.push({ head: `${name} := ${r.pick(['{"__proto__": 1, "a": 2}', '{"constructor": 1, "a": 2, "toString": 2}', '{"a": 1, "hasOwnProperty": 2}', '{"a": 2, "valueOf": null}'])}`, body: [] });
        this.helpers.push({ ref: name, kind: 'object', values: ['1', '2', 'null'] });
        return;
      }
      case 'object': {
        const dynamic = r.chance(0.5);
        if (dynamic) {
          const k = this.fresh('k');
          const v = this.fresh('v');
          this.push({ head: `${name}[${k}] := ${v}`, body: [`some ${k}, ${v} in ${r.pick(['input.o', 'input.user', 'input.xs'])}`] });
        }
        // Two values for one key: eval_conflict_error in OPA when both bodies hold.
        const defs = r.range(1, 2);
        for (let i = 0; i < defs; i++) {
          this.push({ head: `${name}[${r.chance(0.8) ? '"a"' : this.ref('str', new Scope())}] := ${r.pick(['1', '2'])}`, body: this.body(new Scope(), 2) });
        }
        this.helpers.push({ ref: name, kind: 'object', values: dynamic ? [] : ['1', '2'] });
        return;
      }
      default:
        this.push({ head: `${name} := ${this.term(r.pick(['str', 'num', 'any', 'bool'] as const), new Scope())}`, body: r.chance(0.5) ? this.body(new Scope(), 1) : [] });
        this.helpers.push({ ref: name, kind: 'value', values: [] });
    }
  }

  /** Functions: boolean or valued, one or several definitions, some reading input (called with constants). */
  functionRule(): void {
    const r = this.r;
    const name = this.fresh('f');
    const x = { name: 'x', kind: 'str' as const };
    const form = r.weighted<string>([
      [3, 'bool'],
      [1, 'multi'],
      [1.5, 'const'],
      [1, 'value'],
      [0.7, 'two'],
      [0.5, 'default'],
      [0.5, 'else'],
    ]);
    switch (form) {
      case 'bool': {
        const defs = r.range(1, 2);
        for (let i = 0; i < defs; i++) this.push({ head: `${name}(x)`, body: this.body(new Scope([x]), 2) });
        this.fns.push({ name, arity: 1, returns: 'bool', values: ['true'] });
        return;
      }
      case 'multi': {
        const defs = r.range(2, 3);
        for (let i = 0; i < defs; i++) this.push({ head: `${name}(x) := ${i + 1}`, body: this.body(new Scope([x]), 1) });
        this.fns.push({ name, arity: 1, returns: 'value', values: ['1', '2', '3'] });
        return;
      }
      case 'const': {
        const arg = this.strLit();
        const defs = r.range(1, 2);
        const vals = [r.pick(['1', '2', 'true']), r.pick(['1', '2', 'true'])].slice(0, defs);
        for (const v of vals) this.push({ head: `${name}(${arg}) := ${v}`, body: this.body(new Scope(), 2) });
        this.fns.push({ name, arity: 1, returns: 'value', constArg: arg, values: vals });
        return;
      }
      case 'value': {
        const [value, values] = r.pick<[string, string[]]>([
          ['count(x)', ['0', '1', '2']],
          ['lower(x)', ['"a"', '"é"']],
          ['concat("-", [x, "z"])', ['"a-z"']],
          ['x', []],
          ['object.get(input.o, x, 0)', []],
          ['input.n', []],
        ]);
        this.push({ head: `${name}(x) := ${value}`, body: [] });
        this.fns.push({ name, arity: 1, returns: 'value', values });
        return;
      }
      case 'two':
        this.push({ head: `${name}(x, y)`, body: [r.pick(['startswith(x, y)', 'x == y', 'x != y', 'x < y', 'not contains(x, y)'])] });
        this.fns.push({ name, arity: 2, returns: 'bool', values: ['true'] });
        return;
      case 'else':
        this.push({ head: `${name}(x) := 1`, body: this.body(new Scope([x]), 1) }, { head: 'else := 2', body: r.chance(0.5) ? this.body(new Scope([x]), 1) : [] });
        this.fns.push({ name, arity: 1, returns: 'value', values: ['1', '2'] });
        return;
      default:
        this.push({ head: `default ${name}(_) := false`, body: [] });
        this.push({ head: `${name}(x) := true`, body: this.body(new Scope([x]), 1) });
        this.fns.push({ name, arity: 1, returns: 'value', values: ['true', 'false'] });
    }
  }

  /** `deny`/`warn` partial sets (or, rarely, complete rules of the wrong shape). */
  violationRules(name: 'deny' | 'warn', n: number): boolean {
    const r = this.r;
    if (n > 0 && r.chance(0.06)) {
      this.push({ head: `${name} := ${r.pick(['[]', 'set()', '{}', '""', '"nope"', '[input.s]'])}`, body: [] });
      return true;
    }
    for (let i = 0; i < n; i++) {
      const form = r.weighted<string>([
        [3, 'msg'],
        [2, 'const'],
        [1, 'obj'],
        [1, 'iter'],
        [i === 0 ? 0.3 : 0, 'pobj'],
      ]);
      if (form === 'pobj') {
        // A partial object, not a set: even empty it is an object, which the gateway reads as one violation.
        const x = this.fresh('x');
        this.push({ head: `${name}[${x}] := "m"`, body: [`some ${x} in ${this.ref('coll', new Scope())}`, this.using([x], new Scope([{ name: x, kind: 'any' }]), 0)] });
        return true;
      }
      switch (form) {
        case 'msg': {
          const body = this.body(new Scope(), 2);
          const verbs = r.pick(['%s', '%v', '%d', '%s: %v', '%q', '%t']);
          const argc = verbs.split('%').length - 1;
          const args = Array.from({ length: argc }, () => this.term('any', new Scope())).join(', ');
          this.push({ head: `${name} contains msg`, body: [...body, `msg := sprintf(${q(verbs)}, [${args}])`] });
          break;
        }
        case 'const':
          this.push({ head: `${name} contains ${q(r.pick(['no', 'bad', 'x']))}`, body: this.body(new Scope(), 3) });
          break;
        case 'obj':
          this.push({ head: `${name} contains {"msg": "m", "v": ${this.ref('any', new Scope())}}`, body: this.body(new Scope(), 2) });
          break;
        default: {
          const x = this.fresh('x');
          this.push({
            head: `${name} contains ${x}`,
            body: [`some ${x} in ${this.ref('coll', new Scope())}`, this.using([x], new Scope([{ name: x, kind: 'any' }]), 0)],
          });
        }
      }
    }
    return n > 0;
  }

  allowRules(n: number): boolean {
    const r = this.r;
    if (n === 0) return false;
    if (r.chance(0.4)) this.push({ head: `default allow := ${r.chance(0.9) ? 'false' : 'true'}`, body: [] });
    for (let i = 0; i < n; i++) {
      const form = r.weighted<string>([
        [10, 'if'],
        [1, 'countdeny'],
        [0.6, 'value'],
        [0.6, 'else'],
      ]);
      if (form === 'else') {
        this.push({ head: 'allow := true', body: this.body(new Scope(), 2) }, { head: `else := ${r.pick(['false', 'true', '"no"'])}`, body: r.chance(0.5) ? this.body(new Scope(), 1) : [] });
      } else if (form === 'countdeny' && this.hasDeny) this.push({ head: 'allow', body: ['count(deny) == 0', ...(r.chance(0.5) ? this.body(new Scope(), 1) : [])] });
      else if (form === 'value') this.push({ head: `allow := ${r.pick(['input.b', 'input.s', 'input.o.flag'])}`, body: r.chance(0.5) ? this.body(new Scope(), 1) : [] });
      else this.push({ head: 'allow', body: this.body(new Scope(), 3) });
    }
    return true;
  }

  hasDeny = false;
}

/** The policy for `(seed, index)`: package `fuzz.p<index>`, deterministic. */
export function generatePolicy(seed: number, index: number): PolicySrc {
  const r = new Rng(seed, index);
  const g = new Gen(r);
  const pkg = `fuzz.p${index}`;
  const shape = r.weighted<Shape>([
    [4, 'boolean'],
    [4, 'object'],
    [2, 'package'],
  ]);
  const helpers = r.range(0, 3);
  for (let i = 0; i < helpers; i++) g.helperRule();
  const fns = r.weighted([
    [3, 0],
    [3, 1],
    [1, 2],
  ] as const);
  for (let i = 0; i < fns; i++) g.functionRule();
  const denyN = shape === 'boolean' ? r.weighted([[3, 0], [2, 1], [1, 2]] as const) : r.weighted([[1, 0], [3, 1], [2, 2], [1, 3]] as const);
  g.hasDeny = g.violationRules('deny', denyN);
  const hasWarn = shape === 'boolean' ? false : g.violationRules('warn', r.weighted([[3, 0], [2, 1], [1, 2]] as const));
  const allowN = shape === 'package' ? r.weighted([[1, 0], [3, 1], [2, 2]] as const) : shape === 'boolean' ? r.range(1, 3) : r.weighted([[1, 0], [3, 1], [2, 2], [1, 3]] as const);
  const hasAllow = g.allowRules(allowN);
  let path = `fuzz/p${index}`;
  if (shape === 'boolean') path += '/allow';
  if (shape === 'object') {
    path += '/decision';
    const fields: string[] = [];
    if (hasAllow) fields.push(r.chance(0.9) || !g.hasDeny ? '"allow": allow' : '"allow": count(deny) == 0');
    else if (g.hasDeny && r.chance(0.5)) fields.push('"allow": count(deny) == 0');
    if (g.hasDeny) fields.push('"deny": deny');
    if (hasWarn) fields.push('"warn": warn');
    if (g.helpers.length > 0 && r.chance(0.1)) fields.push(`"extra": ${r.pick(g.helpers).ref}`);
    if (r.chance(0.15) && fields.length > 0) {
      // Ref-head decision object: `decision.allow := allow`, one rule per field.
      for (const f of fields) {
        const [k, v] = f.split(': ') as [string, string];
        g.rules.push({ clauses: [{ head: `decision[${k}] := ${v}`, body: [] }] });
      }
    } else {
      g.rules.push({ clauses: [{ head: `decision := {${fields.join(', ')}}`, body: [] }] });
    }
  }
  return { pkg, path, shape, rules: g.rules };
}
