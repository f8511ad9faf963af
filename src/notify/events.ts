/**
 * What the notifier is told (src/notify/index.ts). Each event carries what its messages show and nothing more:
 * a denied write carries the policy input as the decision log records it (the adapter's maskInput output), never
 * the raw input.
 */
import type { DecisionEvent, ResidualMismatchEvent } from '../decision/log.js';

/** A write the policy denied: refused (enforce) or forwarded with "would deny" (dryrun). */
export interface DeniedEvent {
  type: 'denied' | 'dryrun_denied';
  decision_id: string;
  timestamp: string;
  upstream: string;
  /** The username the policy was told (empty when unknown) and the client address. */
  caller: { username: string; remote_addr: string };
  method: string;
  url: string;
  operation: string | undefined;
  /** The adapter's one-line label, e.g. "create deployments.apps default/web". */
  summary: string;
  reasons: string[];
  /** The masked input of the decision record. */
  input: unknown;
}

/** `writegate policy drift` found OPA's loaded modules different from Git. */
export interface DriftEvent {
  type: 'drift';
  timestamp: string;
  opa: string;
  source: string;
  ref: string;
  revision: string;
  /** In Git, not in OPA. */
  missing: string[];
  /** In OPA, not in Git. */
  extra: string[];
  changed: string[];
}

/** One finding of `writegate audit`. */
export interface AuditViolation {
  source: string;
  /** The object's address or id in its source. */
  resource: string;
  rule: string;
  message: string;
  /** OPA's decision_id of the evaluation that found it. */
  decision_id: string;
}

/** A `writegate audit` run that found violations. */
export interface AuditEvent {
  type: 'audit';
  timestamp: string;
  /** The policy revision the run evaluated with. */
  revision: string;
  violations: AuditViolation[];
  /** Sources that could not be audited, with why. */
  failedSources: Array<{ source: string; error: string }>;
  /** Where the report is (a path or URL), shown in the message. */
  report?: string;
}

/** A residual allow that OPA's Data API contradicted (src/decision/verify.ts). */
export interface MismatchEvent {
  type: 'residual_mismatch';
  decision_id: string;
  timestamp: string;
  upstream: string;
  path: string;
  revision: string;
  reasons: string[];
}

export type NotifyEvent = DeniedEvent | DriftEvent | AuditEvent | MismatchEvent;

/** The notification of a decision record whose outcome is denied or dryrun_denied. */
export function deniedEvent(e: DecisionEvent, type: DeniedEvent['type']): DeniedEvent {
  return {
    type, decision_id: e.decision_id, timestamp: e.timestamp, upstream: e.upstream,
    caller: { username: e.caller.username, remote_addr: e.caller.remote_addr },
    method: e.method, url: e.url, operation: e.operation, summary: e.summary, reasons: e.reasons, input: e.input,
  };
}

/** The notification of a residual mismatch record. */
export function mismatchEvent(e: ResidualMismatchEvent): MismatchEvent {
  return { type: 'residual_mismatch', decision_id: e.decision_id, timestamp: e.timestamp, upstream: e.upstream, path: e.path, revision: e.revision, reasons: e.reasons };
}

/**
 * Events that are the same finding: a second one within notify.dedupWindowMs is not sent again. A denial's key is
 * its upstream, type, operation, resource and reasons (not its decision id: a retried or repeated write is one
 * finding).
 */
export function dedupKey(e: NotifyEvent): string {
  switch (e.type) {
    case 'denied':
    case 'dryrun_denied':
      return JSON.stringify([e.type, e.upstream, e.operation ?? '', e.summary, e.reasons]);
    case 'drift':
      return JSON.stringify([e.type, e.opa, e.source, e.missing, e.extra, e.changed]);
    case 'audit':
      return JSON.stringify([e.type, e.violations.map((v) => [v.source, v.resource, v.rule, v.message]), e.failedSources.map((f) => f.source)]);
    case 'residual_mismatch':
      return JSON.stringify([e.type, e.upstream, e.path, e.revision, e.reasons]);
  }
}
