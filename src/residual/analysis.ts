/**
 * What the residual engine must know about the loaded policies (`GET /v1/policies`: OPA's compiled modules,
 * with locals renamed `__localN__`, refs resolved to `data.…`, calls carrying their output operand and
 * `some c in xs` spelled `__l2 = xs[__l1]`) before it
 * asks for and trusts a residual: which rules partial evaluation must not inline, which constructs make the
 * residual unsafe to evaluate, and whether a decision path names a rule or a package.
 *
 * Partial evaluation (PE) loses two things this module recovers from the source:
 *
 * - **Conflicts.** Inlining drops OPA's conflict check (v1/topdown/eval.go: "complete rules must not produce
 *   multiple outputs", "functions must not produce multiple outputs for same inputs", "object keys must be
 *   unique"). A rule group that *may* yield two values is kept out of inlining (`disableInlining`; the evaluator
 *   then checks every definition and solution) or, where PE cannot keep it (functions, ref heads), it makes the
 *   paths that depend on it unsafe.
 * - **Bindings erased under `not`.** OPA's compiler hoists dynamic operands out of a negated call
 *   (`not contains(input.p, "x")` runs as `__l = input.p; not contains(__l, "x")`, v1/ast/compile.go
 *   rewriteDynamics / expandExpr), and the author's own bindings sit outside the `not` too
 *   (`x := input.a; not x == 1`). PE's copy propagation substitutes such bindings into the negated expression
 *   and drops them (v1/topdown/copypropagation: `containedIn` does not tell negated occurrences apart), so
 *   the residual `not input.a = 1` may come from `not input.a == 1` (true when `a` is missing) or from
 *   `x := input.a; not x == 1` (false when `a` is missing). The evaluator re-applies the compiler's hoisting
 *   (exact for builtin calls); where the source could have lost a binding into a position that hoisting does
 *   not cover, the path is evaluated in *guarded* mode: an undefined operand there is refused at run time.
 *
 * Scope: facts are recorded per package and a decision path looks at the packages it can reach (its own, the
 * packages above and below it, and every package its modules refer to, transitively).
 */
import type { Term } from './ast.js';

interface AstExpr {
  negated?: boolean;
  terms?: unknown;
}

interface AstRule {
  default?: boolean;
  head?: { name?: string; ref?: Term[]; args?: Term[]; key?: Term; value?: Term };
  body?: AstExpr[];
  else?: unknown;
}

interface AstModule {
  package?: { path?: Term[] };
  imports?: { path?: Term; alias?: string }[];
  rules?: AstRule[];
}

type GroupKind = 'complete' | 'function' | 'object' | 'set' | 'refhead';

/** `default`: a complete rule with a default (always defined); `set`: a partial set (always defined). */
type RuleShape = 'complete' | 'default' | 'set' | 'other';

interface Group {
  pkg: string;
  /** Dotted path below `data` (`writegate.kubernetes.pod_spec`). */
  path: string;
  kind: GroupKind;
  arity: number;
  defs: AstRule[];
  values: Set<string>;
  /** Some definition's value depends on a variable its body binds (several solutions, several values). */
  multiValued: boolean;
  hasDefault: boolean;
  /** Some definition has a variable key (`h[k] := v`, `a.b[k] := v`). */
  varKeyed: boolean;
  /** Ref-head definitions' values per document (`limits.max` → {1, 5}). */
  docValues: Map<string, Set<string>>;
  readsInput: boolean;
  /** Paths of other groups its definitions refer to. */
  refs: Set<string>;
}

/** Facts about one package, serialisable (the plan is part of the residual's revision hash). */
interface PackageFacts {
  /** Packages its modules refer to (data refs and imports), as dotted paths, possibly of rules within them. */
  refs: string[];
  /** Reasons that make every path depending on this package not compilable. */
  unsafe: string[];
  /** Rules whose negations may have lost a binding to copy propagation (see the module comment). */
  guarded: string[];
  /** Rules kept out of inlining because they may conflict (refs): every decision depending on them checks them. */
  conflicting: string[];
  /** The package's non-function rules by first segment (what the package object holds), with their shape. */
  rules: Record<string, RuleShape>;
}

/** How partial evaluation must treat the loaded policies; see {@link inliningPlan}. */
export interface InliningPlan {
  /** Rules to keep as support rules (`options.disableInlining`). */
  disableInlining: string[];
  packages: Record<string, PackageFacts>;
}

/** What one decision path needs: its compile queries' shape, and whether (and how) it may be evaluated. */
export interface PathPlan {
  /** `rule`: the path names a rule or base data; `package`: a package (or a prefix of packages). */
  kind: 'rule' | 'package';
  /** Rule refs (`data.a.b.helper`) that a package decision evaluates besides allow/deny/warn. */
  others: string[];
  /** Package decisions: the shapes of the package's own allow, deny and warn rules (absent: no such rule). */
  shapes: Partial<Record<'allow' | 'deny' | 'warn', RuleShape>>;
  /**
   * Rules that may conflict, kept as support rules, in the packages the path depends on. OPA evaluates a rule
   * body's expressions in order and fails on a conflict as soon as it evaluates the rule, while partial
   * evaluation drops a definition whose later expression is known false, together with its use of the rule;
   * so every decision query evaluates them (engine.ts `evaluated`), and a conflict falls back to OPA.
   */
  force: string[];
  unsafe?: string;
  /** Set when negations must refuse undefined operands (a rule that may have lost a binding, named). */
  guarded?: string;
}

const SCALAR = new Set(['null', 'boolean', 'number', 'string']);
const dotted = (parts: string[]): string => parts.join('.');

/** Ref `[var, string…]` as dotted strings; undefined when a later part is not a string. */
function refParts(ref: Term[]): string[] | undefined {
  const out: string[] = [];
  for (const [i, t] of ref.entries()) {
    if (i === 0 ? t.type !== 'var' : t.type !== 'string') return undefined;
    out.push(String(t.value));
  }
  return out;
}

/** The leading string parts of a ref (`data.a.b[x].c` → `a.b`), without `data`. */
function dataPrefix(ref: Term[]): string[] {
  const out: string[] = [];
  for (const t of ref.slice(1)) {
    if (t.type !== 'string') break;
    out.push(String(t.value));
  }
  return out;
}

/** Visits every term in a node (rules, bodies, expressions), including closures. */
function walkTerms(node: unknown, visit: (t: Term) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) walkTerms(x, visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const o = node as Record<string, unknown>;
  if (typeof o.type === 'string' && 'value' in o) visit(o as unknown as Term);
  for (const v of Object.values(o)) walkTerms(v, visit);
}

/** Variables of a term outside closures (comprehension bodies bind their own). */
function shallowVars(t: Term | undefined, out: Set<string>): void {
  if (!t) return;
  switch (t.type) {
    case 'var':
      out.add(String(t.value));
      return;
    case 'ref':
    case 'array':
    case 'set':
      for (const x of t.value as Term[]) shallowVars(x, out);
      return;
    case 'call':
      for (const x of (t.value as Term[]).slice(1)) shallowVars(x, out);
      return;
    case 'object':
      for (const [k, v] of t.value as [Term, Term][]) {
        shallowVars(k, out);
        shallowVars(v, out);
      }
      return;
  }
}

function bodyVars(body: AstExpr[] | undefined): Set<string> {
  const out = new Set<string>();
  walkTerms(body ?? [], (t) => {
    if (t.type === 'var') out.add(String(t.value));
  });
  return out;
}

/**
 * Whether a (compiled) body can have several solutions: some ref outside closures has a variable key that
 * nothing else binds (not a function parameter, not a whole side of a unification), i.e. it iterates —
 * compiled modules spell `some c in xs` and `xs[_]` that way (`__local2__ = input.cs[__local1__]`).
 */
function iterates(body: AstExpr[], params: Set<string>, r: Resolver): boolean {
  // Variables a unification binds to one value: the other side mentions no variable but parameters (so
  // `x = i` after `input.xs[i]` does not count: `i` still iterates).
  const whole = new Set<string>();
  for (const e of body) {
    const t = e.terms;
    if (!Array.isArray(t) || e.negated || t.length !== 3) continue;
    const [, a, b] = t as Term[];
    for (const [x, other] of [[a!, b!], [b!, a!]] as const) {
      const vs = new Set<string>();
      shallowVars(other, vs);
      if (x.type === 'var' && [...vs].every((v) => !r.isVar(v) || params.has(v))) whole.add(String(x.value));
    }
  }
  let found = false;
  const visit = (t: Term): void => {
    if (found) return;
    switch (t.type) {
      case 'ref':
        for (const k of (t.value as Term[]).slice(1)) {
          if (k.type === 'var' && r.isVar(String(k.value)) && !params.has(String(k.value)) && !whole.has(String(k.value))) found = true;
          visit(k);
        }
        return;
      case 'call':
        for (const x of (t.value as Term[]).slice(1)) visit(x);
        return;
      case 'array':
      case 'set':
        for (const x of t.value as Term[]) visit(x);
        return;
      case 'object':
        for (const [k, v] of t.value as [Term, Term][]) {
          visit(k);
          visit(v);
        }
        return;
    }
  };
  for (const e of body) {
    if (e.negated) continue;
    const t = e.terms;
    if (Array.isArray(t)) for (const x of (t as Term[]).slice(1)) visit(x);
    else if (typeof t === 'object' && t !== null && 'type' in t) visit(t as Term);
    else if (typeof t === 'object' && t !== null && 'domain' in t) visit((t as { domain: Term }).domain);
  }
  return found;
}

/**
 * `R = R` (or `[R, 1] = [R, x]`) with a non-constant `R`: partial evaluation unifies a term with itself
 * without evaluating it (true even where `R` is undefined, so `not R = R` becomes false), while OPA's
 * evaluation of an undefined `R` fails the unification.
 */
function selfComparison(e: AstExpr): boolean {
  const t = e.terms;
  if (!Array.isArray(t) || t.length !== 3) return false;
  const op = (t[0] as Term).type === 'ref' ? refParts((t[0] as Term).value as Term[]) : undefined;
  if (!op || (dotted(op) !== 'eq' && dotted(op) !== 'equal')) return false;
  const same = (a: Term, b: Term): boolean => {
    if (isConstant(a) || isConstant(b)) return false;
    if (JSON.stringify(a, ['type', 'value']) === JSON.stringify(b, ['type', 'value'])) return true;
    if (a.type === 'array' && b.type === 'array') {
      const xs = a.value as Term[];
      const ys = b.value as Term[];
      return xs.length === ys.length && xs.some((x, i) => same(x, ys[i]!));
    }
    if (a.type === 'object' && b.type === 'object') {
      const ys = b.value as [Term, Term][];
      return (a.value as [Term, Term][]).some(([k, v]) => {
        const match = ys.find(([k2]) => JSON.stringify(k2, ['type', 'value']) === JSON.stringify(k, ['type', 'value']));
        return match !== undefined && same(v, match[1]);
      });
    }
    return false;
  };
  return same(t[1] as Term, t[2] as Term);
}

/**
 * An object comprehension that gives each key one value: a constant value, the key itself, or `v` bound by
 * `v = R[k]` with `k` the key and `R` a ref into `input`/`data` with no other variable (each `k` then reads
 * one element: compiled `{k: v | some k, v in input.o}` is `{__l0: __l1 | __l1 = input.o[__l0]}`).
 */
function singleValued(c: { key: Term; value: Term; body: AstExpr[] }): boolean {
  if (isConstant(c.value)) return true;
  if (c.key.type !== 'var' || c.value.type !== 'var') return false;
  if (c.value.value === c.key.value) return true;
  return c.body.some((e) => {
    const t = e.terms;
    if (e.negated || !Array.isArray(t) || t.length !== 3) return false;
    const op = (t[0] as Term).type === 'ref' ? refParts((t[0] as Term).value as Term[]) : undefined;
    if (!op || dotted(op) !== 'eq') return false;
    for (const [x, other] of [[t[1] as Term, t[2] as Term], [t[2] as Term, t[1] as Term]] as const) {
      if (x.type !== 'var' || x.value !== c.value.value || other.type !== 'ref') continue;
      const ref = other.value as Term[];
      const head = ref[0]!;
      const last = ref[ref.length - 1]!;
      const rootOk = head.type === 'var' && (head.value === 'input' || head.value === 'data');
      const middle = ref.slice(1, -1);
      if (rootOk && ref.length >= 2 && last.type === 'var' && last.value === c.key.value && middle.every((k) => !nonGround(k))) return true;
    }
    return false;
  });
}

/** A literal without variables, refs or calls (`"x"`, `[1, {"a": true}]`). */
function isConstant(t: Term): boolean {
  if (SCALAR.has(t.type)) return true;
  if (t.type === 'array' || t.type === 'set') return (t.value as Term[]).every(isConstant);
  if (t.type === 'object') return (t.value as [Term, Term][]).every(([k, v]) => isConstant(k) && isConstant(v));
  return false;
}

class Resolver {
  constructor(
    readonly pkg: string,
    private readonly localRules: Set<string>,
    private readonly aliases: Map<string, string>,
  ) {}

  /** The dotted data path a var or ref head names, or undefined for a local variable. */
  target(ref: Term[]): string | undefined {
    const head = ref[0];
    if (!head || head.type !== 'var') return undefined;
    const name = String(head.value);
    if (name === 'data') return dotted(dataPrefix(ref));
    if (name === 'input') return undefined;
    const alias = this.aliases.get(name);
    if (alias !== undefined) return dotted([alias, ...dataPrefix(ref)].filter((s) => s !== ''));
    if (this.localRules.has(name)) return dotted([this.pkg, name, ...dataPrefix(ref)]);
    return undefined;
  }

  isVar(name: string): boolean {
    return name !== 'input' && name !== 'data' && !this.aliases.has(name) && !this.localRules.has(name);
  }
}

/**
 * Negations whose residual form may have lost a binding (see the module comment), i.e. negated expressions
 * where copy propagation can put a value bound outside the `not` into a position the compiler's hoisting
 * does not cover:
 * - a variable (or a ref whose head is a variable) as a whole operand of `=`/`==`, or as the whole term;
 * - a composite operand of `=`/`==` with a non-constant part (PE unifies element-wise: `[x, 1] = [2, 1]`
 *   becomes `x = 2`);
 * - a call to a user function (its arguments are hoisted and its body inlined) unless it is the whole
 *   expression with constant arguments;
 * - a ref to a rule with a non-constant key (the key's binding is inlined into the rule's body).
 */
function lossyNegation(
  e: AstExpr,
  r: Resolver,
  functions: Set<string>,
  isRule: (path: string) => boolean,
  kept: Set<string>,
): boolean {
  const terms = e.terms;
  const isFunctionCall = (call: Term[]): boolean => {
    const op = call[0];
    if (!op || op.type !== 'ref') return false;
    const target = r.target(op.value as Term[]);
    return target !== undefined && functions.has(target);
  };
  let lossy = false;
  const scan = (t: Term, top: boolean): void => {
    if (lossy) return;
    switch (t.type) {
      case 'var':
        if (top && r.isVar(String(t.value)) && !kept.has(String(t.value))) lossy = true;
        return;
      case 'ref': {
        const ref = t.value as Term[];
        const head = ref[0]!;
        if (top && head.type === 'var' && r.isVar(String(head.value)) && !kept.has(String(head.value))) lossy = true;
        const target = r.target(ref);
        if (target !== undefined && isRule(target) && ref.slice(1).some((k) => !isConstant(k))) lossy = true;
        for (const k of ref.slice(1)) scan(k, false);
        return;
      }
      case 'call': {
        const call = t.value as Term[];
        if (isFunctionCall(call)) lossy = true;
        for (const x of call.slice(1)) scan(x, false);
        return;
      }
      case 'array':
      case 'set':
        for (const x of t.value as Term[]) scan(x, false);
        return;
      case 'object':
        for (const [k, v] of t.value as [Term, Term][]) {
          scan(k, false);
          scan(v, false);
        }
        return;
    }
  };
  if (Array.isArray(terms)) {
    const call = terms as Term[];
    const op = call[0]?.type === 'ref' ? refParts(call[0].value as Term[]) : undefined;
    const name = op ? dotted(op) : '';
    const args = call.slice(1);
    if (name === 'eq' || name === 'equal' || name === 'assign') {
      for (const a of args) {
        if ((a.type === 'array' || a.type === 'object' || a.type === 'set') && !isConstant(a)) return true;
        scan(a, true);
      }
      return lossy;
    }
    if (isFunctionCall(call) && !args.every(isConstant)) return true;
    for (const a of args) scan(a, false);
    return lossy;
  }
  if (typeof terms === 'object' && terms !== null && 'type' in terms) {
    scan(terms as Term, true);
    return lossy;
  }
  return false;
}

/**
 * A term copy propagation will not substitute into a negated expression: one with a variable other than a ref's
 * head (v1/topdown/copypropagation plugBindingsVar: `if pctx.negated && !b.IsGround()`; Ref.IsGround ignores
 * the head). `input.cs[__l1]` is such a term, `input.a` and `count(input.a)` are not.
 */
function nonGround(t: Term): boolean {
  switch (t.type) {
    case 'var':
      return true;
    case 'ref':
      return (t.value as Term[]).slice(1).some(nonGround);
    case 'call':
      return (t.value as Term[]).slice(1).some(nonGround);
    case 'array':
    case 'set':
      return (t.value as Term[]).some(nonGround);
    case 'object':
      return (t.value as [Term, Term][]).some(([k, v]) => nonGround(k) || nonGround(v));
    default:
      return false;
  }
}

/**
 * Variables of a rule whose binding copy propagation keeps out of negated expressions: those `every` binds,
 * and those bound only by unifications with non-ground terms (compiled modules spell `some c in xs` as
 * `__l2 = xs[__l1]`). A variable also bound to a ground ref or call, or as a call's output, or a function
 * parameter, is not kept.
 */
function keptBindings(rule: AstRule, r: Resolver): Set<string> {
  const kept = new Set<string>();
  const lost = new Set<string>();
  const params = new Set<string>();
  for (const p of rule.head?.args ?? []) shallowVars(p, params);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if ('domain' in o && 'body' in o) {
      const ev = o as { key?: Term | null; value?: Term };
      for (const t of [ev.key, ev.value]) if (t?.type === 'var') kept.add(String(t.value));
    }
    if ('terms' in o && !o.negated && Array.isArray(o.terms)) {
      const t = o.terms as Term[];
      const op = t[0]?.type === 'ref' ? refParts(t[0].value as Term[]) : undefined;
      if (op && dotted(op) === 'eq' && t.length === 3) {
        for (const [x, other] of [[t[1]!, t[2]!], [t[2]!, t[1]!]] as const) {
          if (x.type !== 'var') continue;
          if (nonGround(other)) kept.add(String(x.value));
          else if (other.type === 'ref' || other.type === 'call') lost.add(String(x.value));
        }
      } else if (t.length > 1 && t[t.length - 1]!.type === 'var') {
        lost.add(String(t[t.length - 1]!.value));
      }
    }
    for (const v of Object.values(o)) visit(v);
  };
  visit(rule.body ?? []);
  for (const v of [...lost, ...params]) kept.delete(v);
  for (const v of kept) if (!r.isVar(v)) kept.delete(v);
  return kept;
}

/** Every negated expression in a rule, including those in comprehension and `every` bodies. */
function negations(rule: AstRule): AstExpr[] {
  const out: AstExpr[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if ('terms' in o && o.negated === true) out.push(o as AstExpr);
    for (const v of Object.values(o)) visit(v);
  };
  visit(rule.body ?? []);
  visit(rule.head?.value ?? null);
  visit(rule.head?.key ?? null);
  return out;
}

/**
 * Partial evaluation inlines rules into the residual, and inlining drops OPA's conflict check: with
 * `c := 1 if input.a` and `c := 2 if input.b`, the residual of `c == 1` is just `input.a`, yet OPA's
 * evaluation fails with eval_conflict_error when both hold (checked on OPA 1.22.3). A group *may conflict*
 * when two definitions have different values, or one definition's value uses a variable its body binds while
 * the body iterates (one definition, several solutions: `image := c.image if some c in input.cs`). Then:
 * - complete rules and partial object rules are not inlined; they stay support rules and the evaluator
 *   evaluates every definition and solution, refusing locally on a conflict;
 * - functions cannot be treated that way (PE then keeps a call to the original function, outside `support`):
 *   one that may conflict is accepted only when every call passes constant arguments and it does not read
 *   `input`, even through other rules (PE then evaluates it with the known data and reports any conflict
 *   itself); otherwise the paths depending on it are decided by OPA;
 * - rules with ref heads (`limits.max := 1`), and partial objects sharing a name with them, that may conflict
 *   make their dependants unsafe (the evaluator does not build ref-head documents);
 * - a self-comparison makes its dependants unsafe (see `selfComparison`).
 */
export function inliningPlan(policiesBody: string): InliningPlan {
  const parsed = JSON.parse(policiesBody) as { result?: { ast?: AstModule }[] };
  const modules = (parsed.result ?? []).map((p) => p.ast ?? {});
  const pkgOf = (m: AstModule): string => dotted((m.package?.path ?? []).slice(1).map((t) => String(t.value)));
  const groups = new Map<string, Group>();
  const facts: Record<string, PackageFacts> = {};
  const localRules = new Map<string, Set<string>>();
  for (const m of modules) {
    const pkg = pkgOf(m);
    facts[pkg] ??= { refs: [], unsafe: [], guarded: [], conflicting: [], rules: {} };
    const names = localRules.get(pkg) ?? new Set<string>();
    localRules.set(pkg, names);
    for (const rule of m.rules ?? []) {
      const head = rule.head ?? {};
      const ref = head.ref ?? (head.name ? [{ type: 'var', value: head.name } as Term] : []);
      if (ref[0]) names.add(String(ref[0].value));
    }
  }
  const resolvers = new Map<AstModule, Resolver>();
  for (const m of modules) {
    const pkg = pkgOf(m);
    const aliases = new Map<string, string>();
    for (const imp of m.imports ?? []) {
      const ref = imp.path?.type === 'ref' ? (imp.path.value as Term[]) : undefined;
      if (!ref || ref[0]?.type !== 'var' || ref[0].value !== 'data') continue;
      const parts = dataPrefix(ref);
      const alias = imp.alias ?? parts[parts.length - 1];
      if (alias) aliases.set(alias, dotted(parts));
      facts[pkg]!.refs.push(dotted(parts));
    }
    resolvers.set(m, new Resolver(pkg, localRules.get(pkg)!, aliases));
  }
  // Groups, with the refs their definitions make.
  for (const m of modules) {
    const r = resolvers.get(m)!;
    const pkg = r.pkg;
    for (const rule of m.rules ?? []) {
      const head = rule.head ?? {};
      const ref = head.ref ?? (head.name ? [{ type: 'var', value: head.name } as Term] : []);
      if (!ref[0]) continue;
      const strings = refParts(ref);
      let kind: GroupKind;
      let parts: string[];
      if (head.args && head.args.length > 0) [kind, parts] = ['function', [String(ref[0].value)]];
      else if (ref.length === 1 && head.key && !head.value) [kind, parts] = ['set', [String(ref[0].value)]];
      else if (ref.length === 1) [kind, parts] = ['complete', [String(ref[0].value)]];
      else if (ref.length === 2 && !strings) [kind, parts] = ['object', [String(ref[0].value)]];
      else [kind, parts] = ['refhead', [String(ref[0].value)]];
      const path = dotted([pkg, ...parts].filter((s) => s !== ''));
      let g = groups.get(path);
      if (!g) {
        g = {
          pkg,
          path,
          kind,
          arity: head.args?.length ?? 0,
          defs: [],
          values: new Set(),
          multiValued: false,
          hasDefault: false,
          readsInput: false,
          refs: new Set(),
          varKeyed: false,
          docValues: new Map(),
        };
        groups.set(path, g);
      }
      // `h[k] := v` and `h["a"] := 2` define one document: ref heads and partial objects under one name are
      // one group (OPA merges them and reports a conflict on a shared key).
      if (g.kind !== kind && (kind === 'refhead' || kind === 'object') && (g.kind === 'refhead' || g.kind === 'object')) {
        g.kind = 'refhead';
      }
      if (kind === 'object' || (kind === 'refhead' && !strings)) g.varKeyed = true;
      if (kind === 'refhead' && strings && head.value && !rule.default) {
        const doc = dotted(strings);
        const vs = g.docValues.get(doc) ?? new Set<string>();
        vs.add(isConstant(head.value) && !rule.else ? JSON.stringify(head.value) : `#${vs.size}`);
        g.docValues.set(doc, vs);
      }
      for (const e of flatExprs(rule)) {
        if (selfComparison(e)) facts[pkg]!.unsafe.push(`self-comparison folded by partial evaluation: data.${path}`);
      }
      // `{k: v | …}` fails with eval_conflict_error when one key gets two values, as soon as OPA builds it; PE
      // drops a definition whose later expression is known false, comprehension included, so the evaluator
      // might never build it (found by the policy fuzzer: `not count({"a": c | some c in input}) < 0` before a
      // false expression). A constant value cannot conflict.
      walkTerms(rule, (t) => {
        if (t.type === 'objectcomprehension' && !singleValued(t.value as { key: Term; value: Term; body: AstExpr[] })) {
          facts[pkg]!.unsafe.push(`object comprehension may conflict: data.${path}`);
        }
      });
      walkTerms(rule, (t) => {
        if (t.type !== 'ref') return;
        const ref = t.value as Term[];
        if (ref[0]?.type === 'var' && ref[0].value === 'input') g!.readsInput = true;
        const target = r.target(ref);
        if (target !== undefined) {
          g!.refs.add(target);
          if (ref[0]?.type === 'var' && ref[0].value === 'data') facts[pkg]!.refs.push(target);
        }
      });
      walkTerms(rule, (t) => {
        if (t.type === 'var' && !r.isVar(String(t.value))) {
          const target = r.target([t]);
          if (target !== undefined) g!.refs.add(target);
        }
      });
      if (rule.default) {
        g.hasDefault = true;
        continue;
      }
      g.defs.push(rule);
      const v = head.value;
      if (!v) continue;
      g.values.add(isConstant(v) && !rule.else ? JSON.stringify(v) : `#${g.defs.length}`);
      const valueVars = new Set<string>();
      shallowVars(v, valueVars);
      if (head.key) shallowVars(head.key, valueVars);
      const params = new Set<string>();
      for (const p of head.args ?? []) shallowVars(p, params);
      const bound = bodyVars(rule.body);
      for (const x of params) bound.delete(x);
      if ([...valueVars].some((x) => r.isVar(x) && bound.has(x)) && iterates(rule.body ?? [], params, r)) g.multiValued = true;
      if (rule.else) g.multiValued = true;
    }
  }
  // readsInput through other rules (fixed point over the group graph; a ref names a group, a package, or a
  // document inside a group).
  const related = (a: string, b: string): boolean => a === b || a.startsWith(b + '.') || b.startsWith(a + '.');
  for (let changed = true; changed; ) {
    changed = false;
    for (const g of groups.values()) {
      if (g.readsInput) continue;
      for (const ref of g.refs) {
        if ([...groups.values()].some((o) => o.readsInput && related(o.path, ref))) {
          g.readsInput = true;
          changed = true;
          break;
        }
      }
    }
  }
  // Calls per function path, with their operands (compiled modules add the output as a last operand).
  const calls: [string, Term[]][] = [];
  for (const m of modules) {
    const r = resolvers.get(m)!;
    const note = (call: Term[]): void => {
      if (call[0]?.type !== 'ref') return;
      const target = r.target(call[0].value as Term[]);
      if (target !== undefined) calls.push([target, call.slice(1)]);
    };
    walkTerms(m.rules ?? [], (t) => {
      if (t.type === 'call') note(t.value as Term[]);
    });
    for (const rule of m.rules ?? []) {
      for (const e of flatExprs(rule)) if (Array.isArray(e.terms)) note(e.terms as Term[]);
    }
  }
  const dynamicCalls = new Set<string>();
  for (const [target, args] of calls) {
    const g = groups.get(target);
    if (g && args.slice(0, g.arity).some((a) => !isConstant(a))) dynamicCalls.add(target);
  }
  const isRule = (path: string): boolean => [...groups.keys()].some((p) => related(p, path));
  const functions = new Set([...groups.values()].filter((g) => g.kind === 'function').map((g) => g.path));
  const disable: string[] = [];
  for (const g of groups.values()) {
    if (g.kind !== 'function') {
      const name = g.path.slice(g.pkg.length + (g.pkg ? 1 : 0)).split('.')[0]!;
      const shape: RuleShape =
        g.kind === 'set' ? 'set' : g.kind === 'complete' ? (g.hasDefault ? 'default' : 'complete') : 'other';
      const rules = facts[g.pkg]!.rules;
      rules[name] = rules[name] === undefined || rules[name] === shape ? shape : 'other';
    }
    const ref = 'data.' + g.path;
    if (g.kind === 'refhead') {
      const docs = [...g.docValues.entries()].filter(([, vs]) => vs.size > 1).map(([d]) => d);
      if (g.varKeyed || g.multiValued || docs.length > 0) {
        facts[g.pkg]!.unsafe.push(`rule may conflict: data.${docs[0] === undefined ? g.path : dotted([g.pkg, docs[0]].filter((x) => x !== ''))}`);
      }
      continue;
    }
    const mayConflict = g.kind !== 'set' && (g.multiValued || (g.defs.length > 1 && g.values.size > 1));
    if (!mayConflict) continue;
    if (g.kind === 'complete' || g.kind === 'object') {
      disable.push(ref);
      facts[g.pkg]!.conflicting.push(ref);
    }
    else if (dynamicCalls.has(g.path) || g.readsInput) facts[g.pkg]!.unsafe.push(`function may conflict: ${ref}`);
  }
  for (const m of modules) {
    const r = resolvers.get(m)!;
    for (const rule of m.rules ?? []) {
      const kept = keptBindings(rule, r);
      if (negations(rule).some((e) => lossyNegation(e, r, functions, isRule, kept))) {
        const head = rule.head ?? {};
        const name = head.name ?? String(head.ref?.[0]?.value ?? '');
        facts[r.pkg]!.guarded.push(`data.${dotted([r.pkg, name].filter((s) => s !== ''))}`);
      }
    }
  }
  for (const f of Object.values(facts)) {
    f.refs = [...new Set(f.refs)].sort();
    f.unsafe = [...new Set(f.unsafe)].sort();
    f.guarded = [...new Set(f.guarded)].sort();
    f.conflicting = [...new Set(f.conflicting)].sort();
    f.rules = sortedKeys(f.rules);
  }
  return { disableInlining: [...new Set(disable)].sort(), packages: sortedKeys(facts) };
}

/** Every expression of a rule's body, including those nested in comprehensions and `every`. */
function flatExprs(rule: AstRule): AstExpr[] {
  const out: AstExpr[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if ('terms' in o && 'index' in o) out.push(o as AstExpr);
    for (const v of Object.values(o)) visit(v);
  };
  visit(rule.body ?? []);
  return out;
}

function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/**
 * The plan for one decision path `a/b/c`. The path names a package when some loaded package is `a.b.c` or
 * lies below it (OPA then answers the package object, every rule of the package and its subpackages). The
 * packages it depends on are those above and below the path and, transitively, every package their modules
 * refer to.
 */
export function pathPlan(plan: InliningPlan, path: string): PathPlan {
  const target = path.split('/').filter((s) => s !== '').join('.');
  const pkgs = Object.keys(plan.packages);
  const below = (p: string): boolean => p === target || p.startsWith(target + '.') || target === '';
  const isPackage = pkgs.some(below);
  const reach = new Set<string>();
  const queue = pkgs.filter((p) => below(p) || target === p || target.startsWith(p + '.') || p === '');
  while (queue.length > 0) {
    const p = queue.pop()!;
    if (reach.has(p)) continue;
    reach.add(p);
    for (const ref of plan.packages[p]!.refs) {
      for (const q of pkgs) {
        if (!reach.has(q) && (q === ref || ref.startsWith(q + '.') || q.startsWith(ref + '.') || ref === '')) queue.push(q);
      }
    }
  }
  const sorted = [...reach].sort();
  const unsafe = sorted.flatMap((p) => plan.packages[p]!.unsafe)[0];
  const guarded = sorted.flatMap((p) => plan.packages[p]!.guarded)[0];
  const force = sorted.flatMap((p) => plan.packages[p]!.conflicting);
  const others: string[] = [];
  const shapes: PathPlan['shapes'] = {};
  if (isPackage) {
    for (const p of pkgs.filter(below).sort()) {
      const rel = p === target ? [] : p.slice(target === '' ? 0 : target.length + 1).split('.');
      const rules = plan.packages[p]!.rules;
      for (const name of Object.keys(rules)) {
        if (rel.length === 0 && (name === 'allow' || name === 'deny' || name === 'warn')) {
          shapes[name] = rules[name];
          continue;
        }
        others.push(dataRefOf([...target.split('.').filter((s) => s !== ''), ...rel, name]));
      }
    }
  }
  return {
    kind: isPackage ? 'package' : 'rule',
    others,
    force,
    shapes,
    ...(unsafe ? { unsafe } : {}),
    ...(guarded ? { guarded } : {}),
  };
}

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `data.a.b["c-d"]` for path segments. */
export function dataRefOf(segments: string[]): string {
  return 'data' + segments.map((s) => (SEGMENT.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('');
}
