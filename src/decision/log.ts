import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { RefusedRecordLimiter, boundRefused, type RefusedRecordLimits, type SuppressedEvent } from './limits.js';

export type Outcome = 'allowed' | 'denied' | 'dryrun_denied' | 'warn_denied' | 'fail_open' | 'error';
export type Engine = 'opa' | 'residual' | 'none';

/** One decision, in OPA's decision-log event shape (v1/plugins/logs EventV1) plus writegate's fields. */
export interface DecisionEvent {
  type: 'writegate/decision';
  decision_id: string;
  timestamp: string;
  /** OPA data path of the decision. */
  path: string;
  input: unknown;
  result?: unknown;
  labels: Record<string, string>;
  metrics?: Record<string, number>;
  upstream: string;
  method: string;
  url: string;
  operation: string | undefined;
  summary: string;
  /**
   * Who asked: the username the policy was told, the client address, and, when the gateway authenticated the caller
   * (listen.auth), how; identity headers removed from a peer that is not the trusted proxy; the first 12 hex digits
   * of the SHA-256 of the gateway token used (never the token).
   */
  caller: { username: string; remote_addr: string; authenticated_by?: string; stripped_identity_headers?: string[]; token_sha256?: string };
  mode: string;
  outcome: Outcome;
  engine: Engine;
  /** Policy revision a residual decision came from. */
  revision?: string;
  reasons: string[];
  warnings: string[];
  error?: { code: string; message: string };
  /** A precondition the gateway added to the forwarded body (the client's body plus only this), e.g. {"resourceVersion": "4711"}. */
  precondition?: Record<string, string>;
  /** Filled by the `writegate/upstream` event that follows an allowed write. */
  upstream_status: number | null;
  latency_ms: number;
}

/** What happened upstream after an allowed write; joins its decision by `decision_id`. */
export interface UpstreamEvent {
  type: 'writegate/upstream';
  decision_id: string;
  timestamp: string;
  upstream: string;
  method: string;
  url: string;
  outcome: Outcome;
  upstream_status: number | null;
  error?: { code: string; message: string };
  latency_ms: number;
}

/** OPA's answer to the shadow re-check of a residual allow (src/decision/verify.ts). */
export interface OpaVerdict {
  /** OPA's own id of the decision (in OPA's decision log); absent when OPA answered with an error. */
  decision_id?: string;
  result?: unknown;
  /** False when the decision path was undefined for the input. */
  defined?: boolean;
  /** OPA's error answer (code, message and the codes of its `errors`, e.g. eval_conflict_error), or why OPA could not be asked. */
  error?: { code: string; message: string; errors?: string[] };
}

/**
 * A residual allow re-checked by OPA's Data API, off the request path; joins its decision by `decision_id`.
 * `verified: false` means OPA could not be asked (transport failure or timeout): neither agreement nor mismatch.
 */
export interface VerificationEvent {
  type: 'writegate/verification';
  decision_id: string;
  timestamp: string;
  upstream: string;
  path: string;
  /** The policy revision the residual decided with. */
  revision: string;
  verified: boolean;
  opa: OpaVerdict;
  latency_ms: number;
}

/**
 * A residual allow that OPA's Data API does not give: OPA denied, was undefined, warned, or answered with a
 * policy error for the same input. The residual is switched off for this path and revision.
 */
export interface ResidualMismatchEvent {
  type: 'writegate/residual-mismatch';
  decision_id: string;
  timestamp: string;
  upstream: string;
  path: string;
  revision: string;
  /** What the residual decided (the result the gateway logged for this decision). */
  residual: { result: unknown };
  opa: OpaVerdict;
  /** Why OPA's answer is not a clean allow: its deny and warn messages, or the problem with its answer. */
  reasons: string[];
  latency_ms: number;
}

/** The records the gate writes for a request: its decision and what the upstream answered. */
export type LogEvent = DecisionEvent | UpstreamEvent;

/** Every kind of line in the decision log: a request's records, and the shadow re-checks of residual allows. */
export type LogRecord = LogEvent | VerificationEvent | ResidualMismatchEvent;

/** Longest time a lazily appended record waits for a batch to ride along with. */
const LAZY_MS = 100;

/** Longest time between a suppressed record and the `writegate/suppressed` record that counts it. */
const SUPPRESSED_SUMMARY_MS = 10_000;

export interface DecisionLogOptions {
  /** Rotate before a batch would take the file past this size (bytes). */
  maxBytes?: number;
  /** Rotated files kept: PATH.1 (newest) ... PATH.keep. */
  keep?: number;
  /** Bounds and rate of the records of requests that were not forwarded (src/decision/limits.ts). */
  refused?: RefusedRecordLimits;
}

/**
 * The decision log: JSON lines, separate from the (asynchronous) app log.
 *
 * Durability: the record of a write that goes upstream is in the file before
 * the write is forwarded, so a crash of the gateway loses no record of a write
 * that happened. Records are group-committed: every record queued during one
 * turn of the event loop is written with a single synchronous write at the end
 * of that turn, and the requests waiting on them continue only after it
 * returned. Under load this turns one write(2) per record into one per batch.
 */
export class DecisionLog {
  readonly labels: Record<string, string>;
  private fd: number;
  /** Bytes in the current file, for rotation. */
  private size = 0;
  private readonly limiter: RefusedRecordLimiter | undefined;
  private summaryTimer: NodeJS.Timeout | undefined;
  /** Records of refused requests suppressed (rate) and rotations done, for the metrics. */
  readonly counters = { suppressed: 0, rotations: 0, rotationFailures: 0 };
  private pending: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private scheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(private readonly path: string, version: string, private readonly options: DecisionLogOptions = {}) {
    // A plain append-mode descriptor and fs.writeSync, rather than pino's SonicBoom destination: an audit log
    // must report a failed write (ENOSPC, EIO) to the request waiting on it, and SonicBoom's sync mode retries
    // failed writes in a loop and keeps failed data queued. pino remains the app log (cli/serve.ts).
    if (path !== '-') mkdirSync(dirname(path), { recursive: true });
    this.fd = path === '-' ? 1 : openSync(path, 'a');
    if (this.fd !== 1) this.size = fstatSync(this.fd).size;
    this.limiter = options.refused ? new RefusedRecordLimiter(options.refused) : undefined;
    this.labels = { id: randomUUID(), app: 'writegate', version, host: hostname() };
  }

  /** Queues a record and resolves once it is in the file (rejects if it could not be written). */
  record(event: LogRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.append(event);
    });
  }

  /** Queues a record that nothing waits on; it is written at the end of this event-loop turn. */
  append(event: LogRecord | SuppressedEvent): void {
    this.queue(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.commit);
    }
  }

  /**
   * Queues the record of a request that was not forwarded (denied, refused, unknown path): bounded in size
   * (limits.ts boundRefused), and written only if its client is within its rate; otherwise it is counted in
   * the next `writegate/suppressed` record, written within SUPPRESSED_SUMMARY_MS.
   */
  appendRefused(event: DecisionEvent): void {
    const limiter = this.limiter;
    if (!limiter) {
      this.append(event);
      return;
    }
    if (limiter.admit(event)) {
      this.append(boundRefused(event, this.options.refused!.inputBytes));
      return;
    }
    this.counters.suppressed++;
    if (!this.summaryTimer) {
      this.summaryTimer = setTimeout(this.summarise, SUPPRESSED_SUMMARY_MS);
      this.summaryTimer.unref();
    }
  }

  private readonly summarise = (): void => {
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    const summary = this.limiter?.takeSummary(this.labels);
    if (summary) this.append(summary);
  };

  /**
   * Queues a record that may wait for the next batch: it rides along with the next record that is committed,
   * and is written within LAZY_MS at the latest. Used for the upstream-status record that follows a forwarded
   * write, so that a busy gateway writes one batch per turn rather than one more write(2) per response.
   */
  appendLazily(event: LogRecord): void {
    this.queue(event);
    if (!this.scheduled && !this.lazyTimer) {
      this.lazyTimer = setTimeout(this.commit, LAZY_MS);
      this.lazyTimer.unref();
    }
  }

  private queue(event: LogRecord | SuppressedEvent): void {
    // Events are plain data in OPA's event shape; inputs carry no credentials (the adapter copies only
    // allow-listed headers and masks Secret data), so they are serialised as they are.
    this.pending.push(`${JSON.stringify(event)}\n`);
  }

  private readonly commit = (): void => {
    this.scheduled = false;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    let failure: Error | undefined;
    const { maxBytes } = this.options;
    // Rotation happens here, inside the synchronous group commit, so every record is in a file (the old one,
    // renamed, or the new one) before the request that waits on it continues.
    if (maxBytes !== undefined && this.fd !== 1 && this.size > 0 && this.size + bytes.length > maxBytes) this.rotate();
    try {
      // O_APPEND: each write lands at the end of the file; loop over short writes.
      for (let off = 0; off < bytes.length;) {
        const n = writeSync(this.fd, bytes, off, bytes.length - off);
        off += n;
        this.size += n;
      }
    } catch (err) {
      failure = err as Error;
    }
    for (const w of waiters) {
      if (failure) w.reject(failure);
      else w.resolve();
    }
  };

  /**
   * PATH.(keep-1) -> PATH.keep (replacing the oldest), ..., PATH -> PATH.1, then a new PATH. If any step fails
   * the batch still goes to the descriptor that is open (no record is lost) and the next batch tries again.
   */
  private rotate(): void {
    const keep = this.options.keep ?? 1;
    try {
      for (let i = keep; i >= 1; i--) renameIfExists(i === 1 ? this.path : `${this.path}.${i - 1}`, `${this.path}.${i}`);
      const fd = openSync(this.path, 'a');
      closeSync(this.fd);
      this.fd = fd;
      this.size = fstatSync(fd).size;
      this.counters.rotations++;
    } catch {
      this.counters.rotationFailures++;
    }
  }

  /** Writes whatever is queued now, with the count of any suppressed records. */
  flush(): void {
    if (this.limiter?.pending) this.summarise();
    if (this.pending.length) this.commit();
  }

  /** Writes whatever is queued and closes the file (shutdown). */
  close(): void {
    this.flush();
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    if (this.fd !== 1) closeSync(this.fd);
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
