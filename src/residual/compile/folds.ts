/**
 * The compiler's entry for one residual query, and the decision-object folds that let a denied input stop at
 * its first violation (README "Evaluation cost").
 */
import type { Body, Expr, Module, Term } from '../ast.js';
import { closedKey, countClosedTerms } from './closed.js';
import { CompileError, EQ, refName, Scope, type Group, type Step } from './core.js';
import { RuleCompiler } from './rules.js';

export class Compiler extends RuleCompiler {
  constructor(modules: Module[], queries: Body[], guarded: boolean) {
    super(guarded);
    for (const m of modules) {
      const pkg = refName(m.package.path);
      if (pkg === undefined) throw new CompileError('unknown package path');
      for (const rule of m.rules ?? []) this.addRule(pkg, rule);
    }
    // PE writes a constant-key definition of a partial object (`h["a"] := 2`) as a rule of a package below the
    // object's path; the document then has parts this evaluator would not see.
    for (const path of this.groups.keys()) {
      const parts = path.split('.');
      for (let i = 1; i < parts.length; i++) {
        if (this.groups.has(parts.slice(0, i).join('.'))) throw new CompileError(`rule inside a rule's document: data.${path}`);
      }
    }
    countClosedTerms(modules, queries, this.uses);
  }

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
  protected decisionFolds(body: Body): Body {
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
  protected emptinessTest(e: Expr): Group | undefined {
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
