/**
 * Closed terms (no variables: literals, refs into `input`/`data`, calls of them): one value per evaluation,
 * so repeated occurrences can share a memo slot (see `TermCompiler.shared`).
 */
import type { Body, Module, Term } from '../ast.js';
import { isExprEvery, isTerm } from './safety.js';

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
export function closedKey(t: Term): string | undefined {
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
export function countClosedTerms(modules: Module[], queries: Body[], uses: Map<string, number>): void {
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
