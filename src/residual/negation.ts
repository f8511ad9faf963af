/**
 * What OPA's compiler does to a negated expression before it is evaluated, reproduced on residual bodies.
 *
 * OPA compiles every body (rule bodies and queries alike) with two rewrites that move terms *out* of an
 * expression into the enclosing body, ahead of it (v1/ast/compile.go):
 * - `rewriteExprTerms` (expandExpr/expandExprTerm): a call nested in an operand becomes its own expression
 *   with an output variable (`not count(input.xs) > 2` → `count(input.xs, __l1); not gt(__l1, 2)`); a ref
 *   whose subject is a composite or a call gets its subject bound first;
 * - `rewriteDynamics` (after `==` became `=` in modules): every ref and comprehension operand of a call
 *   expression is bound to a variable first (`not contains(input.p, "x")` → `__l0 = input.p; not
 *   contains(__l0, "x")`); for a unification (`=`) and a term expression only the refs *inside* an operand
 *   (ref keys, elements of composites) move, not a whole ref operand (`not input.x = "a"` stays).
 * The moved expressions are not negated: when a moved term is undefined (or a moved call fails on a wrong
 * type) the *body* fails, instead of the negation succeeding. Partial evaluation's copy propagation puts the
 * terms back into the `not` in the residual it returns (v1/topdown/copypropagation), so the evaluator must
 * move them out again. For builtin calls and ref keys this restores exactly what OPA evaluated; positions it
 * does not cover are handled in guarded mode (see analysis.ts).
 */
import type { Expr, Term } from './ast.js';

const EQ: Term = { type: 'ref', value: [{ type: 'var', value: 'eq' }] };

interface HoistedNegation {
  /** Expressions that run before the negation, in the enclosing body (positive). */
  hoisted: Expr[];
  /** The negated expression with its moved terms replaced by their variables. */
  rest: Expr;
  /**
   * Whole-ref operands left in place (a unification's sides, a term expression): OPA evaluates them inside
   * the `not`, so an undefined one makes the negation succeed.
   */
  inPlace: Term[];
}

const refName = (t: Term): string | undefined => {
  if (t.type !== 'ref') return undefined;
  const parts: string[] = [];
  for (const [i, x] of (t.value as Term[]).entries()) {
    if (i === 0 ? x.type !== 'var' : x.type !== 'string') return undefined;
    parts.push(String(x.value));
  }
  return parts.join('.');
};

/** Splits a negated expression `e` as OPA's compiler would; `fresh` names a new variable. */
export function hoistNegation(e: Expr, fresh: () => string): HoistedNegation {
  const hoisted: Expr[] = [];
  const bind = (t: Term): Term => {
    const v: Term = { type: 'var', value: fresh() };
    hoisted.push({ index: e.index, terms: [EQ, v, t] });
    return v;
  };

  /* rewriteExprTerms: nested calls (innermost first) and composite/call ref subjects. */
  const expand = (t: Term): Term => {
    switch (t.type) {
      case 'call': {
        const [op, ...args] = t.value as Term[];
        const out: Term = { type: 'var', value: fresh() };
        const expanded = args.map(expand);
        hoisted.push({ index: e.index, terms: [op!, ...expanded, out] });
        return out;
      }
      case 'ref': {
        const [head, ...rest] = t.value as Term[];
        const keys = rest.map(expand);
        const subject = head!.type === 'var' ? head! : bind(expand(head!));
        return { type: 'ref', value: [subject, ...keys] };
      }
      case 'array':
      case 'set':
        return { type: t.type, value: (t.value as Term[]).map(expand) };
      case 'object':
        return { type: 'object', value: (t.value as [Term, Term][]).map(([k, v]) => [expand(k), expand(v)]) };
      default:
        return t;
    }
  };

  /* rewriteDynamics: rewriteDynamicsOne moves refs and comprehensions, looking into composites. */
  const dynamicOne = (t: Term): Term => {
    switch (t.type) {
      case 'ref': {
        const [head, ...rest] = t.value as Term[];
        return bind({ type: 'ref', value: [head!, ...rest.map(dynamicOne)] });
      }
      case 'array':
      case 'set':
        return { type: t.type, value: (t.value as Term[]).map(dynamicOne) };
      case 'object':
        return { type: 'object', value: (t.value as [Term, Term][]).map(([k, v]) => [dynamicOne(k), dynamicOne(v)]) };
      case 'arraycomprehension':
      case 'setcomprehension':
      case 'objectcomprehension':
        return bind(t);
      default:
        return t;
    }
  };
  const inPlace: Term[] = [];
  /* rewriteDynamicsInTerm: a whole ref stays (its keys move); a comprehension stays. */
  const dynamicInTerm = (t: Term): Term => {
    if (t.type === 'ref') {
      const [head, ...rest] = t.value as Term[];
      const out: Term = { type: 'ref', value: [head!, ...rest.map(dynamicOne)] };
      inPlace.push(out);
      return out;
    }
    if (t.type === 'arraycomprehension' || t.type === 'setcomprehension' || t.type === 'objectcomprehension') return t;
    return dynamicOne(t);
  };

  // A call written with its output operand (`not count(x, 0)`) stays a call expression: OPA moves only its
  // operands out, and a failing call inside the `not` makes the negation hold (checked on OPA 1.22.3).
  const terms = e.terms;
  let rest: Expr;
  if (Array.isArray(terms)) {
    const [op, ...args] = terms as Term[];
    const expanded = args.map(expand);
    const name = refName(op!);
    if (name === 'eq' && expanded.length === 2) {
      rest = { ...e, terms: [op!, ...expanded.map(dynamicInTerm)] };
    } else {
      rest = { ...e, terms: [op!, ...expanded.map(dynamicOne)] };
    }
  } else if (typeof terms === 'object' && terms !== null && 'type' in terms) {
    rest = { ...e, terms: dynamicInTerm(expand(terms as Term)) };
  } else {
    rest = e;
  }
  return { hoisted, rest, inPlace };
}
