/**
 * The residual engine: per decision path, asks OPA's Compile API for the residual of "this decision allows
 * with no deny and no warn violations", compiles it into a predicate, and answers only the safe case locally.
 *
 * Revision detection (measured on OPA 1.22.3, see README.md): the residual itself is the fingerprint. Every
 * poll re-requests the compile responses for the active paths (`POST /v1/compile` is not decision-logged,
 * v1/server/server.go v1CompilePost) and hashes their bytes; the hash is the revision. A change in policies or
 * data that alters what this gateway would evaluate necessarily alters the residual, whatever its source
 * (Policy API, Data API, bundles, `--watch` reloads, an OPA restart), and a change that does not alter it is
 * irrelevant. Cheaper signals were tried and rejected: `GET /v1/policies` misses data changes; the
 * `http_request_duration_seconds{handler="v1/data",method="put"}` counter in `/metrics` misses file and bundle
 * reloads; `GET /v1/data` would be decision-logged once per poll.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { OpaClient } from '../opa/client.js';
import { dataRefOf, inliningPlan, pathPlan, type InliningPlan, type PathPlan } from './analysis.js';
import { parseCompileResponse, type CompileRequestV1, type Module } from './ast.js';
import { compileResidual, FORCE_MARKER, isNotCompilable, ResidualUnsupported, type CompiledResidual } from './compile.js';

export { inliningPlan, pathPlan, type InliningPlan } from './analysis.js';

/** The two OPA calls the engine needs, returning raw response bodies (hashing needs the exact bytes). */
export interface ResidualOpaClient {
  /** `POST /v1/compile` with `request` as JSON; resolves to the status and body; rejects on network errors. */
  compile(request: CompileRequestV1): Promise<{ status: number; body: string }>;
  /** `GET /v1/policies`; resolves to the response body. */
  policies(): Promise<string>;
}

export interface ResidualEngineOptions {
  client: ResidualOpaClient;
  /** How often to re-check every active path's residual (ms). Default 500, so a change is seen within 1 s. */
  pollIntervalMs?: number;
  /** Compiled residuals kept, keyed by (path, revision). Default 64. */
  cacheSize?: number;
  /** Observability hook: a compile outcome or a poll failure, for the app log. */
  onEvent?: (event: ResidualEngineEvent) => void;
}

export type ResidualEngineEvent =
  | { event: 'compiled'; path: string; revision: string }
  | { event: 'not_compilable'; path: string; revision: string; reason: string }
  | { event: 'refresh_failed'; path: string; error: string };

export type ResidualOutcome = { outcome: 'allow'; revision: string } | { outcome: 'fallback'; reason: string };

export interface ResidualCounters {
  /** Evaluations answered by a compiled residual (allow or residual-false). */
  hits: number;
  /** Evaluations with no usable residual for the path (not compiled yet, or its revision could not be checked). */
  misses: number;
  /** Compile API responses turned into predicates (or refused). */
  compiles: number;
  /** Decisions handed to OPA's Data API, by reason. */
  fallbacks: Record<string, number>;
}

interface Entry {
  revision: string;
  compiled: CompiledResidual | { reason: string };
}

/**
 * The compile queries for a decision path `a/b/c` (data ref `data.a.b.c`). OPA's decision at that path counts
 * as "allowed with no violations" when the result is `true`, or an object whose `allow` is absent or `true`
 * and whose `deny` and `warn` are absent or empty arrays/sets. Rego bodies are conjunctions, so the two shapes
 * are two queries and the predicate is their disjunction (a value cannot be both `true` and an object).
 * `deny`/`warn` must be collections: `count` also accepts strings and objects, which are excluded explicitly.
 * A path that names a package gets {@link packageQueries} instead.
 */
export function decisionQueries(path: string, plan: PathPlan = { kind: 'rule', others: [], force: [], shapes: {} }): string[] {
  const force = plan.force.filter((r) => !plan.others.includes(r)).map(evaluated);
  if (plan.kind === 'package') return packageQueries(path, plan).map((q) => [q, ...force].join('; '));
  const ref = dataRef(path);
  return [
    [`${ref} == true`, ...force].join('; '),
    [
      `__wg_x := ${ref}`,
      'is_object(__wg_x)',
      'object.get(__wg_x, "allow", true) == true',
      emptyCollection('__wg_d', 'object.get(__wg_x, "deny", [])'),
      emptyCollection('__wg_w', 'object.get(__wg_x, "warn", [])'),
      ...force,
    ].join('; '),
  ];
}

/**
 * Evaluates the rule `r` whatever its value, so that a conflict in `r` is raised: `not r = input.__wg_force__`
 * holds whether `r` is undefined or not, since the gateway's input has no such field (its top-level keys are
 * the gateway's own). A unification under `not` keeps its whole-ref operands in place (OPA's rewriteDynamics),
 * and an input ref type-checks against any type. The evaluator knows the marker (compile/bodies.ts).
 */
const evaluated = (r: string): string => `not ${r} = input.${FORCE_MARKER}`;

const emptyCollection = (v: string, value: string): string =>
  `${v} := ${value}; count(${v}) == 0; not is_string(${v}); not is_object(${v})`;

/**
 * A package path's decision is the package object (every rule of the package and of its subpackages, merged
 * with base data), whose `allow`, `deny` and `warn` the gate reads (src/decision/normalize.ts). Partial
 * evaluation cannot fold a whole package (it leaves `data.a.b.c` in the residual), so the queries name the
 * three rules: `allow` absent or `true`, `deny` and `warn` absent or empty arrays/sets. "Absent" is
 * `not R; not R = false` (a term or a unification under `not` is not hoisted by OPA's compiler, so an
 * undefined `R` makes both hold; `false` fails the second). Each variant that the rule's shape allows is one
 * query. The package object exists only if every rule in it evaluates without error (a conflict in any
 * helper fails the Data API call), so each other rule is {@link evaluated} too (one that may conflict is kept
 * as a support rule, see analysis.ts, so the evaluator checks it).
 */
function packageQueries(path: string, plan: PathPlan): string[] {
  const ref = dataRef(path);
  const absent = (r: string): string => `not ${r}; not ${r} = false`;
  const variants = (field: 'allow' | 'deny' | 'warn'): string[] => {
    const r = `${ref}.${field}`;
    const shape = plan.shapes[field];
    const present = field === 'allow' ? `${r} == true` : emptyCollection(`__wg_${field[0]}`, r);
    if (shape === undefined) return [absent(r)];
    if (shape === 'default' || (shape === 'set' && field !== 'allow')) return [present];
    return [present, absent(r)];
  };
  const others = plan.others.map(evaluated);
  const out: string[] = [];
  for (const a of variants('allow')) {
    for (const d of variants('deny')) {
      for (const w of variants('warn')) out.push([a, d, w, ...others].join('; '));
    }
  }
  return out;
}

function dataRef(path: string): string {
  return dataRefOf(path.split('/').filter((s) => s !== ''));
}

export function compileRequests(path: string, plan: InliningPlan): CompileRequestV1[] {
  return decisionQueries(path, pathPlan(plan, path)).map((query) => ({
    query,
    unknowns: ['input'],
    options: { disableInlining: plan.disableInlining },
  }));
}

/** Merges the per-query responses into one residual: the union of their query bodies and support modules. */
export function mergeCompileResponses(bodies: string[]): ReturnType<typeof parseCompileResponse> {
  const queries = [];
  const support: Module[] = [];
  for (const b of bodies) {
    const r = parseCompileResponse(b);
    queries.push(...(r.result?.queries ?? []));
    support.push(...(r.result?.support ?? []));
  }
  return { result: { queries, support: dedupeModules(support) } };
}

/** Both queries produce the same support rules for shared helpers; keep one copy of each identical rule. */
function dedupeModules(mods: Module[]): Module[] {
  const byPkg = new Map<string, { module: Module; seen: Set<string> }>();
  for (const m of mods) {
    const key = JSON.stringify(m.package.path);
    let slot = byPkg.get(key);
    if (!slot) {
      slot = { module: { package: m.package, rules: [] }, seen: new Set() };
      byPkg.set(key, slot);
    }
    for (const r of m.rules ?? []) {
      const rk = JSON.stringify(r);
      if (slot.seen.has(rk)) continue;
      slot.seen.add(rk);
      slot.module.rules!.push(r);
    }
  }
  return [...byPkg.values()].map((s) => s.module);
}

const NEVER = '{"result":{}}';

/**
 * The response body of one compile query. A 400 whose errors are all `rego_type_error` means the type checker
 * proved the query cannot hold for the decision's type (e.g. `data.p == true` when `p` is always an object):
 * that shape is never true, the same as OPA's `{"result": {}}`. Any other failure is an error.
 */
export async function compileBody(client: ResidualOpaClient, req: CompileRequestV1): Promise<string> {
  const { status, body } = await client.compile(req);
  if (status === 200) return body;
  if (status === 400) {
    const parsed = JSON.parse(body) as { errors?: { code?: string }[] };
    if (parsed.errors && parsed.errors.length > 0 && parsed.errors.every((e) => e.code === 'rego_type_error')) {
      return NEVER;
    }
  }
  throw new Error(`OPA /v1/compile answered ${status}: ${body.slice(0, 200)}`);
}

export class ResidualEngine {
  readonly counters: ResidualCounters = { hits: 0, misses: 0, compiles: 0, fallbacks: {} };
  private readonly client: ResidualOpaClient;
  private readonly interval: number;
  private readonly cache: LRUCache<string, Entry>;
  private readonly onEvent: (event: ResidualEngineEvent) => void;
  /** The residual in force per path; absent while unknown (never compiled, or OPA could not be asked). */
  private readonly current = new Map<string, Entry>();
  private readonly paths = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  /** Bumped by invalidate(): a poll that started earlier must not install what it fetched. */
  private epoch = 0;
  /** The last `GET /v1/policies` body and the plan made from it. */
  private planned: { policies: string; plan: InliningPlan } | undefined;
  /** Per path, revisions whose residual OPA contradicted (see switchOff); forgotten once another revision is in force. */
  private readonly switchedOff = new Map<string, Set<string>>();

  constructor(options: ResidualEngineOptions) {
    this.client = options.client;
    this.interval = options.pollIntervalMs ?? 500;
    this.cache = new LRUCache({ max: options.cacheSize ?? 64 });
    this.onEvent = options.onEvent ?? (() => undefined);
  }

  /** Registers decision paths, compiles them now, and starts polling (the timer does not hold the process). */
  async start(paths: string[] = []): Promise<void> {
    for (const p of paths) this.paths.add(p);
    await this.refresh();
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.interval);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Forgets every residual in force (requests fall back to the Data API until recompiled) and recompiles now.
   * Call after writegate itself changes policies or data.
   */
  async invalidate(): Promise<void> {
    this.epoch++;
    this.current.clear();
    await this.refresh(true);
  }

  /** The residual in force for a path, for `writegate explain`. */
  residual(path: string): { revision: string; text?: string; reason?: string } | undefined {
    const e = this.current.get(path);
    if (!e) return undefined;
    return isNotCompilable(e.compiled)
      ? { revision: e.revision, reason: e.compiled.reason }
      : { revision: e.revision, text: e.compiled.text };
  }

  /** Decides locally only when the residual allows; every other case is a fallback to OPA's Data API. */
  evaluate(path: string, input: unknown): ResidualOutcome {
    const e = this.current.get(path);
    if (!e) {
      this.counters.misses++;
      if (!this.paths.has(path)) {
        this.paths.add(path);
        void this.refresh();
      }
      return this.fallback('no residual');
    }
    if (isNotCompilable(e.compiled)) return this.fallback(`not compilable: ${e.compiled.reason}`);
    const off = this.switchedOff.get(path);
    if (off?.has(e.revision)) return this.fallback('verification mismatch');
    if (off) this.switchedOff.delete(path);
    this.counters.hits++;
    try {
      if (e.compiled.predicate(input)) return { outcome: 'allow', revision: e.revision };
      return this.fallback('residual false');
    } catch (err) {
      if (err instanceof ResidualUnsupported) return this.fallback(`runtime: ${err.reason}`);
      throw err;
    }
  }

  /**
   * Stops deciding `path` locally while its revision is `revision`: OPA's Data API contradicted an allow of this
   * residual (src/decision/verify.ts). Every request on the path goes to OPA until the policy or data change and
   * the poll installs another revision, whose residual is then trusted (and verified) afresh.
   */
  switchOff(path: string, revision: string): void {
    // A residual already replaced by another revision is no longer in force; the one in force is verified on its own.
    const e = this.current.get(path);
    if (e && e.revision !== revision) return;
    const off = this.switchedOff.get(path) ?? new Set<string>();
    off.add(revision);
    this.switchedOff.set(path, off);
  }

  private fallback(reason: string): ResidualOutcome {
    this.counters.fallbacks[reason] = (this.counters.fallbacks[reason] ?? 0) + 1;
    return { outcome: 'fallback', reason };
  }

  /** One poll; concurrent callers share it, and a forced call runs after any poll already in flight. */
  private refresh(force = false): Promise<void> {
    if (this.inFlight && !force) return this.inFlight;
    const tracked: Promise<void> = (this.inFlight ?? Promise.resolve())
      .then(() => this.poll())
      .finally(() => {
        if (this.inFlight === tracked) this.inFlight = undefined;
      });
    this.inFlight = tracked;
    return tracked;
  }

  private async poll(): Promise<void> {
    if (this.paths.size === 0) return;
    const epoch = this.epoch;
    let plan: InliningPlan;
    try {
      const policies = await this.client.policies();
      // The plan costs ≈ 10 ms for the shipped library (163 KB of compiled modules); policies rarely change.
      if (this.planned?.policies !== policies) this.planned = { policies, plan: inliningPlan(policies) };
      plan = this.planned.plan;
    } catch (err) {
      for (const path of this.paths) this.fail(path, err);
      return;
    }
    await Promise.all([...this.paths].map((path) => this.refreshPath(path, plan, epoch)));
  }

  private async refreshPath(path: string, plan: InliningPlan, epoch: number): Promise<void> {
    let bodies: string[];
    try {
      bodies = await Promise.all(compileRequests(path, plan).map((r) => compileBody(this.client, r)));
    } catch (err) {
      this.fail(path, err);
      return;
    }
    if (epoch !== this.epoch) return;
    const revision = createHash('sha256').update(JSON.stringify(plan)).update(bodies.join('\n')).digest('hex').slice(0, 16);
    if (this.current.get(path)?.revision === revision) return;
    const key = `${path}\u0000${revision}`;
    let entry = this.cache.get(key);
    if (!entry) {
      this.counters.compiles++;
      let compiled: Entry['compiled'];
      try {
        const forPath = pathPlan(plan, path);
        compiled = forPath.unsafe
          ? { reason: forPath.unsafe }
          : compileResidual(mergeCompileResponses(bodies), { guarded: forPath.guarded !== undefined });
        if (!isNotCompilable(compiled) && forPath.guarded) {
          // `writegate explain` shows why an undefined operand under `not` goes to OPA (README "Negation").
          compiled = { ...compiled, text: `# guarded negation: ${forPath.guarded} may have lost a binding\n${compiled.text}` };
        }
      } catch (err) {
        compiled = { reason: `bad compile response: ${(err as Error).message}` };
      }
      entry = { revision, compiled };
      this.cache.set(key, entry);
      if (isNotCompilable(compiled)) this.onEvent({ event: 'not_compilable', path, revision, reason: compiled.reason });
      else this.onEvent({ event: 'compiled', path, revision });
    }
    this.current.set(path, entry);
  }

  /** A residual whose revision cannot be confirmed is not used (OPA may have changed meanwhile). */
  private fail(path: string, err: unknown): void {
    this.current.delete(path);
    this.onEvent({ event: 'refresh_failed', path, error: (err as Error).message ?? String(err) });
  }
}

/** A {@link ResidualOpaClient} for an OPA at `baseUrl` (e.g. `http://127.0.0.1:8181`): the gateway's one OPA client. */
export function residualOpaClient(baseUrl: string, timeoutMs = 2000): ResidualOpaClient {
  return new OpaClient({ url: baseUrl, timeoutMs });
}
