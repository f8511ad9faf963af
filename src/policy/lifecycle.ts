/**
 * The policy lifecycle from Git to OPA, shared by `writegate policy` and the gateway's admin API
 * (routes/admin.ts): plan, push (tested, checked and, for protected packages, approved), drift and its fix.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isWritegateError } from '../errors.js';
import type { DriftEvent, Notifier } from '../notify/index.js';
import { projectRoot } from '../opa/binary.js';
import type { OpaClient } from '../opa/client.js';
import type { ErrorV1 } from '../opa/types.js';
import { formatProblems, parsePackages, runCheck, runTests, type CheckReport, type Problem, type TestReport } from './opa-cli.js';
import { makePlan, sha256, type BundleRoots, type Change, type Plan } from './plan.js';
import { fetchSource, type SourceTree } from './source.js';

/** Where a push records the live revision (`data.writegate.meta`), read back by plan and drift. */
const META_PATH = 'writegate/meta';

/** Where Git sources are fetched unless told otherwise: `.work/` of the project folder (ignored by Git). */
export const defaultCache = (): string => join(projectRoot(), '.work', 'policy-cache');
export const defaultPushLog = (): string => join(projectRoot(), '.work', 'policy-push.log');

export interface LifecycleOptions {
  source: string;
  ref?: string;
  cache: string;
  opa: OpaClient;
  /** Protected package prefixes. */
  protect: string[];
}

export interface PushOptions extends LifecycleOptions {
  /** The plan hash a reviewer approved. */
  approve?: string;
  /** Minimum `opa test` coverage in percent. */
  threshold?: number;
  /** JSON lines file: one record per push attempt. */
  pushLog: string;
}

export type RefusalReason = 'check_failed' | 'tests_failed' | 'approval_required' | 'approval_mismatch' | 'bundle_conflict' | 'opa_changed' | 'opa_refused';

/** A push that did not happen (or was rolled back): why, with the details to show. */
export class PolicyRefusal extends Error {
  constructor(readonly reason: RefusalReason, message: string, readonly problems: Problem[] = []) {
    super(message);
    this.name = 'PolicyRefusal';
  }
}

export interface PushResult {
  outcome: 'pushed' | 'unchanged';
  plan: Plan;
  check: CheckReport;
  tests: TestReport;
  /** Whether the live revision was recorded in `data.writegate.meta`, or why it could not be. */
  meta: { recorded: boolean; error?: string };
}

export interface DriftReport {
  inSync: boolean;
  plan: Plan;
  /** In Git, not in OPA. */
  missing: string[];
  /** In OPA (uploaded through the Policy API), not in Git. */
  extra: string[];
  changed: string[];
  /** With `--fix`, on drift: the push that reconciled OPA with Git, and whether a second look found them in sync. */
  fix?: { push: PushResult; inSync: boolean };
  /** With `--notify`, on drift: whether the webhook took the message. */
  notified?: { ok: boolean; error?: string };
}

interface Loaded {
  tree: SourceTree;
  plan: Plan;
}

async function bundleRoots(opa: OpaClient): Promise<BundleRoots> {
  const bundles = (await opa.getData('system/bundles')) as Record<string, { manifest?: { roots?: string[] } }> | undefined;
  return Object.fromEntries(Object.entries(bundles ?? {}).map(([name, b]) => [name, b.manifest?.roots ?? ['']]));
}

async function liveRevision(opa: OpaClient): Promise<string | undefined> {
  const meta = (await opa.getData(META_PATH)) as { revision?: unknown } | undefined;
  return typeof meta?.revision === 'string' ? meta.revision : undefined;
}

/**
 * The source's tree. One without modules is refused: planned against OPA, it would remove every uploaded module,
 * and it is far more likely a wrong --source or --ref than an intent.
 */
async function source(options: LifecycleOptions): Promise<SourceTree> {
  const tree = await fetchSource({ source: options.source, cache: options.cache, ...(options.ref !== undefined ? { ref: options.ref } : {}) });
  if (tree.modules.length === 0) throw new Error(`no .rego modules in ${tree.source} at ${tree.ref} (${tree.commit.slice(0, 12)}); nothing to plan from`);
  return tree;
}

/**
 * Reads each module's package (`opa parse`) and compares the tree with what OPA has loaded. A push passes the
 * tree it tested and the packages its check read, so that what was tested is what is planned and pushed.
 */
async function load(options: LifecycleOptions, tested?: { tree: SourceTree; packages: Record<string, string> }): Promise<Loaded> {
  const tree = tested?.tree ?? await source(options);
  let packages = tested?.packages;
  if (!packages) {
    const parsed = await parsePackages(tree.dir, tree.modules.map((m) => m.id));
    if (!parsed.ok) throw new PolicyRefusal('check_failed', `modules do not parse:\n${formatProblems(parsed.errors)}`, parsed.errors);
    packages = parsed.packages;
  }
  const known = packages;
  const [live, bundles, revision] = await Promise.all([options.opa.listPolicies(), bundleRoots(options.opa), liveRevision(options.opa)]);
  const plan = await makePlan({
    source: tree.source, ref: tree.ref, revision: tree.commit, dirty: tree.dirty, opa: options.opa.url,
    ...(revision !== undefined ? { liveRevision: revision } : {}),
    git: tree.modules.map((m) => ({ ...m, package: known[m.id]! })), live, bundles, protect: options.protect,
  });
  return { tree, plan };
}

export async function plan(options: LifecycleOptions): Promise<Plan> {
  return (await load(options)).plan;
}

/**
 * `opa check --strict` and `opa test` on the Git tree, the plan, the approval and bundle checks, then the uploads
 * and deletes through the Policy API, the live revision in `data.writegate.meta` and a push-log record. Refusals
 * throw {@link PolicyRefusal} (and are logged too).
 */
export async function push(options: PushOptions): Promise<PushResult> {
  const started = new Date().toISOString();
  // A push whose record could not be written must not happen: the log is opened before anything else.
  record(options.pushLog);
  let loaded: Loaded | undefined;
  try {
    const tree = await source(options);
    const files = [...tree.modules.map((m) => m.id), ...tree.tests];
    const check = await runCheck(tree.dir, files, tree.modules.map((m) => m.id));
    if (!check.ok) throw new PolicyRefusal('check_failed', `opa check failed:\n${formatProblems(check.errors)}`, check.errors);
    const tests = await runTests(tree.dir, files, options.threshold);
    if (!tests.ok) throw new PolicyRefusal('tests_failed', `opa test failed:\n${formatProblems(tests.failures)}`, tests.failures);
    loaded = await load(options, { tree, packages: check.packages });
    const { plan: p } = loaded;
    approve(p, options.approve);
    if (p.conflicts.length) {
      throw new PolicyRefusal('bundle_conflict', p.conflicts.map((c) => `${c.id}: package ${c.package} is under root "${c.root}" of bundle "${c.bundle}"; OPA refuses Policy API writes there (change the bundle instead, or move the package)`).join('\n'));
    }
    const result: PushResult = { outcome: p.changes.length ? 'pushed' : 'unchanged', plan: p, check, tests, meta: { recorded: false } };
    if (p.changes.length) await apply(options.opa, loaded.tree, p.changes);
    try {
      await options.opa.putData(META_PATH, {
        revision: p.revision, dirty: p.dirty, source: p.source, ref: p.ref, plan: p.hash, pushed_at: new Date().toISOString(),
        modules: loaded.tree.modules.map((m) => m.id),
      });
      result.meta.recorded = true;
    } catch (err) {
      result.meta.error = (err as Error).message;
    }
    record(options.pushLog, { timestamp: started, outcome: result.outcome, plan: summary(p), meta: result.meta });
    return result;
  } catch (err) {
    record(options.pushLog, {
      timestamp: started, outcome: 'refused', ...(loaded ? { plan: summary(loaded.plan) } : { source: options.source, ref: options.ref ?? null }),
      reason: err instanceof PolicyRefusal ? err.reason : 'error', message: (err as Error).message,
    });
    throw err;
  }
}

/** A change touching a protected package needs `approve` equal to the plan hash; a given approval must match in any case. */
function approve(p: Plan, approval: string | undefined): void {
  if (approval !== undefined && approval !== p.hash) {
    throw new PolicyRefusal('approval_mismatch', `approval ${approval} is not the hash of this change (${p.changes.length} module${p.changes.length === 1 ? '' : 's'}): the change differs from the one reviewed; run plan again and review it`);
  }
  const prot = p.changes.filter((c) => c.protected);
  if (prot.length && approval === undefined) {
    throw new PolicyRefusal('approval_required', `changes to protected packages need an approval: ${prot.map((c) => `${c.id} (${c.package})`).join(', ')}; review them with "writegate policy plan" and pass its plan hash as --approve`);
  }
}

/**
 * Uploads and deletes until none is left ({@link install}). When OPA refuses, the modules already changed are put
 * back as they were, and the push is refused with OPA's errors.
 */
async function apply(opa: OpaClient, tree: SourceTree, changes: Change[]): Promise<void> {
  const raw = new Map(tree.modules.map((m) => [m.id, m.raw]));
  const before = new Map((await opa.listPolicies()).map((p) => [p.id, p.raw]));
  // The plan (and its approval) was made against what OPA held then; a module changed since is another change.
  const moved = changes.filter((c) => (before.has(c.id) ? sha256(before.get(c.id)!) : undefined) !== c.old);
  if (moved.length) {
    throw new PolicyRefusal('opa_changed', `OPA changed while pushing: ${moved.map((c) => c.id).join(', ')} differ from the plan; run plan again`);
  }
  const failures = await install(opa, changes.map((c) => ({ id: c.id, raw: c.action === 'remove' ? undefined : raw.get(c.id)! })));
  if (!failures.length) return;
  const undone = await install(opa, changes.map((c) => ({ id: c.id, raw: before.get(c.id) })));
  const problems = failures.flatMap(opaProblems);
  const state = undone.length ? `OPA is left partly changed (could not restore ${undone.map((f) => f.id).join(', ')})` : 'nothing was changed';
  throw new PolicyRefusal('opa_refused', `OPA refused the push; ${state}:\n${formatProblems(problems)}`, problems);
}

/** An upload (`raw`) or a delete (`raw` undefined) through the Policy API. */
interface Op {
  id: string;
  raw: string | undefined;
}

interface Failure extends Op {
  err: unknown;
}

/**
 * Applies `ops` one Policy API call at a time. OPA compiles every module on each call, so an order can fail where
 * another succeeds (a module that uses a rule not uploaded yet, a rule moving between files): every pending call
 * is retried while any makes progress. Modules that need each other (a package split over files that use each
 * other's rules and functions, as the shipped library's `violation` and `warn`) can be neither uploaded nor
 * deleted one by one. For those of one package, one of them, the carrier, first takes the rules of all of them
 * ({@link carrierText}: new texts of uploads, OPA's texts of deletes); the others are then uploaded over, or
 * deleted from under, its identical copies (OPA accepts a rule defined alike in two modules); last, the carrier
 * gets its own text or is deleted. OPA refuses a default rule declared in two modules, so the carrier is the one
 * module with `default` rules; a package where several such modules need each other is left failed.
 */
async function install(opa: OpaClient, ops: Op[]): Promise<Failure[]> {
  const failed = await converge(opa, ops);
  if (!failed.length) return failed;
  const current = new Map((await opa.listPolicies()).map((p) => [p.id, p.raw]));
  const byPackage = new Map<string, Array<{ op: Failure; text: string }>>();
  for (const op of failed) {
    const text = op.raw ?? current.get(op.id);
    if (text === undefined) return failed;
    byPackage.set(packageLine(text), [...(byPackage.get(packageLine(text)) ?? []), { op, text }]);
  }
  const carriers: Array<{ op: Failure; text: string }> = [];
  for (const group of byPackage.values()) {
    const defaults = group.filter((m) => /^default\s/m.test(m.text));
    if (defaults.length > 1) return failed;
    const carrier = defaults[0] ?? group.find((m) => m.op.raw !== undefined) ?? group[0]!;
    carriers.push({ op: carrier.op, text: carrierText(group.map((m) => m.text)) });
  }
  if ((await converge(opa, carriers.map((c) => ({ id: c.op.id, raw: c.text })))).length) return failed;
  const others = failed.filter((f) => !carriers.some((c) => c.op.id === f.id));
  return [...(await converge(opa, others)), ...(await converge(opa, carriers.map((c) => c.op)))];
}

const packageLine = (raw: string): string => (/^package\s.*$/m.exec(raw)?.[0] ?? '').replace(/#.*$/, '').trim();

/**
 * The rules of `texts` (modules of one package) as one module: their text after the package clause, imports once
 * each, without comment lines (a package-scoped METADATA block may not precede rules).
 */
function carrierText(texts: string[]): string {
  const imports = new Set<string>();
  const body: string[] = [];
  for (const text of texts) {
    const lines = text.split('\n');
    for (const line of lines.slice(lines.findIndex((l) => /^package\s/.test(l)) + 1)) {
      if (/^\s*#/.test(line)) continue;
      if (/^import\s/.test(line)) imports.add(line.trim());
      else body.push(line);
    }
  }
  return [packageLine(texts[0]!), ...imports, ...body, ''].join('\n');
}

async function converge(opa: OpaClient, ops: Op[]): Promise<Failure[]> {
  let pending = ops;
  for (;;) {
    const failed: Failure[] = [];
    for (const op of pending) {
      try {
        if (op.raw === undefined) await opa.deletePolicy(op.id);
        else await opa.putPolicy(op.id, op.raw);
      } catch (err) {
        if (!(op.raw === undefined && notFound(err))) failed.push({ ...op, err });
      }
    }
    if (failed.length === 0 || failed.length === pending.length) return failed;
    pending = failed;
  }
}

const opaError = (err: unknown): ErrorV1 | undefined => (isWritegateError(err) ? (err.details.opaError as ErrorV1 | undefined) : undefined);

const notFound = (err: unknown): boolean => opaError(err)?.code === 'resource_not_found';

/** OPA's ErrorV1 as problems by file and line; a bundle-ownership refusal keeps OPA's text, which names the bundle. */
function opaProblems(f: Failure): Problem[] {
  const e = opaError(f.err);
  if (!e) return [{ file: f.id, row: 0, message: (f.err as Error).message }];
  const owned = /is owned by bundle "([^"]+)"|all paths owned by bundle "([^"]+)"/.exec(e.message);
  if (owned) return [{ file: f.id, row: 0, message: `${e.message}: the package is under the roots of bundle "${owned[1] ?? owned[2]}", which alone may change it` }];
  if (!e.errors?.length) return [{ file: f.id, row: 0, message: `${e.code}: ${e.message}` }];
  return e.errors.map((x) => ({ file: x.location?.file ?? f.id, row: x.location?.row ?? 0, message: `${x.code}: ${x.message}` }));
}

function summary(p: Plan): Record<string, unknown> {
  return {
    source: p.source, ref: p.ref, revision: p.revision, dirty: p.dirty, opa: p.opa, hash: p.hash,
    added: p.changes.filter((c) => c.action === 'add').map((c) => c.id),
    changed: p.changes.filter((c) => c.action === 'change').map((c) => c.id),
    removed: p.changes.filter((c) => c.action === 'remove').map((c) => c.id),
  };
}

/** Appends one JSON line to the push log (without an entry: only checks that it can be written). */
function record(file: string, entry?: Record<string, unknown>): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, entry ? `${JSON.stringify(entry)}\n` : '');
}

export interface DriftOptions extends PushOptions {
  fix?: boolean;
  /** Slack-compatible incoming webhook, posted to when drift is found. */
  notify?: string;
  /** The configuration's `notify:` targets, told when drift is found (waited for, as a one-shot command). */
  notifier?: Notifier;
}

/** Git against OPA; with `fix`, a push (same checks and approval rule) and a second look to confirm. */
export async function drift(options: DriftOptions): Promise<DriftReport> {
  const { plan: p } = await load(options);
  const report = driftOf(p);
  if (!report.inSync && (options.notify || options.notifier)) {
    // A target that fails must not stop the fix; the report says so (and the CLI exits non-zero).
    const errors = [
      ...(options.notify ? [await notify(options.notify, report).then(() => undefined, (err: Error) => err.message)] : []),
      ...(options.notifier ? (await options.notifier.deliver(driftEvent(report))).map((d) => d.error) : []),
    ].filter((e): e is string => e !== undefined);
    report.notified = errors.length ? { ok: false, error: errors.join('; ') } : { ok: true };
  }
  if (!options.fix || report.inSync) return report;
  const pushed = await push(options);
  const after = (await load(options)).plan;
  return { ...report, fix: { push: pushed, inSync: after.changes.length === 0 } };
}

function driftOf(p: Plan): DriftReport {
  const ids = (action: Change['action']): string[] => p.changes.filter((c) => c.action === action).map((c) => c.id);
  return { inSync: p.changes.length === 0, plan: p, missing: ids('add'), extra: ids('remove'), changed: ids('change') };
}

function driftEvent(r: DriftReport): DriftEvent {
  const p = r.plan;
  return {
    type: 'drift', timestamp: new Date().toISOString(), opa: p.opa, source: p.source, ref: p.ref, revision: p.revision,
    missing: r.missing, extra: r.extra, changed: r.changed,
  };
}

/** Posts `{"text": …}` (the shape Slack's incoming webhooks and compatible receivers take). */
async function notify(url: string, report: DriftReport): Promise<void> {
  const p = report.plan;
  const lines = [
    `writegate: OPA at ${p.opa} has drifted from ${p.source} (${p.ref} @ ${p.revision.slice(0, 12)})`,
    ...report.missing.map((id) => `• missing in OPA: ${id}`),
    ...report.extra.map((id) => `• in OPA, not in Git: ${id}`),
    ...report.changed.map((id) => `• changed in OPA: ${id}`),
  ];
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: lines.join('\n') }), signal: AbortSignal.timeout(10_000) });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`--notify ${url} answered ${res.status}`);
}
