import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AUDIT_FORMATS, runAudit, type AuditFormat } from '../src/audit/run.js';
import { readReport, type AuditReport } from '../src/audit/report.js';
import { AUDIT_SOURCES, type AuditSourceName } from '../src/audit/types.js';
import type { Config } from '../src/config/schema.js';
import { loadConfigFile } from '../src/config/load.js';
import { isWritegateError } from '../src/errors.js';
import { notifierFromConfig } from '../src/notify/index.js';

/** Exit codes of `writegate audit`, for CI and cron to branch on. */
export const AUDIT_EXIT = { clean: 0, violations: 1, error: 3 } as const;

interface AuditFlags {
  config: string;
  sources?: string;
  terraformState?: string;
  out: string;
  format: string;
  notify?: boolean;
  every?: string;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A bad flag, a configuration that does not load, anything before the sources are read: exit 3. */
function usage(message: string): never {
  process.stderr.write(`writegate: ${message}\n`);
  process.exit(AUDIT_EXIT.error);
}

/** `--sources a,b` checked against the known sources; without it, every kind the configuration has (and terraform with a state file). */
function sourcesOf(flags: AuditFlags, config: Config): AuditSourceName[] {
  if (flags.sources === undefined) {
    return AUDIT_SOURCES.filter((s) => (s === 'terraform' ? flags.terraformState !== undefined : config.upstreams.some((u) => u.kind === s)));
  }
  const named = flags.sources.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = named.filter((s) => !(AUDIT_SOURCES as readonly string[]).includes(s));
  if (unknown.length || named.length === 0) usage(`--sources takes a comma-separated list of ${AUDIT_SOURCES.join(', ')} (got ${JSON.stringify(flags.sources)})`);
  if (named.includes('terraform') && flags.terraformState === undefined) usage('--sources terraform needs --terraform-state FILE');
  return named as AuditSourceName[];
}

function formatsOf(text: string): AuditFormat[] {
  const named = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (named.length === 0 || !named.every((f) => (AUDIT_FORMATS as readonly string[]).includes(f))) {
    usage(`--format takes a comma-separated list of ${AUDIT_FORMATS.join(', ')} (got ${JSON.stringify(text)})`);
  }
  return named as AuditFormat[];
}

/** `--every 24h`: a whole number of seconds, minutes, hours or days. */
function intervalOf(text: string): number {
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(text);
  if (!m) usage(`--every takes a duration such as 24h, 30m or 7d (got ${JSON.stringify(text)})`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** A run's folder under `--out` when running `--every`: its start time, sortable and safe in a file name. */
function datedFolder(out: string, at: Date): string {
  return join(out, at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-'));
}

/** The newest report among the dated folders of `out` (the previous run of `--every`). */
function newestDatedReport(out: string): AuditReport | undefined {
  if (!existsSync(out)) return undefined;
  const folders = readdirSync(out, { withFileTypes: true }).filter((d) => d.isDirectory() && /^\d{4}-\d{2}-\d{2}T/.test(d.name)).map((d) => d.name).sort().reverse();
  for (const f of folders) {
    const r = readReport(join(out, f, 'report.json'));
    if (r) return r;
  }
  return undefined;
}

async function auditOnce(flags: AuditFlags, config: Config, sources: AuditSourceName[], formats: AuditFormat[], dir: string, previous: AuditReport | undefined): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const { report, files } = await runAudit({
    config, configFile: resolve(flags.config), sources, terraformState: flags.terraformState, dir, formats, previous,
    ...(tty ? { progress: (line: string) => process.stderr.write(`  ${line}\n`) } : {}),
  });
  for (const s of report.sources) if (s.error !== null) process.stderr.write(`writegate: audit of ${s.source}${s.origin ? ` (${s.origin})` : ''} failed: ${s.error}\n`);
  process.stdout.write(`writegate audit: ${report.status}: ${report.totals.violations} violations in ${report.totals.objects} objects; ${files.join(', ')}\n`);
  if (flags.notify && report.status !== 'clean') {
    const notifier = notifierFromConfig(config)!;
    const deliveries = await notifier.deliver({
      type: 'audit', timestamp: report.run.finishedAt, revision: report.run.policyRevision.value,
      violations: report.violations.map((v) => ({ source: v.source, resource: v.address, rule: v.rule, message: v.message, decision_id: v.decision_id })),
      failedSources: report.sources.filter((s) => s.error !== null).map((s) => ({ source: s.source, error: s.error! })),
      report: files.find((f) => f.endsWith('.html')) ?? dir,
    });
    await notifier.close();
    for (const d of deliveries) if (!d.ok) process.stderr.write(`writegate: notification to ${d.target} failed: ${d.error ?? 'not delivered'}\n`);
  }
  return AUDIT_EXIT[report.status === 'clean' ? 'clean' : report.status === 'violations' ? 'violations' : 'error'];
}

async function audit(flags: AuditFlags): Promise<void> {
  let config: Config;
  try {
    config = loadConfigFile(flags.config);
  } catch (err) {
    const issues = isWritegateError(err) ? (err.details.issues as Array<{ key: string; why: string }> | undefined) : undefined;
    usage(issues?.length ? `${flags.config} is invalid:\n${issues.map((i) => `  - ${i.key}: ${i.why}`).join('\n')}` : (err as Error).message);
  }
  const sources = sourcesOf(flags, config);
  if (sources.length === 0) usage(`${flags.config} has no upstream the audit reads (kubernetes, netbox, cloudflare, aws) and no --terraform-state was given`);
  const formats = formatsOf(flags.format);
  if (flags.notify && !config.notify) usage('--notify needs a notify: block in the configuration (notify.slack, notify.issues)');
  const out = resolve(flags.out);
  if (flags.every === undefined) {
    process.exitCode = await auditOnce(flags, config, sources, formats, out, readReport(join(out, 'report.json')));
    return;
  }
  const interval = intervalOf(flags.every);
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = (): void => { stop = true; wake?.(); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  while (!stop) {
    const started = Date.now();
    const previous = newestDatedReport(out);
    await auditOnce(flags, config, sources, formats, datedFolder(out, new Date(started)), previous);
    if (stop) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, started + interval - Date.now()));
      wake = () => { clearTimeout(timer); resolve(); };
    });
  }
  process.exitCode = 0;
}

export function auditCommand(): Command {
  return new Command('audit')
    .description('Read what exists in each upstream (and a Terraform state), evaluate every object against policies/<kind>/audit, and write a report.')
    .requiredOption('--config <file>', 'the gateway\'s configuration: its upstreams, their held credentials, opa.url or opa.policies, audit:')
    .option('--sources <list>', `comma-separated: ${AUDIT_SOURCES.join(',')} (default: every kind the configuration has; terraform with --terraform-state)`)
    .option('--terraform-state <file>', 'a Terraform state file, read with terraform show -json')
    .requiredOption('--out <dir>', 'folder of the report; the report already there is the previous one the new one is compared with')
    .addOption(new Option('--format <list>', `comma-separated: ${AUDIT_FORMATS.join(',')}`).default(AUDIT_FORMATS.join(',')))
    .option('--notify', 'send a run with violations or a failed source to the configuration\'s notify: targets')
    .option('--every <duration>', 'keep running: one audit every duration (24h, 30m), each in a dated folder under --out')
    .addHelpText('after', `\nExit codes: ${AUDIT_EXIT.clean} clean, ${AUDIT_EXIT.violations} violations, ${AUDIT_EXIT.error} error (a source could not be read to the end, OPA unavailable, bad flags or configuration). With --every: 0 when stopped (SIGINT, SIGTERM).`)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : AUDIT_EXIT.error))
    .action(async (flags: AuditFlags) => {
      try {
        await audit(flags);
      } catch (err) {
        usage((err as Error).message);
      }
    });
}
