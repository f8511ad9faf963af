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
 *   stops at the first violation (`TermCompiler.shared`, `Compiler.decisionFolds`, README "Evaluation cost").
 * - A negated expression first has the terms OPA's compiler would move out of it moved out (negation.ts).
 * Every step is a closure created here once per compile; a request allocates only rule values and the memo.
 *
 * One concern per file under compile/: core.ts (frames, steps, scopes, rule groups), safety.ts (variable
 * analysis and safety ordering), closed.ts (shared closed terms), terms.ts (refs, calls, composites,
 * comprehensions, patterns), bodies.ts (bodies, unification, `every`, negation), rules.ts (support rules and
 * conflicts), folds.ts (queries and the decision-object folds).
 */
import type { CompileResponseV1 } from './ast.js';
import { ResidualUnsupported } from './builtins.js';
import { CompileError, frameOf, type Ctx } from './compile/core.js';
import { Compiler } from './compile/folds.js';
import { renderResidual } from './explain.js';
import type { Value } from './values.js';

export { ResidualUnsupported };
export { FORCE_MARKER } from './compile/core.js';

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
