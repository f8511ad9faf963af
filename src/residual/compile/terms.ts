/**
 * Terms: literals, variables, refs (into `input`, support rules and bound values, iterating where a key is
 * unbound), composites, comprehensions, builtin and function calls, and unification patterns. A compiled
 * term either has one value (`get`) or enumerates its values (`build`).
 */
import type { Body, Term } from '../ast.js';
import { BUILTINS, NONDETERMINISTIC, ResidualUnsupported } from '../builtins.js';
import { emptyObject, equal, isObject, lookup, RegoSet, type RegoObject, type Value } from '../values.js';
import { closedKey } from './closed.js';
import {
  CompileError,
  collect,
  constTerm,
  getterTerm,
  iterate,
  isScalarType,
  literal,
  NOTHING,
  refName,
  type Ctx,
  type Getter,
  type Group,
  type Scope,
  type Step,
  type TermB,
  type VStep,
} from './core.js';
import { termReady, termVarsDeep } from './safety.js';

export abstract class TermCompiler {
  readonly groups = new Map<string, Group>();
  /** Memo slots: one per rule group, then one per shared closed term (see {@link TermCompiler.shared}). */
  protected nextId = 0;
  /** How often each closed term occurs in the residual (see {@link countClosedTerms}). */
  protected readonly uses = new Map<string, number>();
  private readonly sharedSlots = new Map<string, number>();

  /** Compiles a body (bodies.ts); comprehensions need it. */
  abstract body(exprs: Body, scope: Scope, bound: Set<string>, outside: Set<string>, final: (bound: Set<string>) => Step): Step;

  /** Compiles a rule group on first use (rules.ts). */
  protected abstract ensure(g: Group): void;

  /** Size of the per-evaluation memo: read after every query is compiled. */
  get memoSize(): number {
    return this.nextId;
  }

  arity(name: string): number | undefined {
    const g = this.groups.get(name);
    if (g) return g.kind === 'function' ? g.defs[0]!.head.args!.length : undefined;
    return BUILTINS[name]?.arity;
  }

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
  protected shared(t: Term, tb: TermB): TermB {
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

  protected termOnce(t: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
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

  protected comprehension(t: Term, scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
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

  protected callTarget(op: string, nargs: number): { builtin?: (typeof BUILTINS)[string]; group?: Group } {
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

  protected callTerm(op: string, argTerms: Term[], scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
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

  protected ref(ref: Term[], scope: Scope, bound: Set<string>, nonlocal: Set<string>): TermB {
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
}
