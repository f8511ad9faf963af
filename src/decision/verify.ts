/**
 * Shadow verification: every write the residual engine allowed in-process is re-checked by OPA's Data API after
 * the write has been decided, recorded and forwarded. The request never waits for it. OPA's answer goes into the
 * decision log under the gateway's `decision_id`; an answer that is not the same clean allow is a mismatch, which
 * is counted, logged with both results, and switches the residual off for that path and revision, so that every
 * later write on the path is decided by OPA until the policy changes.
 *
 * Resources are bounded: at most `queue` re-checks wait (more are dropped and counted, never waited for), and at
 * most VERIFY_CONCURRENCY are in flight toward OPA.
 */
import { WritegateError, isWritegateError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Decision } from '../opa/client.js';
import type { ErrorV1 } from '../opa/types.js';
import type { DecisionLog, OpaVerdict, ResidualMismatchEvent } from './log.js';
import { normalizeDecision } from './normalize.js';

/**
 * Re-checks in flight toward OPA at most. The gateway's one OPA client keeps 32 connections (src/opa/client.ts):
 * four verifications hold at most an eighth of them, so real decisions always find a free connection, and OPA
 * spends at most four evaluations' worth of CPU at a time on re-checks. At OPA's ~1 ms per decision that is
 * still a few thousand re-checks per second; a longer backlog waits in the queue or is dropped.
 */
export const VERIFY_CONCURRENCY = 4;

/**
 * Request-body bytes the waiting re-checks may hold at most. The queue holds inputs, not counts: 10,000 writes
 * near limits.bodyBytes (3 MiB) would be 30 GB. Writes arrive faster than OPA re-checks them only in a burst,
 * and a burst of large bodies is what this bounds; beyond it re-checks are dropped (counted) like a full queue.
 */
export const VERIFY_QUEUE_BYTES = 64 * 1024 * 1024;

/** The Data API call the gate itself makes ({@link OpaClient.decide}), so that OPA sees the same request. */
export interface VerifierOpa {
  decide(path: string, input: unknown): Promise<Decision>;
}

/** The residual engine's switch (ResidualEngine.switchOff). */
export interface VerifierResidual {
  switchOff(path: string, revision: string): void;
}

/** One residual allow to re-check. */
export interface VerificationJob {
  /** The gateway's decision_id of the write. */
  decisionId: string;
  upstream: string;
  /** OPA data path of the decision. */
  path: string;
  /** The policy revision the residual decided with. */
  revision: string;
  /** The input object the residual evaluated, unmasked (the log holds a masked copy). */
  input: unknown;
  /** The result the gateway logged for the residual decision. */
  result: unknown;
  /** Size of the request body the input was built from (bytes), for VERIFY_QUEUE_BYTES. */
  bodyBytes: number;
}

/** What OPA's Data API says about an input that the residual allowed. */
export interface Verification {
  /** verified: OPA gives the same clean allow. mismatch: it does not. unverified: OPA could not be asked. */
  status: 'verified' | 'mismatch' | 'unverified';
  opa: OpaVerdict;
  /** OPA's decision in the gateway's terms; false when OPA answered with an error or could not be asked. */
  allowed: boolean;
  /** Why OPA's answer is not a clean allow: its deny and warn messages, or what is wrong with its answer. */
  reasons: string[];
}

/**
 * Asks OPA's Data API for the decision on `input` and judges it against a residual allow, which means
 * "allowed, no deny, no warn" (src/residual/engine.ts decisionQueries). Anything else OPA answers is a mismatch:
 * a deny, a warning, an undefined or malformed decision, or an error answer such as eval_conflict_error (the
 * gate, asking OPA, would have refused that write with WG_ERR_OPA_BAD_ANSWER). A transport failure or timeout
 * says nothing about the policy: that is `unverified`.
 */
export async function verifyAllow(opa: VerifierOpa, path: string, input: unknown): Promise<Verification> {
  let d: Decision;
  try {
    d = await opa.decide(path, input);
  } catch (err) {
    const e = isWritegateError(err) ? err : new WritegateError('WG_ERR_OPA_UNAVAILABLE', (err as Error).message, { cause: err });
    const answer = e.details.opaError as ErrorV1 | undefined;
    if (e.details.opaStatus === undefined || typeof answer?.code !== 'string') {
      return { status: 'unverified', opa: { error: { code: e.code, message: e.message } }, allowed: false, reasons: [] };
    }
    const errors = answer.errors ?? [];
    return {
      status: 'mismatch',
      opa: { error: { code: answer.code, message: answer.message ?? '', ...(errors.length ? { errors: errors.map((x) => x.code) } : {}) } },
      allowed: false,
      reasons: errors.length ? errors.map((x) => `${x.code}: ${x.message}`) : [`${answer.code}: ${answer.message ?? ''}`],
    };
  }
  const n = normalizeDecision(d.defined, d.result);
  const problem = n.problem === 'undefined' ? new WritegateError('WG_ERR_NO_DECISION')
    : n.problem === 'malformed' ? new WritegateError('WG_ERR_MALFORMED_DECISION') : undefined;
  const reasons = [
    ...n.deny.map((v) => `deny: ${v.msg}`),
    ...n.warn.map((v) => `warn: ${v.msg}`),
    ...(problem ? [`${problem.code}: ${problem.message}`] : []),
    ...(!n.allowed && !problem && n.deny.length === 0 ? ['deny: denied by policy'] : []),
  ];
  return {
    status: n.allowed && n.warn.length === 0 ? 'verified' : 'mismatch',
    opa: { ...(d.decisionId !== undefined ? { decision_id: d.decisionId } : {}), ...(d.defined ? { result: d.result } : {}), defined: d.defined },
    allowed: n.allowed,
    reasons,
  };
}

export interface ResidualVerifierOptions {
  opa: VerifierOpa;
  log: DecisionLog;
  metrics: Metrics;
  residual: VerifierResidual;
  /** Fraction of residual allows re-checked, 0..1 (opa.verifyResidual.sampleRate). */
  sampleRate: number;
  /** Re-checks waiting at most (opa.verifyResidual.queue). */
  queue: number;
  /** How long close() lets the queue drain before abandoning what is left (ms). */
  drainMs: number;
  /** Uniform source in [0, 1) for sampling (default Math.random; tests inject a seeded one). */
  random?: () => number;
  /** Called after a mismatch was recorded, for the app log. */
  onMismatch?: (event: ResidualMismatchEvent) => void;
}

type Result = Verification['status'] | 'dropped' | 'abandoned';

export class ResidualVerifier {
  private readonly waiting: VerificationJob[] = [];
  private waitingBytes = 0;
  private readonly running = new Set<VerificationJob>();
  private idleWaiters: Array<() => void> = [];
  private scheduled = false;
  private closing = false;
  private abandoned = false;
  private readonly random: () => number;

  constructor(private readonly options: ResidualVerifierOptions) {
    this.random = options.random ?? Math.random;
  }

  /**
   * Hands over one residual allow. Never blocks: the job is sampled out, dropped when the queue is full
   * (counted), or queued; OPA is asked from a later event-loop turn. Returns whether it was queued.
   */
  submit(job: VerificationJob): boolean {
    if (this.closing) {
      this.count(job.upstream, 'abandoned');
      return false;
    }
    const rate = this.options.sampleRate;
    if (rate < 1 && !(this.random() < rate)) return false;
    if (this.waiting.length >= this.options.queue || this.waitingBytes + job.bodyBytes > VERIFY_QUEUE_BYTES) {
      this.count(job.upstream, 'dropped');
      return false;
    }
    this.waiting.push(job);
    this.waitingBytes += job.bodyBytes;
    if (!this.scheduled) {
      this.scheduled = true;
      // Serialising the input for OPA costs CPU; it happens after the request's own turn, not in it.
      setImmediate(this.pump);
    }
    return true;
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Shutdown: takes no more jobs, lets the queue drain for at most `drainMs`, then abandons what is left (queued
   * and in flight, counted as `abandoned`); answers that arrive later are not recorded.
   */
  async close(): Promise<void> {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.idle().then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), this.options.drainMs); }),
    ]);
    clearTimeout(timer);
    if (drained) return;
    this.abandoned = true;
    for (const job of [...this.waiting, ...this.running]) this.count(job.upstream, 'abandoned');
    this.waiting.length = 0;
    this.waitingBytes = 0;
    this.running.clear();
    this.settleIdle();
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    while (!this.abandoned && this.running.size < VERIFY_CONCURRENCY && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.waitingBytes -= job.bodyBytes;
      this.running.add(job);
      void this.run(job);
    }
  };

  private async run(job: VerificationJob): Promise<void> {
    const started = performance.now();
    const v = await verifyAllow(this.options.opa, job.path, job.input);
    // Abandoned at shutdown: already counted, and the decision log may be closed.
    if (this.abandoned) return;
    this.running.delete(job);
    this.record(job, v, Number((performance.now() - started).toFixed(3)));
    this.pump();
    this.settleIdle();
  }

  private record(job: VerificationJob, v: Verification, latencyMs: number): void {
    const { log, metrics, residual } = this.options;
    const base = { decision_id: job.decisionId, timestamp: new Date().toISOString(), upstream: job.upstream, path: job.path, revision: job.revision };
    this.count(job.upstream, v.status);
    if (v.status !== 'mismatch') {
      log.appendLazily({ type: 'writegate/verification', ...base, verified: v.status === 'verified', opa: v.opa, latency_ms: latencyMs });
      return;
    }
    // Switched off first, so that the next write on this path already goes to OPA.
    residual.switchOff(job.path, job.revision);
    metrics.residualMismatches.inc({ upstream: job.upstream });
    const event: ResidualMismatchEvent = {
      type: 'writegate/residual-mismatch', ...base, residual: { result: job.result }, opa: v.opa, reasons: v.reasons, latency_ms: latencyMs,
    };
    // Rare and the record an operator needs: written at the end of this turn rather than with the next batch.
    log.append(event);
    this.options.onMismatch?.(event);
  }

  private count(upstream: string, result: Result): void {
    this.options.metrics.residualVerifications.inc({ upstream, result });
  }

  private isIdle(): boolean {
    return this.waiting.length === 0 && this.running.size === 0;
  }

  private settleIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
