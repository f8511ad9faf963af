/**
 * One target's deliveries, off the request path: a bounded queue worked by one sender, a token-bucket rate limit,
 * and retries with exponential backoff (bounded in number and wait). Every way a message ends is counted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from './message.js';
import { DeliveryError, type Target, type TargetName } from './target.js';

export interface Delivery {
  target: TargetName;
  ok: boolean;
  /** Why it was not delivered (never a secret: no URL, no header). */
  error?: string;
}

export interface QueueOptions {
  /** Messages waiting at most. */
  queue: number;
  rateLimit: { perMinute: number; burst: number };
  retries: { attempts: number; backoffMs: number; maxBackoffMs: number };
  timeoutMs: number;
}

/** How the queue reports what happened (counted in /-/metrics and logged by the notifier). */
export interface QueueEvents {
  /** One attempt: delivered (ok), failed and tried again (retry), or given up (failed). */
  attempt(target: TargetName, result: 'ok' | 'retry' | 'failed', error?: DeliveryError): void;
  dropped(reason: 'queue_full' | 'closed'): void;
}

interface Job {
  /** Built by the sender, not by whoever queued it (a request's turn only queues). */
  message: () => Message;
  event: string;
  settle(d: Delivery): void;
}

/** A token bucket: `burst` messages at once, refilled at perMinute / 60 per second. */
class Bucket {
  private tokens: number;
  private at = performance.now();

  constructor(private readonly perMinute: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Takes a token if there is one (0), else how long until there is one (ms). */
  take(): number {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perMinute) / 60_000);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute);
  }
}

export class TargetQueue {
  private readonly waiting: Job[] = [];
  private current: Job | undefined;
  private readonly bucket: Bucket;
  /** Aborted when close() gives up: cancels the wait or the attempt under way. */
  private readonly stop = new AbortController();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly target: Target, private readonly options: QueueOptions, private readonly events: QueueEvents) {
    this.bucket = new Bucket(options.rateLimit.perMinute, options.rateLimit.burst);
  }

  /** Queues a message, never waiting; `settle` is told how it ended (at once when the queue is full or closed). */
  push(message: () => Message, event: string, settle: (d: Delivery) => void): void {
    if (this.stop.signal.aborted || this.waiting.length >= this.options.queue) {
      this.events.dropped(this.stop.signal.aborted ? 'closed' : 'queue_full');
      settle({ target: this.target.name, ok: false, error: this.stop.signal.aborted ? 'the notifier is closed' : 'queue full' });
      return;
    }
    this.waiting.push({ message, event, settle });
    if (!this.current) void this.work();
  }

  /** Resolves once nothing is queued or being delivered. */
  idle(): Promise<void> {
    if (!this.current && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: what is still queued or under way is dropped (counted as closed). */
  abandon(): void {
    this.stop.abort();
    for (const job of this.waiting.splice(0)) {
      this.events.dropped('closed');
      job.settle({ target: this.target.name, ok: false, error: 'dropped at shutdown' });
    }
  }

  private async work(): Promise<void> {
    // abandon() empties the queue when it stops the sender.
    for (let job = this.waiting.shift(); job !== undefined; job = this.waiting.shift()) {
      this.current = job;
      job.settle(await this.deliver(job));
    }
    this.current = undefined;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async deliver(job: Job): Promise<Delivery> {
    const { retries, timeoutMs } = this.options;
    const name = this.target.name;
    for (let attempt = 1; ; attempt += 1) {
      try {
        for (let wait = this.bucket.take(); wait > 0; wait = this.bucket.take()) await sleep(wait, undefined, { signal: this.stop.signal });
        await this.target.send(job.message(), job.event, AbortSignal.any([this.stop.signal, AbortSignal.timeout(timeoutMs)]));
        this.events.attempt(name, 'ok');
        return { target: name, ok: true };
      } catch (err) {
        const e = err instanceof DeliveryError ? err : new DeliveryError(`${name}: ${(err as Error).message}`, false, undefined, { cause: err });
        if (this.stop.signal.aborted) {
          this.events.dropped('closed');
          return { target: name, ok: false, error: 'dropped at shutdown' };
        }
        if (!e.retryable || attempt >= retries.attempts) {
          this.events.attempt(name, 'failed', e);
          return { target: name, ok: false, error: e.message };
        }
        this.events.attempt(name, 'retry', e);
        const backoff = Math.min(retries.maxBackoffMs, retries.backoffMs * 2 ** (attempt - 1));
        try {
          await sleep(Math.min(retries.maxBackoffMs, Math.max(backoff, e.retryAfterMs ?? 0)), undefined, { signal: this.stop.signal });
        } catch {
          this.events.dropped('closed');
          return { target: name, ok: false, error: 'dropped at shutdown' };
        }
      }
    }
  }
}
