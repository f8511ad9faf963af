/**
 * The plan: what a push would change in OPA, module by module, and the hash that approves exactly that change.
 *
 * OPA's store holds modules from three origins (`GET /v1/policies` lists them all):
 * - `bundle`: activated from a bundle; the id is `<bundle name>/<path in the bundle>`, and OPA refuses Policy API
 *   writes to packages under the bundle's roots ("path x is owned by bundle b", v1/server/server.go checkPathScope);
 * - `file`: loaded by `opa run` from files, named by the path OPA was given without its leading `/`
 *   (v1/loader/loader.go CleanPath). Nothing in the Policy API tells them apart from uploads, so a module not in
 *   Git is taken for a file when that path (`/<id>`, or `<id>` from the working directory) is a file here holding
 *   exactly the module's text: the gateway's supervised OPA, and any OPA on this machine. Without the content
 *   check, a hand upload named like any file (`etc/hostname`) would hide from drift. `--watch` reloads such files
 *   over any upload, so they are shown, never changed or deleted;
 * - `api`: uploaded through the Policy API — by a push (ids relative to a repository root) or by hand.
 * Git is compared with the `api` modules only.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { PolicyV1 } from '../opa/types.js';
import { packageName } from './opa-cli.js';

export type Origin = 'api' | 'file' | 'bundle';

/** Bundles activated in OPA (`data.system.bundles`): name → roots (`[""]` or absent roots own everything). */
export type BundleRoots = Record<string, string[]>;

export interface LiveModule {
  id: string;
  package: string;
  origin: Origin;
  /** The bundle a `bundle` module came from. */
  bundle?: string;
}

export interface Change {
  id: string;
  action: 'add' | 'change' | 'remove';
  /** The package after the change (before it, for a removal). */
  package: string;
  /** sha256 of the module text in OPA, absent for an addition. */
  old?: string;
  /** sha256 of the module text in Git, absent for a removal. */
  new?: string;
  /** In a protected package (before or after the change): pushing it needs the plan hash as approval. */
  protected: boolean;
  /** Unified diff from OPA's text to Git's. */
  diff: string;
}

/** A Git module whose package a bundle owns: OPA would refuse to upload it. */
export interface BundleConflict {
  id: string;
  package: string;
  bundle: string;
  root: string;
}

export interface Plan {
  source: string;
  ref: string;
  /** The Git commit planned. */
  revision: string;
  dirty: boolean;
  opa: string;
  /** The revision the last push recorded in OPA (`data.writegate.meta.revision`), if any. */
  liveRevision?: string;
  /** sha256 over the sorted [id, old, new] of every change: `--approve` must equal it. */
  hash: string;
  changes: Change[];
  /** Modules OPA loaded from files or bundles: shown, never changed. */
  unmanaged: LiveModule[];
  conflicts: BundleConflict[];
}

export interface GitModule {
  id: string;
  raw: string;
  package: string;
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The approval hash of a change set: independent of order, of diffs and of anything but ids and contents. */
function planHash(changes: Pick<Change, 'id' | 'old' | 'new'>[]): string {
  const rows = changes.map((c) => [c.id, c.old ?? null, c.new ?? null]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return sha256(JSON.stringify(rows));
}

/** `protect` entries are package prefixes (`writegate.kubernetes`, optionally written `data.writegate.kubernetes`). */
function isProtected(pkg: string, protect: string[]): boolean {
  return protect.some((raw) => {
    const p = raw.replace(/^data\./, '');
    return pkg === p || pkg.startsWith(`${p}.`) || pkg.startsWith(`${p}[`);
  });
}

/** The bundle whose roots own `pkg`, as OPA decides it (server.go isPathOwned on the package's path). */
function owningBundle(pkg: string, bundles: BundleRoots): { bundle: string; root: string } | undefined {
  const path = pkg.split('.');
  for (const [bundle, roots] of Object.entries(bundles)) {
    for (const root of roots.length ? roots : ['']) {
      const r = root.split('/').filter(Boolean);
      if (r.every((seg, i) => path[i] === seg)) return { bundle, root };
    }
  }
  return undefined;
}

/** A module's origin; `inGit` modules are never taken for files (see the top of this file). */
function classify(p: PolicyV1, bundles: BundleRoots, inGit: boolean): LiveModule {
  const pkg = packageName(p.ast.package.path);
  const bundle = Object.keys(bundles).find((b) => p.id.startsWith(`${b}/`));
  if (bundle !== undefined) return { id: p.id, package: pkg, origin: 'bundle', bundle };
  if (!inGit && [`/${p.id}`, resolve(p.id)].some((path) => fileHolds(path, p.raw))) return { id: p.id, package: pkg, origin: 'file' };
  return { id: p.id, package: pkg, origin: 'api' };
}

function fileHolds(path: string, raw: string): boolean {
  try {
    return statSync(path).isFile() && readFileSync(path, 'utf8') === raw;
  } catch {
    return false;
  }
}

export interface PlanInput {
  source: string;
  ref: string;
  revision: string;
  dirty: boolean;
  opa: string;
  liveRevision?: string;
  git: GitModule[];
  live: PolicyV1[];
  bundles: BundleRoots;
  protect: string[];
}

/** Compares Git with OPA's `api` modules; diffs are made with `git diff --no-index`. */
export async function makePlan(input: PlanInput): Promise<Plan> {
  const git = new Map(input.git.map((m) => [m.id, m]));
  const classified = input.live.map((p) => ({ policy: p, module: classify(p, input.bundles, git.has(p.id)) }));
  const api = new Map(classified.filter((c) => c.module.origin === 'api').map((c) => [c.policy.id, c]));
  const changes: Change[] = [];
  for (const m of input.git) {
    const live = api.get(m.id);
    if (live && live.policy.raw === m.raw) continue;
    const prot = isProtected(m.package, input.protect) || (live !== undefined && isProtected(live.module.package, input.protect));
    changes.push({
      id: m.id, action: live ? 'change' : 'add', package: m.package,
      ...(live ? { old: sha256(live.policy.raw) } : {}), new: sha256(m.raw), protected: prot,
      diff: await unifiedDiff(m.id, live?.policy.raw, m.raw),
    });
  }
  for (const [id, live] of api) {
    if (git.has(id)) continue;
    changes.push({
      id, action: 'remove', package: live.module.package, old: sha256(live.policy.raw),
      protected: isProtected(live.module.package, input.protect), diff: await unifiedDiff(id, live.policy.raw, undefined),
    });
  }
  changes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const conflicts: BundleConflict[] = [];
  for (const c of changes) {
    const owner = c.action === 'remove' ? undefined : owningBundle(c.package, input.bundles);
    if (owner) conflicts.push({ id: c.id, package: c.package, ...owner });
  }
  return {
    source: input.source, ref: input.ref, revision: input.revision, dirty: input.dirty, opa: input.opa,
    ...(input.liveRevision !== undefined ? { liveRevision: input.liveRevision } : {}),
    hash: planHash(changes), changes,
    unmanaged: classified.map((c) => c.module).filter((m) => m.origin !== 'api'),
    conflicts,
  };
}

/** `git diff --no-index` of the two texts, labelled `a/<id>` and `b/<id>` (`/dev/null` for a missing side). */
async function unifiedDiff(id: string, before: string | undefined, after: string | undefined): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-diff-'));
  try {
    const side = (name: string, text: string | undefined): string => {
      if (text === undefined) return '/dev/null';
      const file = join(name, id);
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
      return file;
    };
    const a = side('a', before);
    const b = side('b', after);
    const out = await new Promise<string>((resolve, reject) => {
      execFile('git', ['diff', '--no-index', '--no-color', '--no-prefix', '--', a, b], { cwd: dir, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        // Exit 1 means "the files differ" (git diff --exit-code semantics, implied by --no-index).
        if (err && err.code !== 1) reject(new Error(`git diff: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
    return out.slice(Math.max(0, out.indexOf('--- ')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
