/**
 * Bodies and expressions: safety ordering, unification, builtin and function calls as expressions, `every`,
 * and negation (with the terms OPA's compiler moves out of a negated expression, see negation.ts).
 */
import type { Body, Every, Expr, Term } from '../ast.js';
import { ResidualUnsupported } from '../builtins.js';
import { hoistNegation } from '../negation.js';
import { compareStrings, decidedByIdentity, isObject, RegoSet, type Value } from '../values.js';
import { CompileError, isForcing, isNegationRule, isScalarType, literal, refName, type Ctx, type Frame, type Scope, type Step, type VStep } from './core.js';
import {
  exprOperands,
  exprReady,
  exprVarsDeep,
  isExprEvery,
  isSomeDecl,
  isTerm,
  iteratingRefs,
  patternReady,
  shallowVars,
  termReady,
  termVarsShallow,
  type Arity,
} from './safety.js';
import { TermCompiler } from './terms.js';

export abstract class BodyCompiler extends TermCompiler {
  /** Query expressions that are `count(S) == 0` tests, with the emptiness check of `S` (see `decisionFolds`). */
  protected readonly emptinessExprs = new Map<Expr, (c: Ctx) => boolean>();
  /** Counter for the variables that negations' moved terms are bound to. */
  private nextHoist = 0;

  constructor(private readonly guarded: boolean) {
    super();
  }

  protected readonly arityFn: Arity = (name) => this.arity(name);

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

  protected expr(e: Expr, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
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
  protected negation(e: Expr, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
    const { hoisted, rest, inPlace } = hoistNegation(e, () => `__wg_h${this.nextHoist++}__`);
    const b = new Set(bound);
    const steps: ((next: Step) => Step)[] = [];
    for (const h of hoisted) {
      // A moved term runs outside the `not`: a variable of the negation's own (not bound before it) would then
      // iterate there. Comprehension bodies keep their locals, so only variables outside them count.
      for (const t of exprOperands(h)) {
        const vs = new Set<string>();
        termVarsShallow(t, vs);
        for (const v of vs) if (!b.has(v) && !v.startsWith('__wg_h')) throw new CompileError('negation with local variables');
      }
      steps.push(this.expr(h, scope, b, nonlocal));
      for (const t of exprOperands(h)) termVarsShallow(t, b);
    }
    if (this.guarded && !isForcing(e)) {
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

  protected unify(a: Term, b: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
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

  protected every(ev: Every, scope: Scope, bound: Set<string>, nonlocal: Set<string>): (next: Step) => Step {
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
}
