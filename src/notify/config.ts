import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/ });

const EVENTS_DEFAULTS = { denied: true, dryrunDenied: false, drift: true, audit: true, residualMismatch: true };
const RATE_DEFAULTS = { perMinute: 30, burst: 10 };
const RETRY_DEFAULTS = { attempts: 5, backoffMs: 1_000, maxBackoffMs: 60_000 };

/**
 * `notify:` (src/notify/): where denied writes, policy drift, audit runs with violations and residual mismatches are
 * sent. Absent: nothing is sent. Deliveries never run on the request path: a bounded queue per target, retries with
 * backoff, a per-target rate limit, and one message per finding within the dedup window.
 */
export const notifySchema = z.strictObject({
  /** A Slack-compatible incoming webhook (a secret: it is never logged). */
  slack: z.strictObject({ url: httpUrl }).optional(),
  /** An issue tracker with GitHub's REST API: POST {url}/repos/{repository}/issues. */
  issues: z.strictObject({
    /** The API root, e.g. https://api.github.com. */
    url: httpUrl,
    /** owner/name. */
    repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name'),
    /** File holding the API token, sent as `Authorization: Bearer`; read at each delivery, so a rotation applies at once. */
    tokenFile: z.string().min(1),
    /** Labels of every issue; the event's type (denied, drift, ...) is added. */
    labels: z.array(z.string().min(1)).default(['writegate']),
  }).optional(),
  /** A link shown with each decision, e.g. a log viewer: https://logs.example/search?q={decision_id}. */
  linkTemplate: z.string().refine((t) => t.includes('{decision_id}') && httpUrl.safeParse(t.replaceAll('{decision_id}', 'x')).success,
    'an http(s) URL containing {decision_id}').optional(),
  /** Which events are sent: denied writes (enforce), would-deny writes (dryrun), drift, audit runs, residual mismatches. */
  events: z.strictObject({
    denied: z.boolean().default(EVENTS_DEFAULTS.denied),
    dryrunDenied: z.boolean().default(EVENTS_DEFAULTS.dryrunDenied),
    drift: z.boolean().default(EVENTS_DEFAULTS.drift),
    audit: z.boolean().default(EVENTS_DEFAULTS.audit),
    residualMismatch: z.boolean().default(EVENTS_DEFAULTS.residualMismatch),
  }).default(EVENTS_DEFAULTS),
  /** The same finding (upstream, operation, resource and reasons) again within this time is not sent again (0: every time). */
  dedupWindowMs: z.number().int().min(0).default(300_000),
  /** Messages waiting per target at most; beyond it they are dropped and counted (writegate_notify_dropped_total). */
  queue: z.number().int().positive().default(1_000),
  /** Per target: messages per minute, with room for a burst; more wait in the queue. */
  rateLimit: z.strictObject({
    perMinute: z.number().positive().default(RATE_DEFAULTS.perMinute),
    burst: z.number().int().positive().default(RATE_DEFAULTS.burst),
  }).default(RATE_DEFAULTS),
  /** A delivery that fails (connection, timeout, 429, 5xx) is tried `attempts` times in all, waiting backoffMs, doubled each time up to maxBackoffMs. */
  retries: z.strictObject({
    attempts: z.number().int().min(1).default(RETRY_DEFAULTS.attempts),
    backoffMs: z.number().int().min(1).default(RETRY_DEFAULTS.backoffMs),
    maxBackoffMs: z.number().int().min(1).default(RETRY_DEFAULTS.maxBackoffMs),
  }).default(RETRY_DEFAULTS),
  /** One delivery attempt's timeout. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** On shutdown, how long queued messages may still be delivered; what is left is dropped and counted. */
  drainMs: z.number().int().min(0).default(5_000),
}).refine((n) => n.slack !== undefined || n.issues !== undefined, 'name a target: slack, issues or both');

export type NotifyConfig = z.output<typeof notifySchema>;
