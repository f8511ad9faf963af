/**
 * Notifications (`notify:` in the configuration): denied writes, policy drift, audit runs with violations and
 * residual mismatches, sent to a Slack-compatible webhook and an issue tracker with GitHub's REST API.
 *
 * Never on the request path: {@link Notifier.notify} filters, deduplicates and queues, and returns; each target has
 * its own bounded queue, rate limit and retries (src/notify/queue.ts), so a slow or failing target holds back
 * neither requests nor the other target. Deliveries and drops are counted (writegate_notify_deliveries_total,
 * writegate_notify_dropped_total) and failures logged, without the webhook URL or the token.
 */
import type { Metrics } from '../metrics.js';
import type { NotifyConfig } from './config.js';
import { dedupKey, type NotifyEvent } from './events.js';
import { IssuesTarget } from './issues.js';
import { describe, type Message } from './message.js';
import { TargetQueue, type Delivery, type QueueEvents } from './queue.js';
import { SlackTarget } from './slack.js';
import type { DeliveryError, Target } from './target.js';

export type { NotifyConfig } from './config.js';
export type { AuditEvent, AuditViolation, DeniedEvent, DriftEvent, MismatchEvent, NotifyEvent } from './events.js';
export { deniedEvent, mismatchEvent } from './events.js';
export type { Delivery } from './queue.js';

/** Findings remembered for deduplication at most; past it the oldest are forgotten (and may be sent again). */
const MAX_DEDUP_KEYS = 10_000;

/** The app log's methods the notifier uses (pino's, Fastify's logger). */
export interface NotifyLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface NotifierDeps {
  /** Counts deliveries and drops; absent (a one-shot command), nothing is counted. */
  metrics?: Pick<Metrics, 'notifyDeliveries' | 'notifyDropped'>;
  logger?: NotifyLogger;
}

export interface Notifier {
  /** Hands over one event; never waits and never throws: it is sent, deduplicated, or dropped (counted). */
  notify(event: NotifyEvent): void;
  /**
   * {@link notify}, then waits until every target delivered it or gave up (one-shot commands: drift, audit). An
   * event not sent (turned off in notify.events, or a duplicate) resolves at once with no deliveries.
   */
  deliver(event: NotifyEvent): Promise<Delivery[]>;
  /** Takes no more events, lets the queues drain for at most notify.drainMs, then drops what is left (counted). */
  close(): Promise<void>;
}

/** Whether notify.events sends this event. */
function wanted(events: NotifyConfig['events'], e: NotifyEvent): boolean {
  switch (e.type) {
    case 'denied': return events.denied;
    case 'dryrun_denied': return events.dryrunDenied;
    case 'drift': return events.drift;
    case 'audit': return events.audit;
    case 'residual_mismatch': return events.residualMismatch;
  }
}

class QueuedNotifier implements Notifier {
  private readonly queues: TargetQueue[];
  /** Findings sent lately: dedup key → when its window ends (performance.now()). */
  private readonly recent = new Map<string, number>();
  private closed = false;

  constructor(private readonly config: NotifyConfig, targets: Target[], private readonly deps: NotifierDeps) {
    const events: QueueEvents = {
      attempt: (target, result, error?: DeliveryError) => {
        deps.metrics?.notifyDeliveries.inc({ target, result });
        // The error names the target and its answer, never the URL or a header (src/notify/target.ts).
        if (error && result === 'failed') deps.logger?.error({ target, error: error.message }, 'notification not delivered; given up');
        else if (error) deps.logger?.warn({ target, error: error.message }, 'notification not delivered; will retry');
      },
      dropped: (reason) => {
        deps.metrics?.notifyDropped.inc({ reason });
        deps.logger?.warn({ reason }, 'notification dropped');
      },
    };
    this.queues = targets.map((t) => new TargetQueue(t, config, events));
  }

  notify(event: NotifyEvent): void {
    void this.deliver(event);
  }

  deliver(event: NotifyEvent): Promise<Delivery[]> {
    if (!wanted(this.config.events, event)) return Promise.resolve([]);
    if (this.closed) {
      this.deps.metrics?.notifyDropped.inc({ reason: 'closed' });
      return Promise.resolve([]);
    }
    if (this.duplicate(dedupKey(event))) {
      this.deps.metrics?.notifyDropped.inc({ reason: 'duplicate' });
      return Promise.resolve([]);
    }
    let message: Message | undefined;
    const build = (): Message => (message ??= describe(event, this.config.linkTemplate));
    return Promise.all(this.queues.map((q) => new Promise<Delivery>((resolve) => { q.push(build, event.type, resolve); })));
  }

  async close(): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(this.queues.map((q) => q.idle())).then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), this.config.drainMs); }),
    ]);
    clearTimeout(timer);
    if (drained) return;
    for (const q of this.queues) q.abandon();
    await Promise.all(this.queues.map((q) => q.idle()));
  }

  /** Whether this finding was sent within the window; if not, it is remembered as sent now. */
  private duplicate(key: string): boolean {
    const window = this.config.dedupWindowMs;
    if (window === 0) return false;
    const now = performance.now();
    const until = this.recent.get(key);
    if (until !== undefined && until > now) return true;
    // Re-inserted so that the Map's order stays the order of the windows' ends: the oldest is first.
    this.recent.delete(key);
    this.recent.set(key, now + window);
    for (const [k, end] of this.recent) {
      if (end > now && this.recent.size <= MAX_DEDUP_KEYS) break;
      this.recent.delete(k);
    }
    return false;
  }
}

/** The notifier of a configuration's `notify:` block, or undefined when it has none. */
export function notifierFromConfig(config: { notify?: NotifyConfig | undefined }, deps: NotifierDeps = {}): Notifier | undefined {
  const n = config.notify;
  if (!n) return undefined;
  const targets: Target[] = [];
  if (n.slack) targets.push(new SlackTarget(n.slack.url));
  if (n.issues) targets.push(new IssuesTarget(n.issues));
  return new QueuedNotifier(n, targets, deps);
}
