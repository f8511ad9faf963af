import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfigFile } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { notifierFromConfig, type Notifier } from '../src/notify/index.js';
import { OpaClient } from '../src/opa/client.js';
import { defaultCache, defaultPushLog, drift, plan, push, PolicyRefusal, type DriftReport, type PushResult } from '../src/policy/lifecycle.js';
import { formatProblems, runCheck, runTests } from '../src/policy/opa-cli.js';
import type { Plan } from '../src/policy/plan.js';
import { isTest, regoFiles } from '../src/policy/source.js';
import { EXIT, fail } from './exit.js';

/** `plan` and `drift`: something would change / OPA differs from Git. */
const EXIT_CHANGES = 2;
const DEFAULT_OPA = 'http://127.0.0.1:8181';

interface SourceFlags {
  source: string;
  ref?: string;
  opa?: string;
  config?: string;
  cache?: string;
  protect: string[];
  pushLog?: string;
  format: 'text' | 'json';
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function percent(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 100)) throw new InvalidArgumentError('a percentage from 0 to 100');
  return n;
}

const formatOption = (): Option => new Option('--format <format>', 'output').choices(['text', 'json']).default('text');

function sourceCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .requiredOption('-s, --source <url-or-dir>', 'Git URL, or a folder in a Git work tree (read as it is on disk unless --ref is given)')
    .option('--ref <ref>', 'branch, tag or commit (default: HEAD)')
    .option('--opa <url>', `OPA to compare with and push to (default: --config's opa.url, else ${DEFAULT_OPA})`)
    .option('-c, --config <file>', 'gateway configuration: opa.url and admin.protect / admin.pushLog')
    .option('--cache <dir>', 'where Git sources are fetched (default: .work/policy-cache in the project folder)')
    .option('--protect <package>', 'package prefix whose changes need --approve (repeatable; added to admin.protect)', collect, [])
    .addOption(formatOption());
}

interface Resolved {
  config: Config | undefined;
  opa: OpaClient;
  cache: string;
  protect: string[];
  pushLog: string;
}

function resolveFlags(flags: SourceFlags): Resolved {
  const config: Config | undefined = flags.config ? loadConfigFile(flags.config) : undefined;
  return {
    config,
    // Pushes compile the whole library in OPA; a decision's timeout would be too short.
    opa: new OpaClient({ url: flags.opa ?? config?.opa.url ?? DEFAULT_OPA, timeoutMs: 60_000 }),
    cache: flags.cache ? resolve(flags.cache) : defaultCache(),
    protect: [...new Set([...(config?.admin?.protect ?? []), ...flags.protect])],
    pushLog: flags.pushLog ? resolve(flags.pushLog) : config?.admin?.pushLog ?? defaultPushLog(),
  };
}

const print = (text: string): void => { process.stdout.write(text.endsWith('\n') ? text : `${text}\n`); };

/** A refusal is printed with its reason and problems, and exits 1; anything else is an error (exit 1 or 3). */
function refused(err: unknown, format: string): never {
  if (!(err instanceof PolicyRefusal)) fail(err);
  if (format === 'json') print(JSON.stringify({ refused: { reason: err.reason, message: err.message, problems: err.problems } }));
  else process.stderr.write(`writegate: refused (${err.reason}): ${err.message}\n`);
  process.exit(EXIT.failure);
}

/** The .rego files of a folder (tests included), relative to it, as `opa test` and `opa check` are given them. */
function folderFiles(dir: string): { dir: string; files: string[]; modules: string[] } {
  const root = resolve(dir);
  const files = regoFiles(root);
  if (!files.length) throw new Error(`no .rego files in ${dir}`);
  return { dir: root, files, modules: files.filter((f) => !isTest(f)) };
}

function testCommand(): Command {
  return new Command('test')
    .description('Run opa test (with line coverage) on the .rego files of a folder.')
    .argument('[dir]', 'policy folder', '.')
    .option('--threshold <percent>', 'fail when line coverage is below this percentage', percent)
    .addOption(formatOption())
    .addHelpText('after', '\nExit codes: 0 all tests pass (and coverage meets --threshold), 1 otherwise.')
    .action(async (dir: string, opts: { threshold?: number; format: string }) => {
      try {
        const { dir: root, files } = folderFiles(dir);
        const report = await runTests(root, files, opts.threshold);
        if (opts.format === 'json') print(JSON.stringify(report));
        else {
          if (report.failures.length) print(formatProblems(report.failures));
          print(`${report.ok ? 'PASS' : 'FAIL'}: ${report.passed} passed, ${report.failures.length} failed${report.coverage !== undefined ? `, coverage ${report.coverage}%` : ''}${opts.threshold !== undefined ? ` (threshold ${opts.threshold}%)` : ''}`);
        }
        process.exitCode = report.ok ? EXIT.ok : EXIT.failure;
      } catch (err) {
        fail(err);
      }
    });
}

function checkCommand(): Command {
  return new Command('check')
    .description('Run opa check --strict and parse each module of a folder.')
    .argument('[dir]', 'policy folder', '.')
    .addOption(formatOption())
    .addHelpText('after', '\nExit codes: 0 clean, 1 errors (each printed as file:line: message).')
    .action(async (dir: string, opts: { format: string }) => {
      try {
        const { dir: root, files, modules } = folderFiles(dir);
        const report = await runCheck(root, files, modules);
        if (opts.format === 'json') print(JSON.stringify(report));
        else print(report.ok ? `OK: ${modules.length} modules` : formatProblems(report.errors));
        process.exitCode = report.ok ? EXIT.ok : EXIT.failure;
      } catch (err) {
        fail(err);
      }
    });
}

function renderPlan(p: Plan): string {
  const sign = { add: '+ add   ', change: '~ change', remove: '- remove' } as const;
  const lines = [
    `source ${p.source} ${p.ref} @ ${p.revision}${p.dirty ? ' (with changes not committed)' : ''}`,
    `opa    ${p.opa}${p.liveRevision ? ` (live revision ${p.liveRevision})` : ''}`,
  ];
  for (const c of p.changes) lines.push(`${sign[c.action]} ${c.id}  (package ${c.package})${c.protected ? '  PROTECTED' : ''}`);
  for (const c of p.changes) if (c.diff) lines.push('', c.diff.trimEnd());
  for (const m of p.unmanaged) {
    lines.push(m.origin === 'file'
      ? `  file     ${m.id}  (package ${m.package}): loaded by OPA from a file, never changed or removed`
      : `  bundle   ${m.id}  (package ${m.package}): from bundle "${m.bundle}", never changed or removed`);
  }
  for (const c of p.conflicts) lines.push(`! ${c.id}: package ${c.package} is under root "${c.root}" of bundle "${c.bundle}"; OPA will refuse to upload it`);
  const prot = p.changes.filter((c) => c.protected).length;
  lines.push('', p.changes.length
    ? `${p.changes.length} change${p.changes.length === 1 ? '' : 's'}${prot ? `, ${prot} in protected packages` : ''}. Plan hash: ${p.hash}`
    : 'No changes: OPA runs what Git has.');
  if (prot) lines.push(`Approve after review: writegate policy push ... --approve ${p.hash}`);
  return lines.join('\n');
}

function renderPush(r: PushResult): string {
  const lines = [renderPlan(r.plan), '', r.outcome === 'pushed' ? `Pushed ${r.plan.changes.length} change(s) to ${r.plan.opa}.` : 'Nothing to push.'];
  lines.push(`tests: ${r.tests.passed} passed${r.tests.coverage !== undefined ? `, coverage ${r.tests.coverage}%` : ''}`);
  lines.push(r.meta.recorded ? `live revision ${r.plan.revision} recorded in data.writegate.meta` : `warning: live revision not recorded: ${r.meta.error}`);
  return lines.join('\n');
}

function renderDrift(d: DriftReport): string {
  const lines = [renderPlan(d.plan), ''];
  lines.push(d.inSync ? 'In sync.' : `DRIFT: ${d.missing.length} missing in OPA, ${d.extra.length} in OPA but not in Git, ${d.changed.length} changed.`);
  if (d.fix) lines.push(`Fixed: pushed ${d.fix.push.plan.changes.length} change(s) (plan hash ${d.fix.push.plan.hash}); ${d.fix.inSync ? 'now in sync' : 'STILL DIFFERENT after the push'}.`);
  if (d.notified) lines.push(d.notified.ok ? 'Notified.' : `warning: --notify failed: ${d.notified.error}`);
  return lines.join('\n');
}

function planCommand(): Command {
  return sourceCommand('plan', 'Show what a push would change in OPA (added, changed, removed modules with diffs) and the plan hash.')
    .addHelpText('after', `\nExit codes: 0 nothing would change, ${EXIT_CHANGES} something would, 1 error, 3 configuration invalid.`)
    .action(async (flags: SourceFlags) => {
      let r: Resolved | undefined;
      try {
        r = resolveFlags(flags);
        const p = await plan({ source: flags.source, ...(flags.ref ? { ref: flags.ref } : {}), cache: r.cache, opa: r.opa, protect: r.protect });
        print(flags.format === 'json' ? JSON.stringify({ ...p, changed: p.changes.length > 0 }) : renderPlan(p));
        process.exitCode = p.changes.length ? EXIT_CHANGES : EXIT.ok;
      } catch (err) {
        refused(err, flags.format);
      } finally {
        await r?.opa.close();
      }
    });
}

function pushCommand(): Command {
  return sourceCommand('push', 'Test, check, plan and upload the Git policies to OPA; protected packages need --approve PLAN_HASH.')
    .option('--approve <hash>', 'the plan hash printed by plan for exactly this change')
    .option('--threshold <percent>', 'refuse when opa test line coverage is below this percentage', percent)
    .option('--push-log <file>', 'JSON lines record of pushes (default: admin.pushLog, else .work/policy-push.log)')
    .addHelpText('after', '\nExit codes: 0 pushed (or nothing to push), 1 refused or error, 3 configuration invalid.')
    .action(async (flags: SourceFlags & { approve?: string; threshold?: number }) => {
      let r: Resolved | undefined;
      try {
        r = resolveFlags(flags);
        const result = await push({
          source: flags.source, ...(flags.ref ? { ref: flags.ref } : {}), cache: r.cache, opa: r.opa, protect: r.protect, pushLog: r.pushLog,
          ...(flags.approve !== undefined ? { approve: flags.approve } : {}), ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
        });
        print(flags.format === 'json' ? JSON.stringify(result) : renderPush(result));
        process.exitCode = EXIT.ok;
      } catch (err) {
        refused(err, flags.format);
      } finally {
        await r?.opa.close();
      }
    });
}

function driftCommand(): Command {
  return sourceCommand('drift', 'Compare what OPA runs with Git; --fix reconciles (as push does), --notify posts to a Slack-compatible webhook.')
    .option('--fix', 'push Git to OPA when they differ (tests, checks and approvals as for push)')
    .option('--approve <hash>', 'with --fix: the plan hash, when protected packages differ')
    .option('--notify <url>', 'on drift, POST {"text": ...} to this webhook')
    .option('--push-log <file>', 'JSON lines record of pushes (default: admin.pushLog, else .work/policy-push.log)')
    .addHelpText('after', `\nExit codes: 0 in sync (with --fix: in sync after the fix), ${EXIT_CHANGES} drift, 1 error, a refused fix or a failed notification, 3 configuration invalid.`)
    .action(async (flags: SourceFlags & { fix?: boolean; approve?: string; notify?: string }) => {
      let r: Resolved | undefined;
      let notifier: Notifier | undefined;
      try {
        r = resolveFlags(flags);
        // The configuration's notify: targets are told too (--notify keeps posting its plain text).
        notifier = r.config ? notifierFromConfig(r.config) : undefined;
        const report = await drift({
          source: flags.source, ...(flags.ref ? { ref: flags.ref } : {}), cache: r.cache, opa: r.opa, protect: r.protect, pushLog: r.pushLog,
          ...(flags.approve !== undefined ? { approve: flags.approve } : {}), ...(flags.notify ? { notify: flags.notify } : {}), fix: flags.fix === true,
          ...(notifier ? { notifier } : {}),
        });
        print(flags.format === 'json' ? JSON.stringify(report) : renderDrift(report));
        process.exitCode = report.notified?.ok === false ? EXIT.failure : (report.fix?.inSync ?? report.inSync) ? EXIT.ok : EXIT_CHANGES;
      } catch (err) {
        refused(err, flags.format);
      } finally {
        await notifier?.close();
        await r?.opa.close();
      }
    });
}

export function policyCommand(): Command {
  return new Command('policy')
    .description('The policy lifecycle: Git → test → check → plan → approve → push, and drift.')
    .addCommand(testCommand())
    .addCommand(checkCommand())
    .addCommand(planCommand())
    .addCommand(pushCommand())
    .addCommand(driftCommand());
}
