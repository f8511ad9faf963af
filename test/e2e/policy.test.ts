/**
 * `writegate policy` as a process, against a real git repository made in a temporary folder and a real OPA:
 * plan, push with approvals, drift and its fix, a failing `opa test`, bundles and modules OPA loaded from files.
 */
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opaBinary, projectRoot } from '../../src/opa/binary.js';
import { OpaClient } from '../../src/opa/client.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { freePort } from '../../src/net.js';
import { stopGroup, supervise, type Supervised } from '../helpers/processes.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const CLI = join(projectRoot(), 'dist', 'cli', 'index.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'policy', ...args], { timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A git repository in a temporary folder, written and committed by the test. */
function gitRepo(files: Record<string, string>): { dir: string; write(files: Record<string, string>): void; commit(message: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'wg-policy-repo-'));
  const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '--quiet', '--initial-branch=main');
  const write = (more: Record<string, string>): void => {
    for (const [path, text] of Object.entries(more)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  };
  const commit = (message: string): string => {
    git('add', '--all');
    git('commit', '--quiet', '--message', message);
    return git('rev-parse', 'HEAD');
  };
  write(files);
  commit('initial');
  return { dir, write, commit };
}

const GATE = 'package prod.gate\n\nallow if input.user == "alice"\n';
const GATE_TEST = 'package prod.gate_test\n\nimport data.prod.gate\n\ntest_alice if gate.allow with input as {"user": "alice"}\n';
const DEV = 'package dev.tools\n\nallow := true\n';

describe('writegate policy against a real OPA and a real git repository', () => {
  let opa: LocalOpa;
  let client: OpaClient;
  let work: string;
  const common = (): string[] => ['--opa', opa.url, '--cache', join(work, 'cache')];
  const ids = async (): Promise<string[]> => (await client.listPolicies()).map((p) => p.id).sort();
  const raw = async (id: string): Promise<string | undefined> => (await client.listPolicies()).find((p) => p.id === id)?.raw;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'wg-policy-'));
    opa = await startLocalOpa({ paths: [] });
    client = new OpaClient({ url: opa.url, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await client?.close();
    await opa?.stop();
  });

  /** Puts OPA back to no modules: each test starts from its own state. */
  async function emptyOpa(): Promise<void> {
    for (const id of await ids()) await client.deletePolicy(id);
  }

  it('plan shows the diff of a changed module and exits 2; nothing to change exits 0', async () => {
    await emptyOpa();
    const repo = gitRepo({ 'policies/gate.rego': GATE, 'policies/gate_test.rego': GATE_TEST, 'README.md': 'not rego\n' });
    const pushed = await cli(['push', '--source', repo.dir, ...common(), '--push-log', join(work, 'push.log')]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await ids()).toEqual(['policies/gate.rego']);

    const same = await cli(['plan', '--source', repo.dir, ...common()]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('No changes');

    repo.write({ 'policies/gate.rego': GATE.replace('"alice"', '"bob"') });
    repo.commit('bob instead of alice');
    const changed = await cli(['plan', '--source', repo.dir, ...common()]);
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain('~ change policies/gate.rego');
    expect(changed.stdout).toContain('-allow if input.user == "alice"');
    expect(changed.stdout).toContain('+allow if input.user == "bob"');
    // A plan changes nothing.
    expect(await raw('policies/gate.rego')).toBe(GATE);

    // The same repository as a bare clone, in a folder whose name has a space: fetched like a URL, same plan.
    const bare = join(work, 'bare copy.git');
    execFileSync('git', ['clone', '--quiet', '--bare', repo.dir, bare]);
    const fromBare = await cli(['plan', '--source', bare, ...common()]);
    expect(fromBare.code).toBe(2);
    expect(fromBare.stdout).toContain('+allow if input.user == "bob"');
    const json = JSON.parse((await cli(['plan', '--source', repo.dir, ...common(), '--format', 'json'])).stdout);
    expect(json.changed).toBe(true);
    expect(json.changes).toEqual([expect.objectContaining({ id: 'policies/gate.rego', action: 'change', package: 'prod.gate' })]);
    expect(json.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('modules that need each other are pushed and removed (one call at a time, one of them carrying all their rules first)', async () => {
    await emptyOpa();
    // main.rego uses `deny`, which only rules.rego defines; rules.rego uses `violation`, which only main.rego defines:
    // neither compiles in OPA without the other.
    const repo = gitRepo({
      'app/main.rego': '# METADATA\n# title: the app\npackage app\n\ndefault enabled := true\n\ndecision := {"allow": count(deny) == 0, "deny": deny, "enabled": enabled}\n\nviolation(msg) := {"msg": msg}\n',
      'app/rules.rego': 'package app\n\ndeny contains violation("no") if input.no\n',
    });
    const r = await cli(['push', '--source', repo.dir, ...common(), '--push-log', join(work, 'cycle.log')]);
    expect(r.code, r.stderr).toBe(0);
    expect(await ids()).toEqual(['app/main.rego', 'app/rules.rego']);
    expect(await raw('app/main.rego')).toContain('# METADATA');
    const d = await client.decide('app/decision', { no: true });
    expect(d.result).toEqual({ allow: false, deny: [{ msg: 'no' }], enabled: true });
    // And removed, though neither can go first: another repository replaces them.
    const other = gitRepo({ 'dev.rego': DEV });
    const swapped = await cli(['push', '--source', other.dir, ...common(), '--push-log', join(work, 'cycle.log')]);
    expect(swapped.code, swapped.stderr).toBe(0);
    expect(await ids()).toEqual(['dev.rego']);
  });

  it('a protected push is refused without approval, goes through with the printed hash, and a stale hash is refused', async () => {
    await emptyOpa();
    const repo = gitRepo({ 'policies/gate.rego': GATE, 'policies/dev.rego': DEV });
    const flags = ['--source', repo.dir, ...common(), '--protect', 'prod', '--push-log', join(work, 'protected.log')];

    const unapproved = await cli(['push', ...flags]);
    expect(unapproved.code).toBe(1);
    expect(unapproved.stderr).toContain('approval_required');
    expect(unapproved.stderr).toContain('policies/gate.rego (prod.gate)');
    expect(await ids()).toEqual([]);

    const planned = await cli(['plan', ...flags.slice(0, -2)]);
    expect(planned.code).toBe(2);
    const hash = /Plan hash: ([0-9a-f]{64})/.exec(planned.stdout)![1]!;
    expect(planned.stdout).toMatch(/\+ add +policies\/gate\.rego .*PROTECTED/);

    const approved = await cli(['push', ...flags, '--approve', hash]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(await ids()).toEqual(['policies/dev.rego', 'policies/gate.rego']);
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo.dir, encoding: 'utf8' }).trim();
    expect(await client.getData('writegate/meta')).toMatchObject({ revision: head, plan: hash, modules: ['policies/dev.rego', 'policies/gate.rego'] });

    // The same hash no longer describes the change once the module moved on.
    repo.write({ 'policies/gate.rego': GATE.replace('"alice"', '"mallory"') });
    repo.commit('mallory');
    const stale = await cli(['push', ...flags, '--approve', hash]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('approval_mismatch');
    expect(await raw('policies/gate.rego')).toBe(GATE);

    const log = readFileSync(join(work, 'protected.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.map((r) => [r.outcome, r.reason])).toEqual([['refused', 'approval_required'], ['pushed', undefined], ['refused', 'approval_mismatch']]);
    expect(log[1].plan).toMatchObject({ revision: head, hash, added: ['policies/dev.rego', 'policies/gate.rego'] });
  });

  it('a failing opa test blocks the push, by file and line', async () => {
    await emptyOpa();
    const repo = gitRepo({
      'policies/gate.rego': GATE,
      'policies/gate_test.rego': `${GATE_TEST}\ntest_bob if gate.allow with input as {"user": "bob"}\n`,
    });
    const r = await cli(['push', '--source', repo.dir, ...common(), '--push-log', join(work, 'failing.log')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tests_failed');
    expect(r.stderr).toContain('policies/gate_test.rego:7: data.prod.gate_test.test_bob: FAIL');
    expect(await ids()).toEqual([]);

    const broken = gitRepo({ 'policies/gate.rego': 'package prod.gate\n\nallow if x\n' });
    const c = await cli(['check', broken.dir, '--format', 'json']);
    expect(c.code).toBe(1);
    expect(JSON.parse(c.stdout).errors).toEqual([expect.objectContaining({ file: 'policies/gate.rego', row: 3 })]);
  });

  it('drift finds a module uploaded by hand and --fix removes it; a module OPA loaded from a file is shown, never removed', async () => {
    await emptyOpa();
    const repo = gitRepo({ 'policies/gate.rego': GATE });
    expect((await cli(['push', '--source', repo.dir, ...common(), '--push-log', join(work, 'drift.log')])).code).toBe(0);
    expect((await cli(['drift', '--source', repo.dir, ...common()])).code).toBe(0);

    await client.putPolicy('hand/extra.rego', 'package hand\n\nx := 1\n');
    // Named like a file on this machine, but not holding its text: an upload, not a file (it must not hide from drift).
    const decoy = join(work, 'decoy.rego');
    writeFileSync(decoy, 'package decoy\n\nz := 0\n');
    await client.putPolicy(decoy.slice(1), 'package backdoor\n\nallow := true\n');
    let notified = '';
    const hook: Server = createServer((req, res) => {
      req.setEncoding('utf8');
      req.on('data', (c: string) => { notified += c; });
      req.on('end', () => res.end('ok'));
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const drift = await cli(['drift', '--source', repo.dir, ...common(), '--format', 'json', '--notify', `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`]);
    hook.close();
    expect(drift.code).toBe(2);
    const report = JSON.parse(drift.stdout);
    expect(report).toMatchObject({ inSync: false, extra: ['hand/extra.rego', decoy.slice(1)], missing: [], changed: [], notified: { ok: true } });
    expect(JSON.parse(notified).text).toContain('in OPA, not in Git: hand/extra.rego');

    const fixed = await cli(['drift', '--source', repo.dir, ...common(), '--fix', '--push-log', join(work, 'drift.log')]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('now in sync');
    expect(await ids()).toEqual(['policies/gate.rego']);

    // An OPA that loaded a module from a file: shown as such, and --fix leaves it.
    const file = join(work, 'from-file', 'local.rego');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'package local.only\n\ny := 2\n');
    const filed = await startLocalOpa({ paths: [file] });
    try {
      const flags = ['--source', repo.dir, '--opa', filed.url, '--cache', join(work, 'cache'), '--push-log', join(work, 'drift.log')];
      const shown = await cli(['drift', ...flags]);
      expect(shown.code).toBe(2);
      // OPA names it by its path without the leading slash (v1/loader/loader.go CleanPath).
      expect(shown.stdout).toContain(`file     ${file.slice(1)}  (package local.only): loaded by OPA from a file, never changed or removed`);
      expect((await cli(['drift', ...flags, '--fix'])).code).toBe(0);
      const other = new OpaClient({ url: filed.url, timeoutMs: 10_000 });
      expect((await other.listPolicies()).map((p) => p.id).sort()).toEqual(['policies/gate.rego', file.slice(1)]);
      await other.close();
    } finally {
      await filed.stop();
    }
  });

  it('a push OPA refuses half-way is rolled back, with OPA\'s errors by file and line', async () => {
    // OPA holds a file module with a default rule; Git declares the same default again, which OPA refuses.
    const file = join(work, 'clash', 'clash.rego');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'package clash\n\ndefault allow := false\n');
    const filed = await startLocalOpa({ paths: [file] });
    const other = new OpaClient({ url: filed.url, timeoutMs: 10_000 });
    try {
      const repo = gitRepo({ 'a.rego': 'package fine\n\nx := 1\n', 'b.rego': 'package clash\n\ndefault allow := true\n' });
      const r = await cli(['push', '--source', repo.dir, '--opa', filed.url, '--cache', join(work, 'cache'), '--push-log', join(work, 'clash.log')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('refused (opa_refused): OPA refused the push; nothing was changed');
      expect(r.stderr).toMatch(/b\.rego:\d+: rego_type_error: multiple default rules data\.clash\.allow found/);
      expect((await other.listPolicies()).map((p) => p.id)).toEqual([file.slice(1)]);
    } finally {
      await other.close();
      await filed.stop();
    }
  });

  it('a package under a bundle\'s roots: the push is refused naming the bundle, and bundle modules are left alone', async () => {
    const bundle = join(work, 'bundle');
    mkdirSync(join(bundle, 'prod'), { recursive: true });
    writeFileSync(join(bundle, '.manifest'), JSON.stringify({ revision: 'b1', roots: ['prod'] }));
    writeFileSync(join(bundle, 'prod', 'owned.rego'), 'package prod.owned\n\nz := 3\n');
    const port = await freePort();
    // Given as a relative path, the bundle is named "bundle" (its modules' ids are "bundle/<path>").
    const proc: Supervised = supervise(opaBinary(), ['run', '--server', `--addr=127.0.0.1:${port}`, '--disable-telemetry', '--log-level=error', '--bundle', 'bundle'], undefined, { cwd: work });
    const url = `http://127.0.0.1:${port}`;
    const bundled = new OpaClient({ url, timeoutMs: 10_000 });
    try {
      await until(() => bundled.healthy(), { timeoutMs: 20_000, what: 'OPA with a bundle' });
      const repo = gitRepo({ 'policies/gate.rego': GATE, 'policies/dev.rego': DEV });
      const flags = ['--source', repo.dir, '--opa', url, '--cache', join(work, 'cache')];
      const planned = await cli(['plan', ...flags]);
      expect(planned.stdout).toContain('! policies/gate.rego: package prod.gate is under root "prod" of bundle "bundle"; OPA will refuse to upload it');
      expect(planned.stdout).toMatch(/bundle +bundle\/.*owned\.rego +\(package prod\.owned\): from bundle "bundle"/);
      const pushed = await cli(['push', ...flags, '--push-log', join(work, 'bundle.log')]);
      expect(pushed.code).toBe(1);
      expect(pushed.stderr).toContain('bundle_conflict');
      expect(pushed.stderr).toContain('of bundle "bundle"');
      expect((await bundled.listPolicies()).map((p) => p.id)).toEqual([expect.stringMatching(/^bundle\/.*owned\.rego$/)]);
    } finally {
      await bundled.close();
      await stopGroup(proc.child);
    }
  });

  it('policy test reports coverage and fails under --threshold', async () => {
    const repo = gitRepo({ 'gate.rego': `${GATE}\ndeny if input.user == "eve"\n`, 'gate_test.rego': GATE_TEST });
    const ok = await cli(['test', repo.dir, '--format', 'json']);
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report).toMatchObject({ ok: true, passed: 1, failures: [] });
    expect(report.coverage).toBeGreaterThan(0);
    expect(report.coverage).toBeLessThan(100);
    const under = await cli(['test', repo.dir, '--threshold', '100']);
    expect(under.code).toBe(1);
    expect(under.stdout).toContain('below the threshold of 100%');
  });

  it('bad input gets a clear error and exit 1: a threshold that is not a percentage, an unknown format, a source without modules, a ref that does not exist', async () => {
    const repo = gitRepo({ 'README.md': 'no policies here\n' });
    const threshold = await cli(['test', repo.dir, '--threshold', 'most']);
    expect(threshold.code).toBe(1);
    expect(threshold.stderr).toContain("option '--threshold <percent>' argument 'most' is invalid. a percentage from 0 to 100");
    const format = await cli(['plan', '--source', repo.dir, ...common(), '--format', 'xml']);
    expect(format.code).toBe(1);
    expect(format.stderr).toContain('Allowed choices are text, json');
    const empty = await cli(['push', '--source', repo.dir, ...common(), '--push-log', join(work, 'empty.log')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no \.rego modules in .* at HEAD \(work tree\) \([0-9a-f]{12}\); nothing to plan from/);
    // A source that git would read as an option must not run a command: without the check, this is
    // `git fetch --upload-pack=<command> <repo>`, which runs the command (and the admin API takes a source too).
    const marker = join(work, 'upload-pack-ran');
    const option = await cli(['plan', `--source=--upload-pack=touch${'$'}{IFS}${marker}`, '--ref', repo.dir, ...common()]);
    expect(option.code).toBe(1);
    expect(option.stderr).toContain('is not a Git URL, folder or ref');
    expect(existsSync(marker)).toBe(false);
    const optionRef = await cli(['plan', '--source', repo.dir, '--ref=--output=/tmp/x', ...common()]);
    expect(optionRef.stderr).toContain('ref "--output=/tmp/x" is not a Git URL, folder or ref');
    const ref = await cli(['plan', '--source', repo.dir, '--ref', 'no-such-branch', ...common()]);
    expect(ref.code).toBe(1);
    expect(ref.stderr).toContain('ref no-such-branch not found');
  });
});
