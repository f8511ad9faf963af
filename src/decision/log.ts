import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pino from 'pino';

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
 * The decision log: JSON lines written synchronously, so the record of an
 * allowed write is in the file before the write is sent upstream and a crash
 * of the gateway loses no record. Separate from the app log, which is
 * asynchronous.
 */
export class DecisionLog {
  readonly labels: Record<string, string>;
  private readonly dest: ReturnType<typeof pino.destination>;

  constructor(path: string, version: string) {
    // pino's synchronous destination (SonicBoom, sync: true): each write() is an fs.writeSync of whole lines,
    // so a record is in the file (page cache) before the call returns and survives a crash of the gateway.
    // Events are serialised here with JSON.stringify rather than through a pino logger: they are already
    // plain data in OPA's event shape, and the logger's level/redaction layers cost the hot path for nothing
    // (inputs carry no credentials: the adapter copies only allow-listed headers and masks Secret data).
    this.dest = path === '-' ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: path, sync: true, mkdir: true, append: true });
    this.labels = { id: randomUUID(), app: 'writegate', version, host: hostname() };
  }

  write(event: LogEvent): void {
    this.dest.write(`${JSON.stringify(event)}\n`);
  }

  flush(): void {
    this.dest.flushSync();
  }
}
