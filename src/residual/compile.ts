/**
 * Turns a Compile API response (residual queries + support modules) into a predicate built from closures.
 *
 * Evaluation model (mirrors OPA's topdown evaluator, v1/topdown/eval.go):
 * - `queries` is a disjunction of bodies; a body is a conjunction evaluated left to right with backtracking
 *   over the variables that refs iterate (`input.xs[i]`) and that unification (`eq`) binds.
 * - Before evaluation OPA's compiler reorders each body so every variable is bound before a negation, a
 *   comprehension or a builtin operand needs it (v1/ast/compile.go reorderBodyForSafety); partial
 *   evaluation relies on that and emits e.g. `not x.privileged = true` before `x = input.cs[i]`. The same
 *   reordering is done here once, at compile time.
 * - Support rules are evaluated on demand and memoised per evaluation (complete rules: every definition and
 *   every solution, because two different values are a conflict error in OPA, which we never answer locally;
 *   partial set/object rules: the union; functions: per call). Rules that never read `input` are computed
 *   once and kept.
 * - Closed terms met more than once share a per-evaluation memo slot, and a decision query's `count(deny) == 0`
 *   stops at the first violation (`Compiler.shared`, `Compiler.decisionFolds`, README "Evaluation cost").
 * Every step is a closure created here once per compile; a request allocates only rule values and the memo.
 */
import type { Body, CompileResponseV1, Every, Expr, Module, Rule, Term } from './ast.js';
import { BUILTINS, NONDETERMINISTIC, ResidualUnsupported } from './builtins.js';
import { renderResidual } from './explain.js';
import { hoistNegation } from './negation.js';
import { compareStrings, decidedByIdentity, emptyObject, equal, isObject, lookup, RegoSet, type RegoObject, type Value } from './values.js';

export { ResidualUnsupported };

export interface CompiledResidual {
  /**
   * True iff some residual query succeeds for `input`. Throws {@link ResidualUnsupported} when evaluation meets
   * something the evaluator does not reproduce exactly (a conflict error in OPA, a `sprintf` of a composite…).
   */
  predicate(input: unknown): boolean;
  /** Readable Rego-like rendering of the residual. */
  text: string;
}

export interface NotCompilable {
  reason: string;
}

export interface CompileOptions {
  /**
   * Refuse (at run time) a negation whose whole-ref operand is undefined, because the policy may have lost a
   * binding of it to copy propagation (analysis.ts `guarded`). Off only when the source rules that out.
   */
  guarded: boolean;
}

type Frame = (Value | undefined)[];
interface Ctx {
  input: Value | undefined;
  memo: (Value | typeof NOTHING | undefined)[];
}
/** Continue with the rest of a body; `true` stops the search (a query needs only one solution). */
type Step = (c: Ctx, f: Frame) => boolean;
type VStep = (c: Ctx, f: Frame, v: Value) => boolean;
type Getter = (c: Ctx, f: Frame) => Value | undefined;

/** A compiled term: `build(k)` enumerates its values into `k`; `get` exists when it cannot iterate. */
interface TermB {
  get?: Getter;
  /** Set when the term is a literal without variables or refs: computed once at compile time. */
  constant?: Value;
  build(k: VStep): Step;
}

/** Memo marker for "evaluated to undefined" (distinct from "not evaluated yet"). */
const NOTHING = Symbol('undefined');

class CompileError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

class Scope {
  readonly slots = new Map<string, number>();
  size = 1; // slot 0 holds the rule's accumulator
  usesInput = false;

  slot(name: string): number {
    let s = this.slots.get(name);
    if (s === undefined) {
      s = this.size++;
      this.slots.set(name, s);
    }
    return s;
  }

  temp(): number {
    return this.size++;
  }
}

type GroupKind = 'complete' | 'set' | 'object' | 'function';

interface Group {
  id: number;
  path: string;
  kind: GroupKind;
  defs: Rule[];
  dflt?: Rule;
  state: 'new' | 'compiling' | 'done';
  /** Rule value for this evaluation (non-function groups). */
  value?: (c: Ctx) => Value | undefined;
  call?: (c: Ctx, args: Value[]) => Value | undefined;
  /** Partial set/object groups: whether the value is empty, stopping at the first solution (see `emptiness`). */
  isEmpty?: (c: Ctx) => boolean;
  usesInput: boolean;
}

const ACC = 0;

const refName = (ref: Term[]): string | undefined => {
  const parts: string[] = [];
  for (const [i, t] of ref.entries()) {
    if (i === 0 && t.type === 'var') parts.push(t.value as string);
    else if (i > 0 && t.type === 'string') parts.push(t.value as string);
    else return undefined;
  }
  return parts.join('.');
};

function literal(t: Term): Value {
  switch (t.type) {
    case 'null':
      return null;
    case 'boolean':
      return t.value as boolean;
    case 'string':
      return t.value as string;
    case 'number':
      if (typeof t.value !== 'number') throw new CompileError(`number literal not exactly representable: ${String(t.value)}`);
      return t.value;
    default:
      throw new CompileError(`unknown term type: ${t.type}`);
  }
}

const isScalarType = (type: string): boolean =>
  type === 'null' || type === 'boolean' || type === 'string' || type === 'number';

/* ---------------------------------------------------------------- variable analysis */

function isExprEvery(terms: Expr['terms']): terms is Every {
  return !Array.isArray(terms) && typeof terms === 'object' && terms !== null && 'domain' in terms;
}
function isSomeDecl(terms: Expr['terms']): boolean {
  return !Array.isArray(terms) && typeof terms === 'object' && terms !== null && 'symbols' in terms;
}
function isTerm(terms: Expr['terms']): terms is Term {
  return !Array.isArray(terms) && typeof terms === 'object' && terms !== null && 'type' in terms;
}

/**
 * Every variable in a term. `deep` includes those inside comprehension bodies; without it, only the variables a
 * successful (non-negated) expression leaves bound: all of them outside nested bodies.
 */
function termVars(t: Term, out: Set<string>, deep: boolean): void {
  switch (t.type) {
    case 'var':
      out.add(t.value as string);
      return;
    case 'ref':
      for (const [i, e] of (t.value as Term[]).entries()) {
        if (i === 0 && e.type === 'var' && (e.value === 'input' || e.value === 'data')) continue;
        termVars(e, out, deep);
      }
      return;
    case 'array':
    case 'set':
      for (const e of t.value as Term[]) termVars(e, out, deep);
      return;
    case 'call':
      for (const e of (t.value as Term[]).slice(1)) termVars(e, out, deep);
      return;
    case 'object':
      for (const [k, v] of t.value as [Term, Term][]) {
        termVars(k, out, deep);
        termVars(v, out, deep);
      }
      return;
    case 'arraycomprehension':
    case 'setcomprehension': {
      if (!deep) return;
      const v = t.value as { term: Term; body: Body };
      termVars(v.term, out, deep);
      for (const e of v.body) exprVarsDeep(e, out);
      return;
    }
    case 'objectcomprehension': {
      if (!deep) return;
      const v = t.value as { key: Term; value: Term; body: Body };
      termVars(v.key, out, deep);
      termVars(v.value, out, deep);
      for (const e of v.body) exprVarsDeep(e, out);
      return;
    }
  }
}

const termVarsDeep = (t: Term, out: Set<string>): void => termVars(t, out, true);
const termVarsShallow = (t: Term, out: Set<string>): void => termVars(t, out, false);

function exprVarsDeep(e: Expr, out: Set<string>): void {
  const terms = e.terms;
  if (Array.isArray(terms)) {
    // operator refs are names, not variables
    for (const t of terms.slice(1)) termVarsDeep(t, out);
  } else if (isExprEvery(terms)) {
    if (terms.key) termVarsDeep(terms.key, out);
    termVarsDeep(terms.value, out);
    termVarsDeep(terms.domain, out);
    for (const x of terms.body) exprVarsDeep(x, out);
  } else if (isTerm(terms)) {
    termVarsDeep(terms, out);
  }
}

/**
 * Refs outside nested bodies whose key variables are not bound yet. OPA evaluates such refs first and binds
 * their variables for the whole expression, so `concat("", [k, input.labels[k]])` is safe although `k` stands
 * alone before the ref that binds it.
 */
function iteratingRefs(t: Term, bound: Set<string>, out: Term[][]): void {
  switch (t.type) {
    case 'ref': {
      const ref = t.value as Term[];
      for (const e of ref.slice(1)) if (e.type !== 'var') iteratingRefs(e, bound, out);
      const head = ref[0]!;
      const headOk = head.type === 'var' && (head.value === 'input' || head.value === 'data' || bound.has(head.value as string));
      if (headOk && ref.slice(1).some((e) => e.type === 'var' && !bound.has(e.value as string))) out.push(ref);
      return;
    }
    case 'array':
    case 'set':
      for (const e of t.value as Term[]) iteratingRefs(e, bound, out);
      return;
    case 'call':
      for (const e of (t.value as Term[]).slice(1)) iteratingRefs(e, bound, out);
      return;
    case 'object':
      for (const [k, v] of t.value as [Term, Term][]) {
        iteratingRefs(k, bound, out);
        iteratingRefs(v, bound, out);
      }
      return;
  }
}

function exprOperands(e: Expr): Term[] {
  const t = e.terms;
  if (Array.isArray(t)) return t.slice(1);
  if (isTerm(t)) return [t];
  return [];
}

/** `bound` plus the key variables of the expression's iterating refs. */
function withRefVars(e: Expr, bound: Set<string>): Set<string> {
  const refs: Term[][] = [];
  for (const t of exprOperands(e)) iteratingRefs(t, bound, refs);
  if (refs.length === 0) return bound;
  const out = new Set(bound);
  for (const r of refs) for (const x of r.slice(1)) if (x.type === 'var') out.add(x.value as string);
  return out;
}

function shallowVars(e: Expr): Set<string> {
  const out = new Set<string>();
  if (e.negated || isExprEvery(e.terms)) return out;
  for (const t of exprOperands(e)) termVarsShallow(t, out);
  return out;
}

/**
 * Whether a term can be evaluated now: stand-alone variables must be bound; variables used as ref keys may
 * be unbound (the ref then iterates and binds them); comprehensions need their non-local variables bound.
 */
function termReady(t: Term, bound: Set<string>, nonlocal: Set<string>): boolean {
  switch (t.type) {
    case 'var':
      return bound.has(t.value as string);
    case 'ref': {
      const ref = t.value as Term[];
      const head = ref[0]!;
      if (head.type === 'var' && head.value !== 'input' && head.value !== 'data' && !bound.has(head.value as string)) {
        return false;
      }
      if (head.type !== 'var' && !termReady(head, bound, nonlocal)) return false;
      return ref.slice(1).every((e) => e.type === 'var' || termReady(e, bound, nonlocal));
    }
    case 'array':
    case 'set':
      return (t.value as Term[]).every((e) => termReady(e, bound, nonlocal));
    case 'call':
      return (t.value as Term[]).slice(1).every((e) => termReady(e, bound, nonlocal));
    case 'object':
      return (t.value as [Term, Term][]).every(([k, v]) => termReady(k, bound, nonlocal) && termReady(v, bound, nonlocal));
    case 'arraycomprehension':
    case 'setcomprehension':
    case 'objectcomprehension': {
      const vs = new Set<string>();
      termVarsDeep(t, vs);
      for (const v of vs) if (nonlocal.has(v) && !bound.has(v)) return false;
      return true;
    }
    default:
      return true;
  }
}

function patternReady(t: Term, bound: Set<string>, nonlocal: Set<string>): boolean {
  if (t.type === 'var') return true;
  if (t.type === 'array') return (t.value as Term[]).every((e) => patternReady(e, bound, nonlocal));
  if (t.type === 'object') {
    return (t.value as [Term, Term][]).every(([k, v]) => isScalarType(k.type) && patternReady(v, bound, nonlocal));
  }
  return termReady(t, bound, nonlocal);
}

type Arity = (name: string) => number | undefined;

function exprReady(e: Expr, bound: Set<string>, nonlocal: Set<string>, arityOf: Arity): boolean {
  const terms = e.terms;
  if (e.negated) {
    const vs = new Set<string>();
    exprVarsDeep({ ...e, negated: false }, vs);
    for (const v of vs) if (nonlocal.has(v) && !bound.has(v)) return false;
    return true;
  }
  if (isExprEvery(terms)) {
    if (!termReady(terms.domain, bound, nonlocal)) return false;
    const vs = new Set<string>();
    for (const x of terms.body) exprVarsDeep(x, vs);
    for (const v of vs) if (nonlocal.has(v) && !bound.has(v)) return false;
    return true;
  }
  bound = withRefVars(e, bound);
  if (isTerm(terms)) return termReady(terms, bound, nonlocal);
  if (!Array.isArray(terms)) return true;
  const op = refName((terms[0]?.value as Term[]) ?? []);
  const args = terms.slice(1);
  if (op === 'eq' && args.length === 2) {
    const [a, b] = args as [Term, Term];
    if (termReady(b, bound, nonlocal) && patternReady(a, bound, nonlocal)) return true;
    if (termReady(a, bound, nonlocal)) {
      const after = new Set(bound);
      termVarsShallow(a, after);
      return patternReady(b, after, nonlocal);
    }
    return false;
  }
  const arity = op === undefined ? undefined : arityOf(op);
  // An unknown operator is reported precisely when the expression is compiled.
  if (arity === undefined) return true;
  return args.slice(0, arity).every((t) => termReady(t, bound, nonlocal));
}


/* ---------------------------------------------------------------- shared closed terms */

/** True when a term has no variables and no comprehensions: its value depends on `input` (and data) only. */
function isClosed(t: Term): boolean {
  switch (t.type) {
    case 'null':
    case 'boolean':
    case 'string':
    case 'number':
      return true;
    case 'ref': {
      const ref = t.value as Term[];
      const head = ref[0];
      if (!head || head.type !== 'var' || (head.value !== 'input' && head.value !== 'data')) return false;
      return ref.slice(1).every(isClosed);
    }
    case 'call':
      // Element 0 is the operator's name, not a variable.
      return (t.value as Term[]).slice(1).every(isClosed);
    case 'array':
    case 'set':
      return (t.value as Term[]).every(isClosed);
    case 'object':
      return (t.value as [Term, Term][]).every(([k, v]) => isClosed(k) && isClosed(v));
    default:
      return false;
  }
}

/** Identity of a closed composite, ref or call (the key of its shared memo slot); undefined for other terms. */
function closedKey(t: Term): string | undefined {
  if (t.type !== 'ref' && t.type !== 'call' && t.type !== 'array' && t.type !== 'set' && t.type !== 'object') {
    return undefined;
  }
  // Closed terms hold only `type` and `value` fields all the way down (no comprehension bodies).
  return isClosed(t) ? JSON.stringify(t, ['type', 'value']) : undefined;
}

/**
 * Counts the occurrences of each closed term in the residual, and of the proper prefixes of refs into `input`
 * (`input.request` for `input.request.name`), so that only terms met more than once get a shared memo slot.
 */
function countClosedTerms(modules: Module[], queries: Body[], uses: Map<string, number>): void {
  const bump = (key: string | undefined): void => {
    if (key !== undefined) uses.set(key, (uses.get(key) ?? 0) + 1);
  };
  const term = (t: Term | null | undefined): void => {
    if (!t) return;
    bump(closedKey(t));
    switch (t.type) {
      case 'ref': {
        const ref = t.value as Term[];
        if (ref[0]?.type === 'var' && ref[0].value === 'input') {
          for (let j = 2; j < ref.length; j++) bump(closedKey({ type: 'ref', value: ref.slice(0, j) }));
        }
        ref.slice(1).forEach(term);
        return;
      }
      case 'call':
        (t.value as Term[]).slice(1).forEach(term);
        return;
      case 'array':
      case 'set':
        (t.value as Term[]).forEach(term);
        return;
      case 'object':
        for (const [k, v] of t.value as [Term, Term][]) {
          term(k);
          term(v);
        }
        return;
      case 'arraycomprehension':
      case 'setcomprehension':
      case 'objectcomprehension': {
        const v = t.value as { term?: Term; key?: Term; value?: Term; body: Body };
        term(v.term);
        term(v.key);
        term(v.value);
        body(v.body);
        return;
      }
    }
  };
  const body = (b: Body): void => {
    for (const e of b) {
      const terms = e.terms;
      if (Array.isArray(terms)) terms.slice(1).forEach(term);
      else if (isExprEvery(terms)) {
        term(terms.key);
        term(terms.value);
        term(terms.domain);
        body(terms.body);
      } else if (isTerm(terms)) term(terms);
    }
  };
  for (const m of modules) {
    for (const rule of m.rules ?? []) {
      term(rule.head.key);
      term(rule.head.value);
      body(rule.body);
    }
  }
  queries.forEach(body);
}

/* ---------------------------------------------------------------- the compiler */

class Compiler {
  readonly groups = new Map<string, Group>();
  /** Memo slots: one per rule group, then one per shared closed term (see {@link Compiler.shared}). */
  private nextId = 0;
  /** How often each closed term occurs in the residual (see {@link countClosedTerms}). */
  private readonly uses = new Map<string, number>();
  private readonly sharedSlots = new Map<string, number>();
  /** Query expressions that are `count(S) == 0` tests, with the emptiness check of `S` (see `decisionFolds`). */
  private readonly emptinessExprs = new Map<Expr, (c: Ctx) => boolean>();
  /** Counter for the variables that negations' moved terms are bound to. */
  private nextHoist = 0;

  constructor(
    modules: Module[],
    queries: Body[],
    private readonly guarded: boolean,
  ) {
    for (const m of modules) {
      const pkg = refName(m.package.path);
      if (pkg === undefined) throw new CompileError('unknown package path');
      for (const rule of m.rules ?? []) this.addRule(pkg, rule);
    }
    countClosedTerms(modules, queries, this.uses);
  }

  private addRule(pkg: string, rule: Rule): void {
    if (rule.else) throw new CompileError('else rule');
    const head = rule.head;
    const ref = head.ref ?? (head.name ? [{ type: 'var', value: head.name } as Term] : []);
    const name = ref[0]?.type === 'var' ? (ref[0].value as string) : undefined;
    if (name === undefined) throw new CompileError('rule head ref');
    let kind: GroupKind;
    if (head.args && head.args.length > 0) kind = 'function';
    else if (ref.length === 1 && head.key && !head.value) kind = 'set';
    else if (ref.length === 1) kind = 'complete';
    else if (ref.length === 2 && head.value) kind = 'object';
    else throw new CompileError('rule head ref');
    if (kind === 'function' && rule.default) throw new CompileError('default function');
    const path = `${pkg}.${name}`;
    let g = this.groups.get(path);
    if (!g) {
      g = { id: this.nextId++, path, kind, defs: [], state: 'new', usesInput: false };
      this.groups.set(path, g);
    } else if (g.kind !== kind) {
      throw new CompileError(`mixed rule kinds: ${path}`);
    }
    if (rule.default) g.dflt = rule;
    else g.defs.push(rule);
  }

  private readonly arityFn: Arity = (name) => this.arity(name);

  /** Size of the per-evaluation memo: read after every query is compiled. */
  get memoSize(): number {
    return this.nextId;
  }

  arity(name: string): number | undefined {
    const g = this.groups.get(name);
    if (g) return g.kind === 'function' ? g.defs[0]!.head.args!.length : undefined;
    return BUILTINS[name]?.arity;
  }

  /* ---- rules */

  private ensure(g: Group): void {
    if (g.state === 'done') return;
    if (g.state === 'compiling') throw new CompileError(`recursive rule: ${g.path}`);
    g.state = 'compiling';
    if (g.kind === 'function') this.compileFunction(g);
    else this.compileValueRule(g);
    g.state = 'done';
  }

  private compileValueRule(g: Group): void {
    const defs = g.defs.map((rule) => this.compileRuleBody(g, rule));
    const dflt = g.dflt?.head.value ? this.constant(g.dflt.head.value) : undefined;
    const usesInput = defs.some((d) => d.scope.usesInput);
    g.usesInput = usesInput;
    const kind = g.kind;
    const path = g.path;
    const evaluate = (c: Ctx): Value | undefined => {
      let acc: Value | undefined = kind === 'set' ? new RegoSet() : kind === 'object' ? emptyObject() : undefined;
      for (const d of defs) {
        const f = frameOf(d);
        f[ACC] = kind === 'complete' ? undefined : acc;
        d.run(c, f);
        if (kind === 'complete' && f[ACC] !== undefined) {
          // v1/topdown/eval.go: complete rules must not produce multiple outputs (eval_conflict_error).
          if (acc !== undefined && !equal(acc, f[ACC]!)) throw new ResidualUnsupported(`conflict: ${path}`);
          acc = f[ACC];
        }
      }
      return acc === undefined ? dflt : acc;
    };
    const id = g.id;
    if (!usesInput) {
      let cached: Value | typeof NOTHING | undefined;
      g.value = (c) => {
        if (cached === undefined) cached = evaluate(c) ?? NOTHING;
        return cached === NOTHING ? undefined : cached;
      };
    } else {
      g.value = (c) => {
        const m = c.memo[id];
        if (m !== undefined) return m === NOTHING ? undefined : m;
        const v = evaluate(c);
        c.memo[id] = v === undefined ? NOTHING : v;
        return v;
      };
    }
  }

  /**
   * `count(S) == 0` for a partial set or object rule `S`, without computing `S`: the definitions run until the
   * first solution whose key (and value) is defined. The answer is exact: no solution means the empty value,
   * and any solution makes the value non-empty (in OPA it may instead raise an error, e.g. a conflict further
   * on; either way the result is not "allowed cleanly", and `decisionFolds` only uses this test where "not
   * empty" fails the query body). The rule head's value (the violation and its `sprintf` message) is never
   * built: only its definedness matters. An empty result is stored as the rule's value for this evaluation,
   * so a later use of the whole value costs nothing.
   */
  private emptiness(g: Group): (c: Ctx) => boolean {
    if (g.isEmpty) return g.isEmpty;
    this.ensure(g);
    const value = g.value!;
    if (!g.usesInput) {
      g.isEmpty = (c) => isEmptyCollection(value(c)!);
      return g.isEmpty;
    }
    const defs = g.defs.map((rule) => this.compileRuleBody(g, rule, true));
    const id = g.id;
    const kind = g.kind;
    g.isEmpty = (c) => {
      const m = c.memo[id];
      if (m !== undefined) return isEmptyCollection(m as Value);
      for (const d of defs) {
        if (d.run(c, frameOf(d))) return false;
      }
      c.memo[id] = kind === 'set' ? new RegoSet() : emptyObject();
      return true;
    };
    return g.isEmpty;
  }

  /**
   * Compiles one definition. With `exists`, the body stops at its first solution whose head is defined (for
   * `emptiness`) instead of adding every solution to the rule's value.
   */
  private compileRuleBody(g: Group, rule: Rule, exists = false): { scope: Scope; run: Step } {
    const scope = new Scope();
    const outside = new Set<string>();
    const head = rule.head;
    const keyTerm = g.kind === 'object' ? head.ref![1]! : head.key;
    for (const t of [keyTerm, head.value]) if (t) termVarsDeep(t, outside);
    const path = g.path;
    const kind = g.kind;
    const run = this.body(rule.body, scope, new Set(), outside, (bound) => {
      const key = keyTerm ? this.getter(keyTerm, scope, bound) : undefined;
      const val = head.value ? this.getter(head.value, scope, bound) : undefined;
      if (exists && kind === 'set') return (c, f) => key!(c, f) !== undefined;
      if (exists && kind === 'object') {
        return (c, f) => {
          const k = key!(c, f);
          if (k === undefined || val!(c, f) === undefined) return false;
          if (typeof k !== 'string') throw new ResidualUnsupported('object with non-string key');
          return true;
        };
      }
      if (kind === 'set') {
        return (c, f) => {
          const k = key!(c, f);
          if (k !== undefined) (f[ACC] as RegoSet).add(k);
          return false;
        };
      }
      if (kind === 'object') {
        return (c, f) => {
          const k = key!(c, f);
          const v = val!(c, f);
          if (k === undefined || v === undefined) return false;
          if (typeof k !== 'string') throw new ResidualUnsupported('object with non-string key');
          const o = f[ACC] as RegoObject;
          if (Object.hasOwn(o, k) && !equal(o[k]!, v)) throw new ResidualUnsupported(`conflict: ${path}`);
          o[k] = v;
          return false;
        };
      }
      const value = val ?? (() => true);
      return (c, f) => {
        const v = value(c, f);
        if (v === undefined) return false;
        if (f[ACC] !== undefined && !equal(f[ACC]!, v)) throw new ResidualUnsupported(`conflict: ${path}`);
        f[ACC] = v;
        return false;
      };
    });
    return { scope, run };
  }

  private compileFunction(g: Group): void {
    const defs = g.defs.map((rule) => {
      const scope = new Scope();
      const bound = new Set<string>();
      const outside = new Set<string>();
      if (rule.head.value) termVarsDeep(rule.head.value, outside);
      const argSlots = (rule.head.args ?? []).map(() => scope.temp());
      const params = (rule.head.args ?? []).map((p) => this.pattern(p, scope, bound, outside));
      const path = g.path;
      const run = this.body(rule.body, scope, bound, outside, (b) => {
        const val = rule.head.value ? this.getter(rule.head.value, scope, b) : () => true;
        return (c, f) => {
          const v = val(c, f);
          if (v === undefined) return false;
          // v1/topdown/eval.go: functions must not produce multiple outputs for same inputs.
          if (f[ACC] !== undefined && !equal(f[ACC]!, v)) throw new ResidualUnsupported(`conflict: ${path}`);
          f[ACC] = v;
          return false;
        };
      });
      // Bind the parameters (patterns) to the argument values, then run the body.
      let entry: Step = run;
      for (let i = params.length - 1; i >= 0; i--) {
        const vstep = params[i]!(entry);
        const slot = argSlots[i]!;
        entry = (c, f) => vstep(c, f, f[slot]!);
      }
      return { scope, entry, argSlots };
    });
    const path = g.path;
    g.usesInput = defs.some((d) => d.scope.usesInput);
    g.call = (c, args) => {
      let out: Value | undefined;
      for (const d of defs) {
        const f = frameOf(d);
        f[ACC] = undefined;
        for (let i = 0; i < args.length; i++) f[d.argSlots[i]!] = args[i];
        d.entry(c, f);
        if (f[ACC] !== undefined) {
          if (out !== undefined && !equal(out, f[ACC]!)) throw new ResidualUnsupported(`conflict: ${path}`);
          out = f[ACC];
        }
      }
      return out;
    };
  }

  private constant(t: Term): Value {
    const g = this.getter(t, new Scope(), new Set());
    const v = g({ input: undefined, memo: [] }, []);
    if (v === undefined) throw new CompileError('default value not constant');
    return v;
  }

  /* ---- bodies */

  /**
   * Compiles a body after reordering it for safety. `final` receives the variables bound at the end and
   * returns the step run for each solution.
   */
  body(
    exprs: Body,
    scope: Scope,
    bound: Set<string>,
    outside: Set<string>,
    final: (bound: Set<string>) => Step,
  ): Step {
    const work: Expr[] = [];
    for (const e of exprs) {
      if (e.with && e.with.length > 0) throw new CompileError('with modifier');
      if (isSomeDecl(e.terms)) continue;
      if (!Array.isArray(e.terms) && !isTerm(e.terms) && !isExprEvery(e.terms)) {
        throw new CompileError('unknown expression type');
      }
      work.push(e);
    }
    const varsOf = work.map((e) => {
      const s = new Set<string>();
      exprVarsDeep(e, s);
      return s;
    });
    const nonlocalOf = work.map((_, i) => {
      const s = new Set(outside);
      for (const v of bound) s.add(v);
      varsOf.forEach((vs, j) => {
        if (j !== i) for (const v of vs) s.add(v);
      });
      return s;
    });
    const ordered: { e: Expr; nonlocal: Set<string>; before: Set<string> }[] = [];
    const remaining = work.map((e, i) => ({ e, nonlocal: nonlocalOf[i]!, vars: varsOf[i]!, binds: shallowVars(e) }));
    const cur = new Set(bound);
    const ready = (r: (typeof remaining)[number]): boolean => exprReady(r.e, cur, r.nonlocal, this.arityFn);
    // OPA's order (first ready expression, v1/ast/compile.go reorderBodyForSafety) with one refinement: when an
    // earlier expression waits for a variable, the expression that binds it goes first. Results are the same
    // (a conjunction); it only keeps filters such as `not contains(img, "@")` ahead of costly `sprintf` calls.
    const pick = (): number => {
      for (const r of remaining) {
        if (ready(r)) return remaining.indexOf(r);
        const binder = remaining.findIndex(
          (x) => x !== r && !x.e.negated && [...r.vars].some((v) => !cur.has(v) && x.binds.has(v)) && ready(x),
        );
        if (binder >= 0) return binder;
      }
      return -1;
    };
    while (remaining.length > 0) {
      const idx = pick();
      if (idx < 0) throw new CompileError('unsafe body');
      const [r] = remaining.splice(idx, 1);
      ordered.push({ e: r!.e, nonlocal: r!.nonlocal, before: new Set(cur) });
      if (!r!.e.negated && !isExprEvery(r!.e.terms)) {
        const t = r!.e.terms;
        if (Array.isArray(t)) for (const x of t.slice(1)) termVarsShallow(x, cur);
        else if (isTerm(t)) termVarsShallow(t, cur);
      }
    }
    // Compile forward (each expression sees what its predecessors bound), link backward.
    const builders = ordered.map((o) => this.expr(o.e, scope, new Set(o.before), o.nonlocal));
    let step = final(cur);
    for (let i = builders.length - 1; i >= 0; i--) step = builders[i]!(step);
    return step;
  }

  private expr(e: Expr, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
    if (e.negated) return this.negation(e, scope, bound, nonlocal);
    const isEmpty = this.emptinessExprs.get(e);
    if (isEmpty) return (next) => (c, f) => (isEmpty(c) ? next(c, f) : false);
    const terms = e.terms;
    if (isExprEvery(terms)) return this.every(terms, scope, bound, nonlocal);
    const refs: Term[][] = [];
    for (const t of exprOperands(e)) iteratingRefs(t, bound, refs);
    if (refs.length > 0) {
      // Bind the refs' key variables first (see iteratingRefs), then evaluate the expression with them bound.
      const binders = refs.map((r) => this.ref(r, scope, bound, nonlocal));
      const rest = this.expr(e, scope, bound, nonlocal);
      return (next) => {
        let step = rest(next);
        for (let i = binders.length - 1; i >= 0; i--) {
          const after = step;
          step = binders[i]!.build((c, f) => after(c, f));
        }
        return step;
      };
    }
    if (isTerm(terms)) {
      const t = this.term(terms, scope, bound, nonlocal);
      // A term expression holds when it is defined and not `false` (topdown eval.go evalTerm / isFalse).
      return (next) => t.build((c, f, v) => (v !== false ? next(c, f) : false));
    }
    const call = terms as Term[];
    const opRef = call[0];
    if (!opRef || opRef.type !== 'ref') throw new CompileError('unknown expression type');
    const op = refName(opRef.value as Term[]);
    if (op === undefined) throw new CompileError('dynamic operator');
    const args = call.slice(1);
    if (op === 'eq' && args.length === 2) return this.unify(args[0]!, args[1]!, scope, bound, nonlocal);
    const arity = this.arity(op);
    if (arity === undefined) this.callTarget(op, args.length); // throws the precise reason
    if (args.length === arity! + 1) {
      const value = this.callTerm(op, args.slice(0, arity), scope, bound, nonlocal);
      const out = this.pattern(args[arity!]!, scope, bound, nonlocal);
      return (next) => value.build(out(next));
    }
    if (op === 'internal.member_2' && args.length === 2 && args[1]!.type === 'set') {
      // `x in {"CREATE", "UPDATE"}` against a literal set: RegoSet.has is what `member` does for sets.
      const x = this.term(args[0]!, scope, bound, nonlocal);
      const coll = this.term(args[1]!, scope, bound, nonlocal);
      if (x.get && coll.constant instanceof RegoSet) {
        const get = x.get;
        const set = coll.constant;
        return (next) => (c, f) => {
          const v = get(c, f);
          return v !== undefined && set.has(v) ? next(c, f) : false;
        };
      }
    }
    const value = this.callTerm(op, args, scope, bound, nonlocal);
    return (next) => value.build((c, f, v) => (v !== false ? next(c, f) : false));
  }

  /**
   * `not E`, after moving out of `E` what OPA's compiler moves out (negation.ts): the moved expressions run
   * first, as part of the enclosing body, so an undefined moved term fails the body. Then `not` succeeds iff
   * the rest of `E` has no solution. In guarded mode (analysis.ts: the source may have lost a binding into a
   * whole-ref operand), an undefined whole-ref operand is refused instead of making the negation succeed.
   */
  private negation(e: Expr, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
    const { hoisted, rest, inPlace } = hoistNegation(e, () => `__wg_h${this.nextHoist++}__`);
    const b = new Set(bound);
    const steps: ((next: Step) => Step)[] = [];
    for (const h of hoisted) {
      for (const t of exprOperands(h)) {
        const vs = new Set<string>();
        termVarsDeep(t, vs);
        for (const v of vs) if (!b.has(v) && !v.startsWith('__wg_h')) throw new CompileError('negation with local variables');
      }
      steps.push(this.expr(h, scope, b, nonlocal));
      for (const t of exprOperands(h)) termVarsShallow(t, b);
    }
    if (this.guarded) {
      // PE's own negation rules (`data.partial.__notN__`) hold a negated body's complement: no author's
      // binding can have been put there, and undefined is their usual value.
      for (const t of inPlace.filter((x) => !isNegationRule(x))) {
        const g = this.term(t, scope, b, nonlocal).get;
        if (!g) throw new CompileError('negation with local variables');
        steps.push((next) => (c, f) => {
          if (g(c, f) === undefined) throw new ResidualUnsupported('undefined operand under not');
          return next(c, f);
        });
      }
    }
    const inner = this.body([{ ...rest, negated: false }], scope, b, nonlocal, () => () => true);
    // `not` succeeds iff the expression has no solution (undefined counts as failure).
    steps.push((next) => (c, f) => (inner(c, f) ? false : next(c, f)));
    return (next) => {
      let step = next;
      for (let i = steps.length - 1; i >= 0; i--) step = steps[i]!(step);
      return step;
    };
  }

  private unify(a: Term, b: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
    // `=` unifies (v1/topdown/eval.go biunify): evaluate the side that is ready and match the other as a
    // pattern, binding its variables.
    if (termReady(b, bound, nonlocal) && patternReady(a, bound, nonlocal) && !termReady(a, bound, nonlocal)) {
      const tb = this.term(b, scope, bound, nonlocal);
      const pa = this.pattern(a, scope, bound, nonlocal);
      return (next) => tb.build(pa(next));
    }
    const ta = this.term(a, scope, bound, nonlocal);
    if (isScalarType(b.type) && ta.get && decidedByIdentity(literal(b))) {
      // `input.request.operation = "DELETE"`: for a scalar `K`, structural equality with `K` is `===` (one JS
      // number per Rego number; `equal` compares composites only with composites), and undefined never equals.
      const get = ta.get;
      const k = literal(b);
      return (next) => (c, f) => (get(c, f) === k ? next(c, f) : false);
    }
    const pb = this.pattern(b, scope, bound, nonlocal);
    return (next) => ta.build(pb(next));
  }

  private every(ev: Every, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
    const domain = this.term(ev.domain, scope, bound, nonlocal);
    const inner = new Set(bound);
    const keyPat = ev.key ? this.pattern(ev.key, scope, inner, nonlocal) : undefined;
    const valPat = this.pattern(ev.value, scope, inner, nonlocal);
    const body = this.body(ev.body, scope, inner, nonlocal, () => () => true);
    // Each element must satisfy the body (v1/topdown/eval.go evalEvery); a domain that is not a collection, or
    // is undefined, makes `every` fail — checked against OPA 1.22.3 (`every x in input.missing` is undefined).
    const keyThen: VStep | undefined = keyPat?.(body);
    const slotK = scope.temp();
    const slotV = scope.temp();
    const valThen = valPat(keyThen ? (c, f) => keyThen(c, f, f[slotK]!) : body);
    const holds = (c: Ctx, f: Frame, k: Value, v: Value): boolean => {
      f[slotK] = k;
      f[slotV] = v;
      return valThen(c, f, v);
    };
    return (next) =>
      domain.build((c, f, coll) => {
        if (Array.isArray(coll)) {
          for (let i = 0; i < coll.length; i++) if (!holds(c, f, i, coll[i]!)) return false;
        } else if (coll instanceof RegoSet) {
          for (const m of coll.sorted()) if (!holds(c, f, m, m)) return false;
        } else if (isObject(coll)) {
          for (const k of Object.keys(coll).sort(compareStrings)) if (!holds(c, f, k, coll[k]!)) return false;
        } else {
          return false;
        }
        return next(c, f);
      });
  }

  /* ---- terms */

  getter(t: Term, scope: Scope, bound: Set<string>): Getter {
    const tb = this.term(t, scope, bound, new Set());
    if (!tb.get) throw new CompileError('rule head not ground');
    return tb.get;
  }

  term(t: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
    return this.shared(t, this.termOnce(t, scope, bound, nonlocal));
  }

  /**
   * A closed term (no variables: only literals, refs into `input`/`data`, builtin and function calls) has one
   * value per evaluation, since `input` is fixed and every builtin implemented is deterministic. When the same
   * closed term occurs more than once in the residual, its occurrences share one memo slot. This is what makes
   * the decision query cheap: PE substitutes `{"allow": count(deny) == 0, "deny": deny, "warn": warn}` for
   * `__wg_x` in each of its nine expressions, and the object is now built once instead of nine times.
   */
  private shared(t: Term, tb: TermB): TermB {
    if (!tb.get || tb.constant !== undefined) return tb;
    const key = closedKey(t);
    if (key === undefined || (this.uses.get(key) ?? 0) < 2) return tb;
    let id = this.sharedSlots.get(key);
    if (id === undefined) {
      id = this.nextId++;
      this.sharedSlots.set(key, id);
    }
    const slot = id;
    const get = tb.get;
    return getterTerm((c, f) => {
      const m = c.memo[slot];
      if (m !== undefined) return m === NOTHING ? undefined : m;
      const v = get(c, f);
      c.memo[slot] = v === undefined ? NOTHING : v;
      return v;
    });
  }

  private termOnce(t: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
    switch (t.type) {
      case 'null':
      case 'boolean':
      case 'string':
      case 'number': {
        const v = literal(t);
        return constTerm(v);
      }
      case 'var': {
        const name = t.value as string;
        if (!bound.has(name)) throw new CompileError('unsafe variable');
        const s = scope.slot(name);
        return getterTerm((_c, f) => f[s]);
      }
      case 'ref':
        return this.ref(t.value as Term[], scope, bound, nonlocal);
      case 'array': {
        const items = (t.value as Term[]).map((x) => this.term(x, scope, bound, nonlocal));
        return collect(items, scope, (vs) => vs);
      }
      case 'set': {
        const items = (t.value as Term[]).map((x) => this.term(x, scope, bound, nonlocal));
        return collect(items, scope, (vs) => {
          const s = new RegoSet();
          for (const v of vs) s.add(v);
          return s;
        });
      }
      case 'object': {
        const pairs = t.value as [Term, Term][];
        const items: TermB[] = [];
        for (const [k, v] of pairs) {
          items.push(this.term(k, scope, bound, nonlocal));
          items.push(this.term(v, scope, bound, nonlocal));
        }
        return collect(items, scope, (vs) => {
          const o = emptyObject();
          for (let i = 0; i < vs.length; i += 2) {
            const k = vs[i]!;
            if (typeof k !== 'string') throw new ResidualUnsupported('object with non-string key');
            o[k] = vs[i + 1]!;
          }
          return o;
        });
      }
      case 'call': {
        const call = t.value as Term[];
        const op = call[0]?.type === 'ref' ? refName(call[0].value as Term[]) : undefined;
        if (op === undefined) throw new CompileError('dynamic operator');
        return this.callTerm(op, call.slice(1), scope, bound, nonlocal);
      }
      case 'arraycomprehension':
      case 'setcomprehension':
      case 'objectcomprehension':
        return this.comprehension(t, scope, bound, nonlocal);
      default:
        throw new CompileError(`unknown term type: ${t.type}`);
    }
  }

  private comprehension(t: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
    const kind = t.type;
    const spec = t.value as { term?: Term; key?: Term; value?: Term; body: Body };
    const acc = scope.temp();
    const outside = new Set(nonlocal);
    for (const x of [spec.term, spec.key, spec.value]) if (x) termVarsDeep(x, outside);
    const body = this.body(spec.body, scope, new Set(bound), outside, (b) => {
      if (kind === 'objectcomprehension') {
        const kg = this.getter(spec.key!, scope, b);
        const vg = this.getter(spec.value!, scope, b);
        return (c, f) => {
          const k = kg(c, f);
          const v = vg(c, f);
          if (k === undefined || v === undefined) return false;
          if (typeof k !== 'string') throw new ResidualUnsupported('object with non-string key');
          const o = f[acc] as RegoObject;
          if (Object.hasOwn(o, k) && !equal(o[k]!, v)) throw new ResidualUnsupported('object comprehension conflict');
          o[k] = v;
          return false;
        };
      }
      const g = this.getter(spec.term!, scope, b);
      if (kind === 'setcomprehension') {
        return (c, f) => {
          const v = g(c, f);
          if (v !== undefined) (f[acc] as RegoSet).add(v);
          return false;
        };
      }
      return (c, f) => {
        const v = g(c, f);
        if (v !== undefined) (f[acc] as Value[]).push(v);
        return false;
      };
    });
    return getterTerm((c, f) => {
      const saved = f[acc];
      const out: Value = kind === 'objectcomprehension' ? emptyObject() : kind === 'setcomprehension' ? new RegoSet() : [];
      f[acc] = out;
      body(c, f);
      f[acc] = saved;
      return out;
    });
  }

  private callTarget(op: string, nargs: number): { builtin?: (typeof BUILTINS)[string]; group?: Group } {
    if (op.startsWith('data.')) {
      const g = this.groups.get(op);
      if (!g) throw new CompileError(`data reference not folded: ${op}`);
      if (g.kind !== 'function') throw new CompileError(`not a function: ${op}`);
      this.ensure(g);
      return { group: g };
    }
    const b = BUILTINS[op];
    if (b) {
      if (nargs !== b.arity && nargs !== b.arity + 1) throw new CompileError(`wrong arity: ${op}`);
      return { builtin: b };
    }
    if (NONDETERMINISTIC.has(op)) throw new CompileError(`nondeterministic builtin: ${op}`);
    throw new CompileError(`unsupported builtin: ${op}`);
  }

  private callTerm(op: string, argTerms: Term[], scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
    const target = this.callTarget(op, argTerms.length);
    if (target.group?.usesInput) scope.usesInput = true;
    const args = argTerms.map((a) => this.term(a, scope, bound, nonlocal));
    const buf: Value[] = new Array(args.length);
    const group = target.group;
    const fn: (c: Ctx, a: Value[]) => Value | undefined = group
      ? (c, a) => group.call!(c, a.slice())
      : (_c, a) => target.builtin!.fn(a);
    if (args.every((a) => a.get)) {
      const gets = args.map((a) => a.get!);
      const n = gets.length;
      return getterTerm((c, f) => {
        for (let i = 0; i < n; i++) {
          const v = gets[i]!(c, f);
          if (v === undefined) return undefined;
          buf[i] = v;
        }
        return fn(c, buf);
      });
    }
    const slots = args.map(() => scope.temp());
    return {
      build(k) {
        let step: Step = (c, f) => {
          for (let i = 0; i < slots.length; i++) buf[i] = f[slots[i]!]!;
          const v = fn(c, buf);
          return v === undefined ? false : k(c, f, v);
        };
        for (let i = args.length - 1; i >= 0; i--) {
          const slot = slots[i]!;
          const rest = step;
          step = args[i]!.build((c, f, v) => {
            f[slot] = v;
            return rest(c, f);
          });
        }
        return step;
      },
    };
  }

  private ref(ref: Term[], scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
    const head = ref[0]!;
    let base: Getter;
    let i = 1;
    if (head.type === 'var' && head.value === 'input') {
      scope.usesInput = true;
      base = (c) => c.input;
      // Start from the longest shared prefix (`input.request`, `input.request.object.metadata.labels`…), whose
      // value this evaluation may already hold.
      for (let j = ref.length - 1; j >= 2; j--) {
        const prefix: Term = { type: 'ref', value: ref.slice(0, j) };
        const key = closedKey(prefix);
        if (key !== undefined && (this.uses.get(key) ?? 0) >= 2) {
          base = this.term(prefix, scope, bound, nonlocal).get!;
          i = j;
          break;
        }
      }
    } else if (head.type === 'var' && head.value === 'data') {
      let path = 'data';
      let g: Group | undefined;
      for (; i < ref.length && !g; i++) {
        const e = ref[i]!;
        if (e.type !== 'string') throw new CompileError(`data reference not folded: ${path}[…]`);
        path += '.' + (e.value as string);
        g = this.groups.get(path);
      }
      if (!g) throw new CompileError(`data reference not folded: ${path}`);
      if (g.kind === 'function') throw new CompileError(`function used as value: ${path}`);
      this.ensure(g);
      if (g.usesInput) scope.usesInput = true;
      const group = g;
      base = (c) => group.value!(c);
    } else if (head.type === 'var') {
      const name = head.value as string;
      if (!bound.has(name)) throw new CompileError('unsafe variable');
      const s = scope.slot(name);
      base = (_c, f) => f[s];
    } else {
      const t = this.term(head, scope, bound, nonlocal);
      if (!t.get) throw new CompileError('unsupported ref head');
      base = t.get;
    }
    type Op = { kind: 'key'; key: Value } | { kind: 'var'; slot: number } | { kind: 'iter'; slot: number } | { kind: 'term'; t: TermB };
    const ops: Op[] = [];
    for (; i < ref.length; i++) {
      const e = ref[i]!;
      if (isScalarType(e.type)) ops.push({ kind: 'key', key: literal(e) });
      else if (e.type === 'var') {
        const name = e.value as string;
        const slot = scope.slot(name);
        if (bound.has(name)) ops.push({ kind: 'var', slot });
        else {
          bound.add(name);
          ops.push({ kind: 'iter', slot });
        }
      } else ops.push({ kind: 'term', t: this.term(e, scope, bound, nonlocal) });
    }
    if (ops.every((o) => o.kind === 'key')) {
      const keys = ops.map((o) => (o as { key: Value }).key);
      const n = keys.length;
      return getterTerm((c, f) => {
        let v = base(c, f);
        for (let j = 0; j < n && v !== undefined; j++) v = lookup(v, keys[j]!);
        return v;
      });
    }
    if (ops.every((o) => o.kind === 'key' || o.kind === 'var' || (o.kind === 'term' && o.t.get))) {
      const n = ops.length;
      const get: Getter = (c, f) => {
        let v = base(c, f);
        for (let j = 0; j < n && v !== undefined; j++) {
          const o = ops[j]!;
          const key = o.kind === 'key' ? o.key : o.kind === 'var' ? f[o.slot] : (o as { t: TermB }).t.get!(c, f);
          v = key === undefined ? undefined : lookup(v, key);
        }
        return v;
      };
      return getterTerm(get);
    }
    return {
      build(k) {
        let step: VStep = k;
        for (let j = ops.length - 1; j >= 0; j--) {
          const o = ops[j]!;
          const rest = step;
          if (o.kind === 'key') {
            const key = o.key;
            step = (c, f, v) => {
              const x = lookup(v, key);
              return x === undefined ? false : rest(c, f, x);
            };
          } else if (o.kind === 'var') {
            const slot = o.slot;
            step = (c, f, v) => {
              const x = lookup(v, f[slot]!);
              return x === undefined ? false : rest(c, f, x);
            };
          } else if (o.kind === 'iter') {
            step = iterate(o.slot, rest);
          } else {
            const tmp = scope.temp();
            const inner = o.t.build((c, f, key) => {
              const x = lookup(f[tmp]!, key);
              return x === undefined ? false : rest(c, f, x);
            });
            step = (c, f, v) => {
              f[tmp] = v;
              return inner(c, f);
            };
          }
        }
        const first = step;
        return (c, f) => {
          const b = base(c, f);
          return b === undefined ? false : first(c, f, b);
        };
      },
    };
  }

  /** A unification pattern: unbound variables bind, everything else must be equal to the value. */
  pattern(t: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (k: Step) => VStep {
    if (t.type === 'var') {
      const name = t.value as string;
      const slot = scope.slot(name);
      if (bound.has(name)) return (k) => (c, f, v) => (equal(f[slot]!, v) ? k(c, f) : false);
      bound.add(name);
      return (k) => (c, f, v) => {
        f[slot] = v;
        const r = k(c, f);
        f[slot] = undefined;
        return r;
      };
    }
    if (t.type === 'array' && !termReady(t, bound, nonlocal)) {
      const items = (t.value as Term[]).map((x) => this.pattern(x, scope, bound, nonlocal));
      const tmp = scope.temp();
      const n = items.length;
      return (k) => {
        let step: Step = k;
        for (let i = n - 1; i >= 0; i--) {
          const vstep = items[i]!(step);
          step = (c, f) => vstep(c, f, (f[tmp] as Value[])[i]!);
        }
        const first = step;
        return (c, f, v) => {
          if (!Array.isArray(v) || v.length !== n) return false;
          const saved = f[tmp];
          f[tmp] = v;
          const r = first(c, f);
          f[tmp] = saved;
          return r;
        };
      };
    }
    if (t.type === 'object' && !termReady(t, bound, nonlocal)) {
      const pairs = t.value as [Term, Term][];
      const keys = pairs.map(([k]) => literal(k));
      if (!keys.every((k) => typeof k === 'string')) throw new CompileError('object with non-string key');
      const items = pairs.map(([, v]) => this.pattern(v, scope, bound, nonlocal));
      const tmp = scope.temp();
      const n = items.length;
      return (k) => {
        let step: Step = k;
        for (let i = n - 1; i >= 0; i--) {
          const vstep = items[i]!(step);
          const key = keys[i] as string;
          step = (c, f) => vstep(c, f, (f[tmp] as RegoObject)[key]!);
        }
        const first = step;
        return (c, f, v) => {
          if (!isObject(v) || Object.keys(v).length !== n) return false;
          for (const key of keys) if (!Object.hasOwn(v, key as string)) return false;
          const saved = f[tmp];
          f[tmp] = v;
          const r = first(c, f);
          f[tmp] = saved;
          return r;
        };
      };
    }
    const tb = this.term(t, scope, bound, nonlocal);
    if (tb.get) {
      const get = tb.get;
      return (k) => (c, f, v) => {
        const x = get(c, f);
        return x !== undefined && equal(x, v) ? k(c, f) : false;
      };
    }
    const tmp = scope.temp();
    return (k) => {
      const inner = tb.build((c, f, x) => (equal(x, f[tmp]!) ? k(c, f) : false));
      return (c, f, v) => {
        const saved = f[tmp];
        f[tmp] = v;
        const r = inner(c, f);
        f[tmp] = saved;
        return r;
      };
    };
  }

  /* ---- entry */

  query(body: Body): { scope: Scope; run: Step } {
    const scope = new Scope();
    const run = this.body(this.decisionFolds(body), scope, new Set(), new Set(), () => () => true);
    return { scope, run };
  }

  /**
   * Simplifies a query body that binds a closed object literal `L` to a variable (`__localq0__ = L`, which PE
   * emits for `__wg_x := data.a.b.c` when the decision is an object built by a rule), so that a denied input
   * stops at its first violation:
   *
   * - `object.get(L, "k", d)` becomes `L["k"]` (or `d` when `L` has no key "k") and `is_object(L)` becomes
   *   `true`. Exact because the body also evaluates `L` whole: where `L` is defined these are its values
   *   (topdown/object.go builtinObjectGet), and where it is undefined (or raises an error) the binding fails
   *   the body whatever the simplified expressions do.
   * - A resulting `count(S) == 0`, `0 = count(S)`, `count(S, 0)` or `true = count(S) == 0` on a partial set or
   *   object rule `S` is tested by `emptiness` (no need to compute the violations and their messages). Only
   *   top-level, non-negated expressions qualify: there "not empty" fails the conjunction, so stopping at the
   *   first solution cannot turn an OPA error into an allow.
   */
  private decisionFolds(body: Body): Body {
    const whole = new Set<string>();
    for (const e of body) {
      const t = e.terms;
      if (e.negated || !Array.isArray(t) || t.length !== 3 || refName((t[0]!.value as Term[]) ?? []) !== 'eq') continue;
      for (const [a, b] of [[t[1]!, t[2]!], [t[2]!, t[1]!]] as const) {
        const key = closedKey(b);
        if (a.type === 'var' && b.type === 'object' && key !== undefined) whole.add(key);
      }
    }
    if (whole.size === 0) return body;
    const fold = (t: Term): Term => {
      if (t.type !== 'call') return t;
      const [op, ...rest] = t.value as Term[];
      const args = rest.map(fold);
      const name = refName((op!.value as Term[]) ?? []);
      const lit = args[0];
      const litKey = lit && lit.type === 'object' ? closedKey(lit) : undefined;
      if (litKey !== undefined && whole.has(litKey)) {
        const pairs = lit!.value as [Term, Term][];
        if (pairs.every(([k]) => k.type === 'string')) {
          if (name === 'is_object' && args.length === 1) return { type: 'boolean', value: true };
          if (name === 'object.get' && args.length === 3 && args[1]!.type === 'string') {
            return pairs.find(([k]) => k.value === args[1]!.value)?.[1] ?? args[2]!;
          }
        }
      }
      return { type: 'call', value: [op!, ...args] };
    };
    return body.map((e) => {
      const terms = e.terms;
      if (!Array.isArray(terms)) return e;
      const op = terms[0]!;
      const name = refName((op.value as Term[]) ?? []);
      const args = terms.slice(1);
      if (name === 'eq' && args.length === 2 && args.some((a) => a.type === 'var')) return e; // the binding of L
      let out: Expr;
      const arity = name === undefined ? undefined : this.arity(name);
      if (name === 'eq') out = { ...e, terms: [op, ...args.map(fold)] };
      else if (arity !== undefined && args.length === arity + 1) {
        // A builtin with an output operand unifies its result with it: `object.get(L, "allow", true, true)`.
        const value = fold({ type: 'call', value: [op, ...args.slice(0, arity)] });
        const result = fold(args[arity]!);
        out = { ...e, terms: [EQ, value, result] };
      } else {
        const value = fold({ type: 'call', value: terms });
        out = { ...e, terms: value.type === 'call' ? (value.value as Term[]) : value };
      }
      const group = e.negated ? undefined : this.emptinessTest(out);
      if (group) this.emptinessExprs.set(out, this.emptiness(group));
      return out;
    });
  }

  /** The partial set/object rule `S` when an expression is `count(S) == 0` in one of its spellings. */
  private emptinessTest(e: Expr): Group | undefined {
    const terms = e.terms;
    if (!Array.isArray(terms)) return undefined;
    const name = refName((terms[0]!.value as Term[]) ?? []);
    const args = terms.slice(1);
    const isZero = (t: Term): boolean => t.type === 'number' && t.value === 0;
    const countOf = (t: Term): Group | undefined => {
      if (t.type !== 'call') return undefined;
      const [op, s, ...more] = t.value as Term[];
      if (refName((op!.value as Term[]) ?? []) !== 'count' || more.length > 0 || s?.type !== 'ref') return undefined;
      const g = this.groups.get(refName(s.value as Term[]) ?? '');
      return g && (g.kind === 'set' || g.kind === 'object') ? g : undefined;
    };
    const zeroCount = (x: Term, y: Term): Group | undefined => (isZero(x) ? countOf(y) : isZero(y) ? countOf(x) : undefined);
    if (name === 'count' && args.length === 2 && isZero(args[1]!)) {
      return countOf({ type: 'call', value: [terms[0]!, args[0]!] });
    }
    if ((name === 'eq' || name === 'equal') && args.length === 2) {
      const [x, y] = args as [Term, Term];
      const direct = zeroCount(x, y);
      if (direct) return direct;
      const [t, inner] = x.type === 'boolean' ? [x, y] : [y, x];
      if (t.type === 'boolean' && t.value === true && inner.type === 'call') {
        const [op, a, b, ...more] = inner.value as Term[];
        if (refName((op!.value as Term[]) ?? []) === 'equal' && a && b && more.length === 0) return zeroCount(a, b);
      }
    }
    return undefined;
  }
}

const EQ: Term = { type: 'ref', value: [{ type: 'var', value: 'eq' }] };

/** `data.partial.__notN__…`: a rule partial evaluation made for a negation it could not inline. */
function isNegationRule(t: Term): boolean {
  const ref = t.value as Term[];
  return ref[0]?.value === 'data' && ref[1]?.value === 'partial' && String(ref[2]?.value ?? '').startsWith('__not');
}

function isEmptyCollection(v: Value): boolean {
  return v instanceof RegoSet ? v.size === 0 : Array.isArray(v) ? v.length === 0 : Object.keys(v as RegoObject).length === 0;
}

/**
 * The frame of a rule definition or query, allocated once and reused. Reuse is safe because Rego forbids
 * recursion (v1/ast/compile.go checkRecursion): a definition's body always runs to completion before the same
 * definition is entered again, so two activations never overlap. Frames are not cleared between uses: the
 * safety ordering of bodies (see `body`) means every slot is written before it is read in an activation, and
 * the callers reset the accumulator slot `ACC` themselves.
 */
function frameOf(d: { scope: Scope; frame?: Frame }): Frame {
  return (d.frame ??= new Array(d.scope.size));
}

function constTerm(v: Value): TermB {
  return { ...getterTerm(() => v), constant: v };
}

function getterTerm(get: Getter): TermB {
  return {
    get,
    build: (k) => (c, f) => {
      const v = get(c, f);
      return v === undefined ? false : k(c, f, v);
    },
  };
}

/** Builds a composite from its parts (array, set, object literal), enumerating parts that iterate. */
function collect(items: TermB[], scope: Scope, make: (vs: Value[]) => Value): TermB {
  // Literal composites (`{"CREATE", "UPDATE"}`) are built once; values are never mutated after construction.
  if (items.every((x) => x.constant !== undefined)) return constTerm(make(items.map((x) => x.constant!)));
  if (items.every((x) => x.get)) {
    const gets = items.map((x) => x.get!);
    return getterTerm((c, f) => {
      const vs: Value[] = new Array(gets.length);
      for (let i = 0; i < gets.length; i++) {
        const v = gets[i]!(c, f);
        if (v === undefined) return undefined;
        vs[i] = v;
      }
      return make(vs);
    });
  }
  const slots = items.map(() => scope.temp());
  return {
    build(k) {
      let step: Step = (c, f) => k(c, f, make(slots.map((s) => f[s]!)));
      for (let i = items.length - 1; i >= 0; i--) {
        const slot = slots[i]!;
        const rest = step;
        step = items[i]!.build((c, f, v) => {
          f[slot] = v;
          return rest(c, f);
        });
      }
      return step;
    },
  };
}

/**
 * Binds `slot` to each key of a collection in OPA's order (arrays by index; objects and sets sorted, as OPA's
 * object and set keys are kept sorted) and continues with the element.
 */
function iterate(slot: number, rest: VStep): VStep {
  return (c, f, coll) => {
    let stop = false;
    if (Array.isArray(coll)) {
      for (let i = 0; i < coll.length && !stop; i++) {
        f[slot] = i;
        stop = rest(c, f, coll[i]!);
      }
    } else if (coll instanceof RegoSet) {
      for (const m of coll.sorted()) {
        f[slot] = m;
        if ((stop = rest(c, f, m))) break;
      }
    } else if (isObject(coll)) {
      for (const k of Object.keys(coll).sort(compareStrings)) {
        f[slot] = k;
        if ((stop = rest(c, f, coll[k]!))) break;
      }
    }
    f[slot] = undefined;
    return stop;
  };
}

/**
 * Compiles a Compile API response. Returns `{reason}` when the residual leaves the supported fragment; the
 * reason is short and stable (it is a metrics label).
 */
export function compileResidual(
  response: CompileResponseV1,
  options: CompileOptions = { guarded: true },
): CompiledResidual | NotCompilable {
  const result = response.result ?? {};
  const queries = result.queries ?? [];
  const support = result.support ?? [];
  let text: string;
  try {
    text = renderResidual(response);
  } catch {
    text = '(residual could not be rendered)';
  }
  try {
    const compiler = new Compiler(support, queries, options.guarded);
    const compiled = queries.map((q) => compiler.query(q));
    const memoSize = compiler.memoSize;
    const predicate = (input: unknown): boolean => {
      const c: Ctx = { input: input as Value, memo: new Array(memoSize) };
      for (const q of compiled) {
        if (q.run(c, frameOf(q))) return true;
      }
      return false;
    };
    return { predicate, text };
  } catch (err) {
    if (err instanceof CompileError) return { reason: err.reason };
    if (err instanceof ResidualUnsupported) return { reason: err.reason };
    throw err;
  }
}

export function isNotCompilable(r: CompiledResidual | NotCompilable): r is NotCompilable {
  return 'reason' in r;
}
