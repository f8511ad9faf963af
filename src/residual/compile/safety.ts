/**
 * Variable analysis for ordering bodies as OPA's compiler does (v1/ast/compile.go reorderBodyForSafety): which
 * variables a term or expression mentions or binds, and whether an expression can run with what is bound.
 */
import type { Body, Every, Expr, Term } from '../ast.js';
import { isScalarType, refName } from './core.js';

export function isExprEvery(terms: Expr['terms']): terms is Every {
  return !Array.isArray(terms) && typeof terms === 'object' && terms !== null && 'domain' in terms;
}
export function isSomeDecl(terms: Expr['terms']): boolean {
  return !Array.isArray(terms) && typeof terms === 'object' && terms !== null && 'symbols' in terms;
}
export function isTerm(terms: Expr['terms']): terms is Term {
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

export const termVarsDeep = (t: Term, out: Set<string>): void => termVars(t, out, true);
export const termVarsShallow = (t: Term, out: Set<string>): void => termVars(t, out, false);

export function exprVarsDeep(e: Expr, out: Set<string>): void {
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
export function iteratingRefs(t: Term, bound: Set<string>, out: Term[][]): void {
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

export function exprOperands(e: Expr): Term[] {
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

export function shallowVars(e: Expr): Set<string> {
  const out = new Set<string>();
  if (e.negated || isExprEvery(e.terms)) return out;
  for (const t of exprOperands(e)) termVarsShallow(t, out);
  return out;
}

/**
 * Whether a term can be evaluated now: stand-alone variables must be bound; variables used as ref keys may
 * be unbound (the ref then iterates and binds them); comprehensions need their non-local variables bound.
 */
export function termReady(t: Term, bound: Set<string>, nonlocal: Set<string>): boolean {
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

export function patternReady(t: Term, bound: Set<string>, nonlocal: Set<string>): boolean {
  if (t.type === 'var') return true;
  if (t.type === 'array') return (t.value as Term[]).every((e) => patternReady(e, bound, nonlocal));
  if (t.type === 'object') {
    return (t.value as [Term, Term][]).every(([k, v]) => isScalarType(k.type) && patternReady(v, bound, nonlocal));
  }
  return termReady(t, bound, nonlocal);
}

export type Arity = (name: string) => number | undefined;

export function exprReady(e: Expr, bound: Set<string>, nonlocal: Set<string>, arityOf: Arity): boolean {
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
