import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Config, UpstreamConfig } from '../config/schema.js';
import { OpaClient } from '../opa/client.js';
import { startLocalOpa, type LocalOpa } from '../opa/supervisor.js';
import { VERSION } from '../version.js';
import { eachLimited, evaluateObject } from './evaluate.js';
import { auditReport, type AuditReport, type AuditRun } from './report.js';
import { renderHtml, renderMarkdown } from './render.js';
import { awsSource } from './sources/aws.js';
import { cloudflareSource } from './sources/cloudflare.js';
import { kubernetesResource, kubernetesSource } from './sources/kubernetes.js';
import { netboxSource } from './sources/netbox.js';
import { terraformSource } from './sources/terraform.js';
import { AUDIT_SOURCES, type AuditSource, type AuditSourceName, type AuditViolation, type SourceOutcome } from './types.js';

export const AUDIT_FORMATS = ['json', 'html', 'markdown'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

const FILE_OF: Record<AuditFormat, string> = { json: 'report.json', html: 'report.html', markdown: 'report.md' };

/** Where OPA's decision log goes when the audit starts its own OPA, beside the report. */
export const OPA_DECISION_LOG = 'opa-decisions.log';

export interface AuditOptions {
  config: Config;
  /** The configuration file, for the report. */
  configFile: string;
  sources: readonly AuditSourceName[];
  terraformState: string | undefined;
  /** The folder the report is written to. */
  dir: string;
  formats: readonly AuditFormat[];
  /** The report this one is compared with (the previous one in the same folder). */
  previous: AuditReport | undefined;
  /** Told which source is read and how many objects it has given, as it goes (a terminal's progress). */
  progress?: (line: string) => void;
}

/** A source as configured, or why it cannot be read at all. */
type Planned = AuditSource | { source: AuditSourceName; origin: string; error: string };

function upstreamsOf(config: Config, kind: AuditSourceName): UpstreamConfig[] {
  return config.upstreams.filter((u) => u.kind === kind && (u.kind !== 'aws' || u.aws.service === 'iam'));
}

/** Each requested source's readers: one per upstream of its kind (an `iam` one for aws), the state file for terraform. */
function plannedSources(options: AuditOptions): Planned[] {
  const { config } = options;
  const pageSize = config.audit.pageSize;
  const planned: Planned[] = [];
  const attempt = (source: AuditSourceName, origin: string, make: () => AuditSource): void => {
    try {
      planned.push(make());
    } catch (err) {
      planned.push({ source, origin, error: (err as Error).message });
    }
  };
  for (const source of AUDIT_SOURCES.filter((s) => options.sources.includes(s))) {
    if (source === 'terraform') {
      attempt(source, options.terraformState ?? '', () => terraformSource(options.terraformState!, pageSize));
      continue;
    }
    const upstreams = upstreamsOf(config, source);
    if (upstreams.length === 0) {
      planned.push({ source, origin: '', error: `${options.configFile} has no upstream of kind ${source}${source === 'aws' ? ' with aws.service: iam' : ''}` });
    }
    for (const u of upstreams) {
      attempt(source, u.name, () => {
        if (source === 'kubernetes') return kubernetesSource(u, config.audit.kubernetes.resources.map(kubernetesResource), pageSize);
        if (source === 'netbox') return netboxSource(u, pageSize);
        if (source === 'cloudflare') return cloudflareSource(u, pageSize);
        return awsSource(u, pageSize);
      });
    }
  }
  return planned;
}

/** Reads one source to the end, evaluating each page as it arrives; a failure ends this source only. */
async function auditSource(opa: OpaClient, s: AuditSource, concurrency: number, found: AuditViolation[], progress: AuditOptions['progress']): Promise<SourceOutcome> {
  const outcome: SourceOutcome = { source: s.source, origin: s.origin, objects: 0, violations: 0, error: null };
  try {
    for await (const page of s.pages()) {
      await eachLimited(page, concurrency, async (o) => {
        const violations = await evaluateObject(opa, s.source, s.origin, o);
        outcome.objects++;
        outcome.violations += violations.length;
        found.push(...violations);
      });
      progress?.(`${s.source} ${s.origin}: ${outcome.objects} objects, ${outcome.violations} violations`);
    }
  } catch (err) {
    outcome.error = (err as Error).message;
  } finally {
    await s.close();
  }
  return outcome;
}

/** `data.writegate.meta.revision` when a push recorded one, else a digest of the modules OPA has loaded. */
async function policyRevision(opa: OpaClient): Promise<AuditRun['policyRevision']> {
  const meta = (await opa.getData('writegate/meta')) as { revision?: unknown } | undefined;
  if (typeof meta?.revision === 'string') return { value: meta.revision, from: 'data.writegate.meta' };
  return { value: `sha256:${createHash('sha256').update(await opa.policies()).digest('hex')}`, from: 'opa-modules' };
}

/**
 * Appends each whole line of OPA's console decision log (JSON with a decision_id) to `file`; the promise settles
 * once OPA's stderr has closed and every line is written.
 */
function recordDecisionLog(local: LocalOpa, file: string): Promise<void> {
  const out = createWriteStream(file, { flags: 'a' });
  const stderr = local.process.stderr!;
  let partial = '';
  stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.includes('"decision_id"')) out.write(`${line}\n`);
  });
  return once(stderr, 'close').then(() => new Promise<void>((resolve) => out.end(resolve)));
}

/**
 * One audit: every requested source read through its upstream's API (or the state file) and every object evaluated
 * by OPA, then the report written to `dir` in each format. A source that fails is reported with what it read; the
 * others are audited all the same. Without `opa.url` a local OPA is started on `opa.policies` and its decision log
 * kept beside the report, so each decision id can be looked up.
 */
export async function runAudit(options: AuditOptions): Promise<{ report: AuditReport; files: string[] }> {
  const startedAt = new Date().toISOString();
  mkdirSync(options.dir, { recursive: true });
  const { config } = options;
  const local = config.opa.url ? undefined : await startLocalOpa({ paths: config.opa.policies });
  const decisionLog = local ? recordDecisionLog(local, join(options.dir, OPA_DECISION_LOG)) : undefined;
  const opa = new OpaClient({ url: config.opa.url ?? local!.url, timeoutMs: Math.max(config.opa.timeoutMs, 10_000) });
  try {
    const revision = await policyRevision(opa);
    const found: AuditViolation[] = [];
    const outcomes = await Promise.all(plannedSources(options).map((p) => ('error' in p
      ? Promise.resolve({ source: p.source, origin: p.origin, objects: 0, violations: 0, error: p.error })
      : auditSource(opa, p, config.audit.concurrency, found, options.progress))));
    const run: AuditRun = {
      startedAt, finishedAt: new Date().toISOString(), writegate: VERSION, config: options.configFile, opa: opa.url,
      policyRevision: revision, sources: [...options.sources],
    };
    const report = auditReport(run, outcomes, found, options.previous);
    const files = options.formats.map((f) => join(options.dir, FILE_OF[f]));
    for (const f of options.formats) {
      writeFileSync(join(options.dir, FILE_OF[f]), f === 'json' ? `${JSON.stringify(report, null, 2)}\n` : f === 'html' ? renderHtml(report) : renderMarkdown(report));
    }
    return { report, files };
  } finally {
    await opa.close();
    await local?.stop();
    await decisionLog;
  }
}
