import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';

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
  caller: { username: string; remote_addr: string };
  mode: string;
  outcome: Outcome;
  engine: Engine;
  /** Policy revision a residual decision came from. */
  revision?: string;
  reasons: string[];
  warnings: string[];
  error?: { code: string; message: string };
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

export type LogEvent = DecisionEvent | UpstreamEvent;

/**
 * The decision log: JSON lines written synchronously (pino with a sync
 * destination), so the record of an allowed write is in the file before the
 * write is sent upstream and a crash of the gateway loses no record. Separate
 * from the app log, which is asynchronous.
 */
export class DecisionLog {
  readonly labels: Record<string, string>;
  private readonly logger: Logger;
  private readonly listeners = new Set<(event: LogEvent) => void>();

  constructor(path: string, version: string) {
    const dest = path === '-' ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: path, sync: true, mkdir: true, append: true });
    this.logger = pino({
      base: null,
      timestamp: false,
      // Like OPA's console decision logger: "level":"info" on every line.
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: inputs never carry these headers, but a policy result could echo them.
      redact: { paths: ['input.headers.authorization', 'input.headers.cookie', 'result.headers.authorization'], censor: '**masked**' },
    }, dest);
    this.labels = { id: randomUUID(), app: 'writegate', version, host: hostname() };
  }

  write(event: LogEvent): void {
    this.logger.info(event);
    for (const l of this.listeners) l(event);
  }

  /** Live subscribers (the streaming endpoint). Returns the unsubscribe function. */
  subscribe(listener: (event: LogEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  flush(): void {
    this.logger.flush();
  }
}
