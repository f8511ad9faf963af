import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { DecisionEvent } from './log.js';

/**
 * What a request that was not forwarded (denied, refused, unknown path, error) may write to the decision log.
 * Such a request costs its sender nothing upstream, so without a bound it is a cheap way to fill the disk
 * (issue 8, F13: twenty anonymous requests wrote 57 MiB in 6 s). Forwarded writes are never bounded or
 * suppressed: their record is the audit trail of something that happened.
 */
export interface RefusedRecordLimits {
  /** `input` and `result` larger than this (serialised JSON, bytes) are replaced by a summary. */
  inputBytes: number;
  /** Token bucket per client: records per second, and burst. */
  perSecond: number;
  burst: number;
}

/** A record standing for the records of refused requests that were over their client's rate. */
export interface SuppressedEvent {
  type: 'writegate/suppressed';
  timestamp: string;
  labels: Record<string, string>;
  /** When the first record counted here was suppressed. */
  since: string;
  /** Records not written, in all. */
  suppressed: number;
  /** Per client (address; IPv6 per /64): how many, by outcome and by error code. */
  clients: SuppressedClient[];
  /** Clients beyond the first MAX_SUMMARY_CLIENTS, folded together. */
  other_clients?: { clients: number; records: number };
}

export interface SuppressedClient {
  client: string;
  records: number;
  outcomes: Record<string, number>;
  codes: Record<string, number>;
}

/** A summary of a value too large to log: its size and digest (of the JSON the gateway would have logged). */
export interface ValueSummary {
  truncated: true;
  bytes: number;
  sha256: string;
}

const URL_CHARS = 2048;
const SUMMARY_CHARS = 512;
const MESSAGE_CHARS = 1024;
const USERNAME_CHARS = 256;
const MESSAGES = 8;
const MESSAGE_ITEM_CHARS = 512;
/** Buckets kept at most; idle (full) ones are dropped first. */
const MAX_CLIENTS = 10_000;
const MAX_SUMMARY_CLIENTS = 100;

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…[${s.length} chars]`;
}

function cutAll(list: string[]): string[] {
  if (list.length <= MESSAGES && list.every((m) => m.length <= MESSAGE_ITEM_CHARS)) return list;
  const kept = list.slice(0, MESSAGES).map((m) => cut(m, MESSAGE_ITEM_CHARS));
  if (list.length > MESSAGES) kept.push(`…[${list.length - MESSAGES} more]`);
  return kept;
}

function jsonBytes(json: string): number {
  return Buffer.byteLength(json, 'utf8');
}

function summary(json: string): ValueSummary {
  return { truncated: true, bytes: Buffer.byteLength(json, 'utf8'), sha256: createHash('sha256').update(json).digest('hex') };
}

/** A summary serialises to about this many bytes; a subtree is only worth shrinking when its budget exceeds it. */
const SUMMARY_BYTES = 110;

/**
 * `value` within about `budget` bytes of JSON, keeping its structure where it can: the largest members of an
 * object or array are shrunk first (recursively), each within what its siblings leave, and a member that cannot
 * fit becomes a {truncated, bytes, sha256} summary. So an auditor still reads the operation, resource, name and
 * caller of a denied 3 MiB write, and only its bulk is replaced.
 */
function shrink(value: unknown, json: string, budget: number): unknown {
  const size = jsonBytes(json);
  if (size <= budget) return value;
  if (typeof value !== 'object' || value === null || budget < 2 * SUMMARY_BYTES) return summary(json);
  const isArray = Array.isArray(value);
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const members = entries.map(([k, v]) => { const j = JSON.stringify(v); return { k, v: v as unknown, j, bytes: jsonBytes(j) }; });
  let total = size;
  for (const m of [...members].sort((a, b) => b.bytes - a.bytes)) {
    if (total <= budget) break;
    const room = budget - (total - m.bytes);
    const shrunk = room >= SUMMARY_BYTES ? shrink(m.v, m.j, room) : summary(m.j);
    const j = JSON.stringify(shrunk);
    total += jsonBytes(j) - m.bytes;
    m.v = shrunk;
    m.j = j;
    m.bytes = jsonBytes(j);
  }
  if (total > budget) return summary(json);
  if (isArray) return members.map((m) => m.v);
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const m of members) out[m.k] = m.v;
  return out;
}

function summarise(value: unknown, maxBytes: number): unknown {
  if (value === undefined) return value;
  const json = JSON.stringify(value);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a short value needs no byte count.
  return json.length * 3 <= maxBytes ? value : shrink(value, json, maxBytes);
}

/**
 * The record of a request that was not forwarded, bounded: the envelope stays (ids, outcome, caller, mode,
 * engine, error code), strings the client controls are cut (url 2 KiB, summary 512, error message 1 KiB,
 * at most 8 reasons and 8 warnings of 512 characters each), and an `input` or `result` over `inputBytes` is
 * shrunk: its largest members are replaced by {truncated, bytes, sha256} summaries (the structure and the small
 * fields — operation, resource, name, userInfo — stay). Whatever the request's size, its record stays within a few KiB.
 */
export function boundRefused(event: DecisionEvent, inputBytes: number): DecisionEvent {
  return {
    ...event,
    input: summarise(event.input, inputBytes),
    ...(event.result !== undefined ? { result: summarise(event.result, inputBytes) } : {}),
    url: cut(event.url, URL_CHARS),
    summary: cut(event.summary, SUMMARY_CHARS),
    caller: {
      ...event.caller,
      username: cut(event.caller.username, USERNAME_CHARS),
      // Header names the client chose: at most 8, each cut like a reason.
      ...(event.caller.stripped_identity_headers ? { stripped_identity_headers: cutAll(event.caller.stripped_identity_headers) } : {}),
    },
    reasons: cutAll(event.reasons),
    warnings: cutAll(event.warnings),
    ...(event.error ? { error: { code: event.error.code, message: cut(event.error.message, MESSAGE_CHARS) } } : {}),
  };
}

/**
 * The rate-limiting key of a client address: the address itself, or for IPv6 its /64 (one host usually holds
 * a whole /64, so per-address buckets would cost it nothing). IPv4-mapped IPv6 addresses are IPv4.
 */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  const bare = address.split('%')[0]!;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64`;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client for records of requests that were not forwarded. A record over its client's
 * rate is not written but counted; the counts come back as one `writegate/suppressed` record, so nothing
 * is lost without a trace.
 */
export class RefusedRecordLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private counted = new Map<string, SuppressedClient>();
  private suppressed = 0;
  private since = '';

  constructor(private readonly limits: RefusedRecordLimits, private readonly now: () => number = Date.now) {}

  /** True if the record may be written; false if it was counted for the next summary instead. */
  admit(event: DecisionEvent): boolean {
    const key = clientKey(event.caller.remote_addr);
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_CLIENTS) this.prune(now);
      bucket = { tokens: this.limits.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.limits.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limits.perSecond);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    this.count(key, event);
    return false;
  }

  /** Records suppressed since the last summary. */
  get pending(): number {
    return this.suppressed;
  }

  /** The summary of what was suppressed since the last one (and starts a new count), or undefined if nothing was. */
  takeSummary(labels: Record<string, string>): SuppressedEvent | undefined {
    if (this.suppressed === 0) return undefined;
    const all = [...this.counted.values()].sort((a, b) => b.records - a.records);
    const shown = all.slice(0, MAX_SUMMARY_CLIENTS);
    const rest = all.slice(MAX_SUMMARY_CLIENTS);
    const event: SuppressedEvent = {
      type: 'writegate/suppressed',
      timestamp: new Date(this.now()).toISOString(),
      labels,
      since: this.since,
      suppressed: this.suppressed,
      clients: shown,
      ...(rest.length ? { other_clients: { clients: rest.length, records: rest.reduce((n, c) => n + c.records, 0) } } : {}),
    };
    this.counted = new Map();
    this.suppressed = 0;
    this.since = '';
    return event;
  }

  private count(client: string, event: DecisionEvent): void {
    let key = client;
    if (this.suppressed === 0) this.since = new Date(this.now()).toISOString();
    this.suppressed++;
    // Past MAX_CLIENTS distinct clients in one summary, the rest share one entry: the count stays bounded.
    let c = this.counted.get(key) ?? (this.counted.size >= MAX_CLIENTS ? this.counted.get('*') : undefined);
    if (!c) {
      if (this.counted.size >= MAX_CLIENTS) key = '*';
      c = { client: key, records: 0, outcomes: {}, codes: {} };
      this.counted.set(key, c);
    }
    c.records++;
    c.outcomes[event.outcome] = (c.outcomes[event.outcome] ?? 0) + 1;
    if (event.error) c.codes[event.error.code] = (c.codes[event.error.code] ?? 0) + 1;
  }

  /** Drops buckets that have refilled (their clients are idle); if none has, the oldest half. */
  private prune(now: number): void {
    const full = (b: Bucket): boolean => b.tokens + ((now - b.at) / 1000) * this.limits.perSecond >= this.limits.burst;
    for (const [k, b] of this.buckets) if (full(b)) this.buckets.delete(k);
    if (this.buckets.size < MAX_CLIENTS) return;
    let drop = this.buckets.size / 2;
    for (const k of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}
