/**
 * The runtime shapes every part of the residual compiler shares: frames and steps (the closures a compiled
 * residual is made of), compiled terms, scopes, rule groups, and the small helpers that build them.
 */
import type { Expr, Rule, Term } from '../ast.js';
import { compareStrings, isObject, RegoSet, type RegoObject, type Value } from '../values.js';

export type Frame = (Value | undefined)[];
export interface Ctx {
  input: Value | undefined;
  memo: (Value | typeof NOTHING | undefined)[];
}
/** Continue with the rest of a body; `true` stops the search (a query needs only one solution). */
export type Step = (c: Ctx, f: Frame) => boolean;
export type VStep = (c: Ctx, f: Frame, v: Value) => boolean;
export type Getter = (c: Ctx, f: Frame) => Value | undefined;

/** A compiled term: `build(k)` enumerates its values into `k`; `get` exists when it cannot iterate. */
export interface TermB {
  get?: Getter;
  /** Set when the term is a literal without variables or refs: computed once at compile time. */
  constant?: Value;
  build(k: VStep): Step;
}

/** Memo marker for "evaluated to undefined" (distinct from "not evaluated yet"). */
export const NOTHING = Symbol('undefined');

export class CompileError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export class Scope {
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

export type GroupKind = 'complete' | 'set' | 'object' | 'function';

export interface Group {
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

export const ACC = 0;

export const refName = (ref: Term[]): string | undefined => {
  const parts: string[] = [];
  for (const [i, t] of ref.entries()) {
    if (i === 0 && t.type === 'var') parts.push(t.value as string);
    else if (i > 0 && t.type === 'string') parts.push(t.value as string);
    else return undefined;
  }
  return parts.join('.');
};

export function literal(t: Term): Value {
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

export const isScalarType = (type: string): boolean =>
  type === 'null' || type === 'boolean' || type === 'string' || type === 'number';

/**
 * The input field the engine's queries compare a rule with only to have it evaluated (engine.ts `evaluated`):
 * `not R = input.__wg_force__`. Such an expression is the engine's, not the policy's, so guarded mode does
 * not apply to it.
 */
export const FORCE_MARKER = '__wg_force__';

/** `not R = input.__wg_force__` (see {@link FORCE_MARKER}). */
export function isForcing(e: Expr): boolean {
  const t = e.terms;
  if (!e.negated || !Array.isArray(t) || t.length !== 3 || refName((t[0] as Term).value as Term[]) !== 'eq') return false;
  const marker = (x: Term): boolean => {
    const ref = x.type === 'ref' ? (x.value as Term[]) : [];
    return ref.length === 2 && ref[0]!.value === 'input' && ref[1]!.value === FORCE_MARKER;
  };
  return marker(t[1] as Term) || marker(t[2] as Term);
}

export const EQ: Term = { type: 'ref', value: [{ type: 'var', value: 'eq' }] };

/** `data.partial.__notN__…`: a rule partial evaluation made for a negation it could not inline. */
export function isNegationRule(t: Term): boolean {
  const ref = t.value as Term[];
  return ref[0]?.value === 'data' && ref[1]?.value === 'partial' && String(ref[2]?.value ?? '').startsWith('__not');
}

export function isEmptyCollection(v: Value): boolean {
  return v instanceof RegoSet ? v.size === 0 : Array.isArray(v) ? v.length === 0 : Object.keys(v as RegoObject).length === 0;
}

/**
 * The frame of a rule definition or query, allocated once and reused. Reuse is safe because Rego forbids
 * recursion (v1/ast/compile.go checkRecursion): a definition's body always runs to completion before the same
 * definition is entered again, so two activations never overlap. Frames are not cleared between uses: the
 * safety ordering of bodies (see `body`) means every slot is written before it is read in an activation, and
 * the callers reset the accumulator slot `ACC` themselves.
 */
export function frameOf(d: { scope: Scope; frame?: Frame }): Frame {
  return (d.frame ??= new Array(d.scope.size));
}

export function constTerm(v: Value): TermB {
  return { ...getterTerm(() => v), constant: v };
}

export function getterTerm(get: Getter): TermB {
  return {
    get,
    build: (k) => (c, f) => {
      const v = get(c, f);
      return v === undefined ? false : k(c, f, v);
    },
  };
}

/** Builds a composite from its parts (array, set, object literal), enumerating parts that iterate. */
export function collect(items: TermB[], scope: Scope, make: (vs: Value[]) => Value): TermB {
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
export function iterate(slot: number, rest: VStep): VStep {
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
