import { existsSync, readFileSync } from 'node:fs';
import type { AuditSourceName, AuditViolation, SourceOutcome } from './types.js';

/** What an audit run was: when, by which writegate, against which OPA and policy revision. */
export interface AuditRun {
  startedAt: string;
  finishedAt: string;
  writegate: string;
  config: string;
  opa: string;
  /** `data.writegate.meta.revision` (recorded by `writegate policy push`) or, without it, a digest of OPA's modules. */
  policyRevision: { value: string; from: 'data.writegate.meta' | 'opa-modules' };
  sources: AuditSourceName[];
}

/** A violation is the same finding in two reports when its source, origin, address and rule are. */
function findingKey(v: Pick<AuditViolation, 'source' | 'origin' | 'address' | 'rule'>): string {
  return JSON.stringify([v.source, v.origin, v.address, v.rule]);
}

export interface AuditChange {
  /** When the previous report's run started. */
  previousStartedAt: string;
  previousViolations: number;
  /** Findings not in the previous report, and those of the previous report gone now. */
  added: AuditViolation[];
  resolved: AuditViolation[];
}

export interface AuditReport {
  version: 'writegate.dev/v1';
  kind: 'AuditReport';
  /** clean: every source read, nothing found; violations: something found; error: a source failed (see sources). */
  status: 'clean' | 'violations' | 'error';
  run: AuditRun;
  sources: SourceOutcome[];
  totals: {
    objects: number;
    violations: number;
    bySource: Record<string, number>;
    byRule: Record<string, number>;
    bySourceAndRule: { source: AuditSourceName; rule: string; count: number }[];
  };
  violations: AuditViolation[];
  /** The change since the previous report in the same folder; null when there is none. */
  change: AuditChange | null;
}

function count<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

export function auditReport(run: AuditRun, sources: SourceOutcome[], violations: AuditViolation[], previous: AuditReport | undefined): AuditReport {
  const sorted = [...violations].sort((a, b) => findingKey(a).localeCompare(findingKey(b)));
  const pairs = count(sorted, (v) => JSON.stringify([v.source, v.rule]));
  let change: AuditChange | null = null;
  if (previous) {
    const before = new Set(previous.violations.map(findingKey));
    const now = new Set(sorted.map(findingKey));
    change = {
      previousStartedAt: previous.run.startedAt,
      previousViolations: previous.violations.length,
      added: sorted.filter((v) => !before.has(findingKey(v))),
      resolved: previous.violations.filter((v) => !now.has(findingKey(v))),
    };
  }
  return {
    version: 'writegate.dev/v1',
    kind: 'AuditReport',
    status: sources.some((s) => s.error !== null) ? 'error' : sorted.length ? 'violations' : 'clean',
    run,
    sources,
    totals: {
      objects: sources.reduce((n, s) => n + s.objects, 0),
      violations: sorted.length,
      bySource: count(sorted, (v) => v.source),
      byRule: count(sorted, (v) => v.rule),
      bySourceAndRule: Object.entries(pairs).map(([k, n]) => {
        const [source, rule] = JSON.parse(k) as [AuditSourceName, string];
        return { source, rule, count: n };
      }),
    },
    violations: sorted,
    change,
  };
}

/** The report.json in `dir`, when there is one of this shape; anything else there is no previous report. */
export function readReport(file: string): AuditReport | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as AuditReport;
    return r.kind === 'AuditReport' && Array.isArray(r.violations) ? r : undefined;
  } catch {
    return undefined;
  }
}
