/**
 * Support rules: grouping definitions, complete rules (every definition and solution, conflicts refused),
 * partial set/object rules, functions, defaults, and the emptiness test of a partial rule.
 */
import type { Rule, Term } from '../ast.js';
import { ResidualUnsupported } from '../builtins.js';
import { emptyObject, equal, RegoSet, type RegoObject, type Value } from '../values.js';
import { BodyCompiler } from './bodies.js';
import {
  ACC,
  CompileError,
  frameOf,
  isEmptyCollection,
  NOTHING,
  Scope,
  type Ctx,
  type Group,
  type GroupKind,
  type Step,
} from './core.js';
import { termVarsDeep } from './safety.js';

export abstract class RuleCompiler extends BodyCompiler {
  protected addRule(pkg: string, rule: Rule): void {
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

  protected ensure(g: Group): void {
    if (g.state === 'done') return;
    if (g.state === 'compiling') throw new CompileError(`recursive rule: ${g.path}`);
    g.state = 'compiling';
    if (g.kind === 'function') this.compileFunction(g);
    else this.compileValueRule(g);
    g.state = 'done';
  }

  protected compileValueRule(g: Group): void {
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
        if (cached === undefined) {
          // Not `??`: a rule whose value is null is defined (`not x` fails), it is not NOTHING.
          const v = evaluate(c);
          cached = v === undefined ? NOTHING : v;
        }
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
  protected emptiness(g: Group): (c: Ctx) => boolean {
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
  protected compileRuleBody(g: Group, rule: Rule, exists = false): { scope: Scope; run: Step } {
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

  protected compileFunction(g: Group): void {
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

  protected constant(t: Term): Value {
    const g = this.getter(t, new Scope(), new Set());
    const v = g({ input: undefined, memo: [] }, []);
    if (v === undefined) throw new CompileError('default value not constant');
    return v;
  }
}
