/**
 * Policy-level differential fuzzing (issue 7): each generated policy is loaded into one real OPA
 * (`PUT /v1/policies`), compiled by a fresh `ResidualEngine` exactly as the gateway would, and every input is
 * decided by both — `ResidualEngine.evaluate(path, input)` against OPA's Data API (`POST /v1/data/<path>`).
 *
 * - **unsafe allow**: the residual allows locally but OPA's answer is not a clean allow (the gateway's own
 *   `normalizeDecision` says allowed, with no problem and no warnings) — undefined, false, a deny, a warning,
 *   a malformed decision, or an evaluation error such as `eval_conflict_error`. This is the bug hunted.
 * - **miss**: OPA allows cleanly but the residual fell back. Always safe, only counted.
 *
 * Policies are decided one at a time and deleted afterwards: the inlining plan is computed over every loaded
 * policy (`GET /v1/policies`), so a neighbour could change what the engine compiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Pool } from 'undici';
import { checkPolicyInput } from '../../../src/decision/input-value.js';
import { normalizeDecision } from '../../../src/decision/normalize.js';
import { WritegateError } from '../../../src/errors.js';
import { opaBinary } from '../../../src/opa/binary.js';
import { freePort } from '../../../src/net.js';
import { ResidualEngine, residualOpaClient, type ResidualOutcome } from '../../../src/residual/engine.js';
import { decodeValue, encodeValue } from './codec.js';
import { generateInput, jsonObject } from './input-gen.js';
import { inputMutants, policyMutants } from './mutate.js';
import { generatePolicy, renderPolicy, type PolicySrc, type Shape } from './policy-gen.js';

/** OPA's Data API answer: a result, no result (undefined decision), or an evaluation error. */
export type OpaVerdict = { result: unknown } | { undefined: true } | { error: string };

/** The gateway's notion of "allowed, nothing to report" (src/decision/normalize.ts), which a local allow claims. */
export function cleanAllow(v: OpaVerdict): boolean {
  if ('error' in v) return false;
  const d = 'result' in v ? normalizeDecision(true, v.result) : normalizeDecision(false, undefined);
  return d.allowed && d.problem === undefined && d.deny.length === 0 && d.warn.length === 0;
}

export interface FuzzOpa {
  url: string;
  /** Loads a policy; resolves to OPA's error text when it refuses it. */
  put(id: string, text: string): Promise<string | undefined>;
  remove(id: string): Promise<void>;
  data(path: string, input: unknown): Promise<OpaVerdict>;
  stop(): Promise<void>;
}

/** One OPA server for a whole run (no decision logging: it would only cost CPU here). */
export async function startFuzzOpa(): Promise<FuzzOpa> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    opaBinary(),
    ['run', '--server', `--addr=127.0.0.1:${port}`, '--disable-telemetry', '--log-level=error'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-2000)));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`OPA exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`OPA did not become healthy: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pool = new Pool(url, { connections: 8 });
  const call = async (method: 'PUT' | 'POST' | 'DELETE', path: string, body?: string, type = 'application/json') => {
    const res = await pool.request({ method, path, headers: body === undefined ? {} : { 'content-type': type }, body });
    return { status: res.statusCode, text: await res.body.text() };
  };
  return {
    url,
    async put(id, text) {
      const { status, text: body } = await call('PUT', `/v1/policies/${id}`, text, 'text/plain');
      if (status === 200) return undefined;
      const parsed = JSON.parse(body) as { message?: string; errors?: { message?: string }[] };
      return parsed.errors?.[0]?.message ?? parsed.message ?? body;
    },
    async remove(id) {
      await call('DELETE', `/v1/policies/${id}`);
    },
    async data(path, input) {
      // JSON.stringify is what the gateway sends: NaN/Infinity become null, -0 becomes 0, lone surrogates are
      // escaped (and decoded to U+FFFD by Go).
      const { status, text } = await call('POST', `/v1/data/${path}`, JSON.stringify({ input }));
      const parsed = JSON.parse(text) as { result?: unknown; code?: string; message?: string; errors?: { code?: string; message?: string }[] };
      if (status !== 200) {
        // The specific cause (eval_conflict_error, …) is in `errors`; `code` is only internal_error.
        const e = parsed.errors?.[0] ?? parsed;
        return { error: `${e.code ?? status}: ${e.message ?? text}`.slice(0, 300) };
      }
      return 'result' in parsed ? { result: parsed.result } : { undefined: true };
    },
    async stop() {
      await pool.close();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `refused`: the gateway refuses the input itself (400 WG_ERR_MALFORMED_BODY), so neither engine decides. */
export type Verdict = 'unsafe' | 'miss' | 'agree' | 'refused';

export interface Decided {
  input: unknown;
  opa: OpaVerdict;
  residual: ResidualOutcome;
  verdict: Exclude<Verdict, 'refused'>;
}

export type Comparison = Decided | { input: unknown; verdict: 'refused'; reason: string };

/**
 * What the gateway does with an input before either engine sees it (src/decision/input-value.ts): normalise it
 * in place (`-0` → 0, …) or refuse it (non-finite numbers, lone surrogates, integers beyond 2^53 …).
 */
function admit(input: unknown): string | undefined {
  try {
    checkPolicyInput(input);
    return undefined;
  } catch (err) {
    if (err instanceof WritegateError) return err.message;
    throw err;
  }
}

export interface PolicyCheck {
  /** OPA refused the policy (parse or compile error): nothing compared. */
  rejected?: string;
  /** `compiled`, or why the residual is not used for this path (`not compilable: …`, `refresh failed: …`). */
  residual: string;
  comparisons: Comparison[];
}

/** The residual's outcome, treating an engine exception as the gateway does (src/gate.ts: a fallback). */
function evaluate(engine: ResidualEngine, path: string, input: unknown): ResidualOutcome {
  try {
    return engine.evaluate(path, input);
  } catch (err) {
    return { outcome: 'fallback', reason: `residual error: ${(err as Error).message}` };
  }
}

export function classify(opa: OpaVerdict, residual: ResidualOutcome): Decided['verdict'] {
  const clean = cleanAllow(opa);
  if (residual.outcome === 'allow' && !clean) return 'unsafe';
  if (residual.outcome !== 'allow' && clean) return 'miss';
  return 'agree';
}

let policySeq = 0;

/** Loads one policy, compiles its residual as the gateway would, and decides every input with both engines. */
export async function checkPolicy(opa: FuzzOpa, text: string, path: string, inputs: unknown[]): Promise<PolicyCheck> {
  const id = `fuzz-${process.pid}-${policySeq++}`;
  const rejected = await opa.put(id, text);
  if (rejected !== undefined) return { rejected, residual: 'rejected', comparisons: [] };
  let refreshError: string | undefined;
  const engine = new ResidualEngine({
    client: residualOpaClient(opa.url),
    pollIntervalMs: 3_600_000,
    onEvent: (e) => {
      if (e.event === 'refresh_failed') refreshError = e.error;
    },
  });
  try {
    await engine.start([path]);
    const state = engine.residual(path);
    const residual = state === undefined ? `refresh failed: ${refreshError ?? '?'}` : state.reason !== undefined ? `not compilable: ${state.reason}` : 'compiled';
    const refusals = inputs.map(admit);
    const opaVerdicts = await Promise.all(inputs.map((x, i) => (refusals[i] === undefined ? opa.data(path, x) : undefined)));
    const comparisons = inputs.map((input, i): Comparison => {
      const verdict = opaVerdicts[i];
      if (verdict === undefined) return { input, verdict: 'refused', reason: refusals[i]! };
      const local = evaluate(engine, path, input);
      return { input, opa: verdict, residual: local, verdict: classify(verdict, local) };
    });
    return { residual, comparisons };
  } finally {
    engine.stop();
    await opa.remove(id);
  }
}

/* ------------------------------------------------------------------ minimising a finding */

function without<T>(xs: T[], i: number): T[] {
  return [...xs.slice(0, i), ...xs.slice(i + 1)];
}

/**
 * Smaller variants of a policy: one rule, one `else` part, one body literal or one field of the decision object
 * fewer (so that the `deny`/`warn` rules it names can go too).
 */
function policyShrinks(p: PolicySrc): PolicySrc[] {
  const out: PolicySrc[] = [];
  p.rules.forEach((rule, ri) => {
    out.push({ ...p, rules: without(p.rules, ri) });
    const fields = /^decision := \{(.*)\}$/.exec(rule.clauses[0]!.head)?.[1]?.split(', ') ?? [];
    fields.forEach((_, fi) => {
      const head = `decision := {${without(fields, fi).join(', ')}}`;
      out.push({ ...p, rules: p.rules.map((r, j) => (j === ri ? { clauses: [{ head, body: [] }] } : r)) });
    });
    rule.clauses.forEach((clause, ci) => {
      if (ci > 0) out.push({ ...p, rules: p.rules.map((r, j) => (j === ri ? { clauses: without(r.clauses, ci) } : r)) });
      clause.body.forEach((_, li) => {
        const clauses = rule.clauses.map((c, k) => (k === ci ? { ...c, body: without(c.body, li) } : c));
        out.push({ ...p, rules: p.rules.map((r, j) => (j === ri ? { clauses } : r)) });
      });
    });
  });
  return out;
}

/** Smaller variants of an input: one object key or array element fewer, at any depth up to 2. */
function inputShrinks(v: unknown, depth = 0): unknown[] {
  if (depth > 2) return [];
  if (Array.isArray(v)) {
    return [...v.map((_, i) => without(v, i)), ...v.flatMap((x, i) => inputShrinks(x, depth + 1).map((s) => v.map((y, j) => (j === i ? s : y))))];
  }
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    return [
      ...entries.map((_, i) => jsonObject(without(entries, i))),
      ...entries.flatMap(([k, x], i) => inputShrinks(x, depth + 1).map((s) => jsonObject(entries.map((e, j) => (j === i ? [k, s] : e))))),
    ];
  }
  return [];
}

async function stillUnsafe(opa: FuzzOpa, p: PolicySrc, input: unknown): Promise<Decided | undefined> {
  const check = await checkPolicy(opa, renderPolicy(p), p.path, [input]);
  const c = check.comparisons[0];
  return c?.verdict === 'unsafe' ? c : undefined;
}

/** Greedy delta debugging: drop rules, `else` parts, literals and input parts while the unsafe allow remains. */
export async function minimise(opa: FuzzOpa, p: PolicySrc, input: unknown, budget = 400): Promise<{ policy: PolicySrc; input: unknown; comparison: Decided } | undefined> {
  let best = await stillUnsafe(opa, p, input);
  if (!best) return undefined;
  let policy = p;
  let attempts = 0;
  for (let changed = true; changed && attempts < budget; ) {
    changed = false;
    for (const cand of policyShrinks(policy)) {
      if (attempts++ >= budget) break;
      const c = await stillUnsafe(opa, cand, input);
      if (c) {
        policy = cand;
        best = c;
        changed = true;
        break;
      }
    }
    if (changed) continue;
    for (const cand of inputShrinks(input)) {
      if (attempts++ >= budget) break;
      const c = await stillUnsafe(opa, policy, cand);
      if (c) {
        input = cand;
        best = c;
        changed = true;
        break;
      }
    }
  }
  return { policy, input, comparison: best };
}

/* ------------------------------------------------------------------ runs */

export interface Finding {
  seed: number;
  policyIndex: number;
  inputIndex: number;
  path: string;
  policy: string;
  input: unknown;
  opa: OpaVerdict;
  residual: ResidualOutcome;
  /** Minimised by {@link minimise}, when asked. */
  minimal?: { policy: string; input: unknown; opa: OpaVerdict; residual: ResidualOutcome };
}

export interface FuzzTotals {
  policies: number;
  rejected: number;
  compiled: number;
  notCompiled: Record<string, number>;
  inputs: number;
  /** Inputs the gateway refuses before deciding (src/decision/input-value.ts). */
  refusedInputs: number;
  comparisons: number;
  localAllows: number;
  opaCleanAllows: number;
  unsafeAllows: number;
  misses: number;
  /** Policies with at least one unsafe allow. */
  unsafePolicies: number;
  /** Per decision shape: how many policies compiled, and the comparisons and local allows on them. */
  byShape: Record<Shape, { policies: number; compiled: number; comparisons: number; localAllows: number; unsafeAllows: number }>;
  ms: number;
}

export interface FuzzOptions {
  seed: number;
  policies: number;
  inputs: number;
  /** First policy index (policies `first … first + policies - 1`). */
  first?: number;
  /** Stop starting new policies after this many ms. */
  timeLimitMs?: number;
  /** Minimise the first unsafe allow of each policy, for at most this many policies (default 0). */
  minimise?: number;
  onFinding?: (f: Finding) => void | Promise<void>;
  onRejected?: (index: number, message: string) => void;
  onProgress?: (t: FuzzTotals) => void;
}

/** Reason labels bounded for the totals: the part before the first detail. */
function reasonLabel(r: string): string {
  return r.replace(/: data\.[^ ]*$/, '').replace(/(unsupported builtin|nondeterministic builtin|refresh failed): .*/, '$1').slice(0, 80);
}

export async function runFuzz(opa: FuzzOpa, o: FuzzOptions): Promise<FuzzTotals> {
  const t0 = Date.now();
  const totals: FuzzTotals = {
    policies: 0, rejected: 0, compiled: 0, notCompiled: {}, inputs: 0, refusedInputs: 0, comparisons: 0, localAllows: 0,
    opaCleanAllows: 0, unsafeAllows: 0, misses: 0, unsafePolicies: 0, ms: 0,
    byShape: {
      boolean: { policies: 0, compiled: 0, comparisons: 0, localAllows: 0, unsafeAllows: 0 },
      object: { policies: 0, compiled: 0, comparisons: 0, localAllows: 0, unsafeAllows: 0 },
      package: { policies: 0, compiled: 0, comparisons: 0, localAllows: 0, unsafeAllows: 0 },
    },
  };
  const first = o.first ?? 0;
  for (let index = first; index < first + o.policies; index++) {
    if (o.timeLimitMs !== undefined && Date.now() - t0 > o.timeLimitMs) break;
    const policy = generatePolicy(o.seed, index);
    const text = renderPolicy(policy);
    const inputs = Array.from({ length: o.inputs }, (_, j) => generateInput(o.seed, index, j));
    const check = await checkPolicy(opa, text, policy.path, inputs);
    totals.policies++;
    if (check.rejected !== undefined) {
      totals.rejected++;
      o.onRejected?.(index, check.rejected);
      continue;
    }
    const shape = totals.byShape[policy.shape];
    shape.policies++;
    if (check.residual === 'compiled') {
      totals.compiled++;
      shape.compiled++;
    }
    else totals.notCompiled[reasonLabel(check.residual)] = (totals.notCompiled[reasonLabel(check.residual)] ?? 0) + 1;
    let reported = false;
    for (const [j, c] of check.comparisons.entries()) {
      totals.inputs++;
      if (c.verdict === 'refused') {
        totals.refusedInputs++;
        continue;
      }
      totals.comparisons++;
      shape.comparisons++;
      if (c.residual.outcome === 'allow') {
        totals.localAllows++;
        shape.localAllows++;
      }
      if (cleanAllow(c.opa)) totals.opaCleanAllows++;
      if (c.verdict === 'miss') totals.misses++;
      if (c.verdict !== 'unsafe') continue;
      totals.unsafeAllows++;
      shape.unsafeAllows++;
      if (reported) continue;
      // One finding per policy: the first unsafe input (the others are usually the same cause).
      reported = true;
      totals.unsafePolicies++;
      const finding: Finding = { seed: o.seed, policyIndex: index, inputIndex: j, path: policy.path, policy: text, input: c.input, opa: c.opa, residual: c.residual };
      if (totals.unsafePolicies <= (o.minimise ?? 0)) {
        const m = await minimise(opa, policy, c.input);
        if (m) finding.minimal = { policy: renderPolicy(m.policy), input: m.input, opa: m.comparison.opa, residual: m.comparison.residual };
      }
      await o.onFinding?.(finding);
    }
    totals.ms = Date.now() - t0;
    o.onProgress?.(totals);
  }
  totals.ms = Date.now() - t0;
  return totals;
}

/* ------------------------------------------------------------------ reporting */

/** A regression case: what `fuzz-regressions.test.ts` replays. */
export interface RegressionCase {
  /** What the case shows, written by whoever triaged it (absent in freshly saved cases). */
  note?: string;
  /** How it was found: `npm run fuzz -- --seed S --only N`. */
  found: string;
  path: string;
  policy: string;
  /** The JS input the gateway would hold, with non-JSON numbers tagged (codec.ts). */
  input: unknown;
  /** What OPA received: `JSON.stringify(input)`. */
  opaInput: string;
  /** OPA's and the residual's answers when found. */
  opa: OpaVerdict;
  residual: ResidualOutcome;
}

export function regressionCase(f: Finding): RegressionCase {
  const m = f.minimal;
  const input = m ? m.input : f.input;
  return {
    found: `npm run fuzz -- --seed ${f.seed} --only ${f.policyIndex}`,
    path: f.path,
    policy: m ? m.policy : f.policy,
    input: encodeValue(input),
    opaInput: JSON.stringify(input),
    opa: m ? m.opa : f.opa,
    residual: m ? m.residual : f.residual,
  };
}

/**
 * A coarse class key for a minimised finding: the policy with its package line dropped and literals, input
 * refs, comparison operators and generated names abstracted, so that `not input.s < "a"` and
 * `not input.n != 1` count once. Regression files are named by it.
 */
export function findingClass(policy: string): string {
  return policy
    .replace(/^package .*$/m, '')
    .replace(/"(?:[^"\\]|\\.)*"/g, 'L')
    .replace(/input(\.[A-Za-z_]\w*|\[[^\]]*\])*/g, 'I')
    .replace(/\b([a-z]+)\d+\b/g, '$1')
    .replace(/-?\b\d[\d.e+-]*/g, 'L')
    .replace(/\b(true|false|null)\b|\[\]|\{\}|set\(\)/g, 'L')
    .replace(/==|!=|<=|>=|<|>/g, 'OP')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A first guess at which of issue 7's classes a finding belongs to, from what its minimised policy and input
 * contain (for routing; the coordinator decides).
 */
export function guessClass(c: RegressionCase): string {
  const tags: string[] = [];
  const p = c.policy.replace(/^package .*$/m, '');
  if ('error' in c.opa && /conflict/.test(c.opa.error)) tags.push('2 conflict');
  if (/(^|\s)not\s/.test(p)) tags.push('1 not over an undefined/wrong-type operand');
  const result = 'result' in c.opa ? c.opa.result : undefined;
  const nullField = typeof result === 'object' && result !== null && Object.values(result).some((v) => v === null);
  if (/object\.get/.test(p) || nullField) tags.push('3 object.get with a null value');
  if (/1e-400|0\.99999999999999999|3e-324|1e308|1e400|900719925474099[23]|8080\.0/.test(p)) tags.push('4 number literal');
  if (/sprintf/.test(p)) tags.push('5 sprintf');
  if (/__proto__|constructor|toString/.test(p + c.opaInput)) tags.push('6 __proto__ keys');
  if (/\\ud[89ab]/i.test(p + c.opaInput)) tags.push('7 lone surrogate');
  if (JSON.stringify(c.input).includes('$number')) tags.push('8 non-finite number or -0');
  if (/ else /.test(p)) tags.push('else');
  if (/ with /.test(p)) tags.push('with');
  return tags.length > 0 ? tags.join(', ') : 'unclassified';
}

/* ------------------------------------------------------------------ neighbours of saved cases */

export interface MutantTotals {
  cases: number;
  policies: number;
  /** Mutants OPA refuses (a changed operator or literal can make a type error). */
  rejected: number;
  comparisons: number;
  localAllows: number;
  unsafeAllows: number;
}

/**
 * Decides mutants of each saved case (mutate.ts) on the case's input, its one-field variants and fresh inputs;
 * calls `onFinding` with a ready-made regression case for every mutant that is an unsafe allow (its first input).
 */
export async function runMutants(
  opa: FuzzOpa,
  cases: { name: string; case: RegressionCase }[],
  o: { seed: number; mutants: number; freshInputs: number; onFinding?: (c: RegressionCase) => void },
): Promise<MutantTotals> {
  const totals: MutantTotals = { cases: 0, policies: 0, rejected: 0, comparisons: 0, localAllows: 0, unsafeAllows: 0 };
  for (const [i, { name, case: c }] of cases.entries()) {
    totals.cases++;
    for (const policy of [c.policy, ...policyMutants(c.policy, o.seed + i, o.mutants)]) {
      totals.policies++;
      const check = await checkPolicy(opa, policy, c.path, inputMutants(decodeValue(c.input), o.seed + i, o.freshInputs));
      if (check.rejected !== undefined) {
        totals.rejected++;
        continue;
      }
      let reported = false;
      for (const cmp of check.comparisons) {
        if (cmp.verdict === 'refused') continue;
        totals.comparisons++;
        if (cmp.residual.outcome === 'allow') totals.localAllows++;
        if (cmp.verdict !== 'unsafe') continue;
        totals.unsafeAllows++;
        if (reported) continue;
        reported = true;
        o.onFinding?.({
          found: `mutant of ${name}`,
          path: c.path,
          policy,
          input: encodeValue(cmp.input),
          opaInput: JSON.stringify(cmp.input),
          opa: cmp.opa,
          residual: cmp.residual,
        });
      }
    }
  }
  return totals;
}
