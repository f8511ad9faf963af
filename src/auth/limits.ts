/**
 * Per-caller limits (`limits.perCaller: {rps, burst, concurrent}`): each caller's requests, reads and writes alike,
 * across every mount, go through a token bucket of `rps` per second with room for `burst`, and at most `concurrent`
 * of them are in flight at once (until the response, or the upgraded connection, closes). A request over either
 * gets 429 WG_ERR_RATE_LIMITED in its kind's envelope, with Retry-After, and a bounded refusal record.
 *
 * Who "a caller" is: the identity the gateway verified (`req.caller`: the authentication stage, src/auth/, or a kind
 * that authenticates its own callers, such as AWS's SigV4), else its address (IPv6: its /64). A credential the
 * gateway did not verify names no one: keyed by it, a client would mint a fresh bucket with every made-up value
 * (SigV4's Authorization even differs on every request), escaping its own limit and evicting real callers' buckets
 * from the LRU, which resets theirs. An anonymous caller is known by its address too: one bucket for every anonymous
 * request would let one client starve all the others. A request of a kind that authenticates its own callers is
 * buffered and its signature checked before anyone is known: one that fails is charged to its address (`charge`),
 * and while that bucket is empty the address's next requests are refused before their bodies are read (`check`).
 */
import { LRUCache } from 'lru-cache';
import { clientKey } from '../decision/limits.js';
import { WritegateError } from '../errors.js';
import type { GateRequest } from '../upstreams/types.js';

export interface PerCallerLimits {
  /** Requests per second a caller may sustain. */
  rps: number;
  /** Requests a caller may send at once above that rate. */
  burst: number;
  /** Requests of a caller in flight at once. */
  concurrent: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept at most; the least recently used go first (a caller that comes back starts with a full bucket). */
const MAX_BUCKETS = 100_000;

/** The key of the caller of `req`: `user:<name>` or `address:<address>`. */
export function callerKey(req: GateRequest): string {
  if (req.caller && req.caller.authenticatedBy !== 'anonymous') return `user:${req.caller.username}`;
  return `address:${clientKey(req.remoteAddress)}`;
}

/** One gateway's per-caller buckets and in-flight counts. */
export class CallerLimits {
  private readonly buckets = new LRUCache<string, Bucket>({ max: MAX_BUCKETS });
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly limits: PerCallerLimits, private readonly now: () => number = () => performance.now()) {}

  /**
   * Takes one request of the caller `key`: a `release` to call once, when the request is over, or the refusal
   * (WG_ERR_RATE_LIMITED with `details.retryAfter` in seconds). A refused request takes nothing.
   */
  admit(key: string): { release: () => void } | { refused: WritegateError } {
    const open = this.inFlight.get(key) ?? 0;
    if (open >= this.limits.concurrent) {
      return { refused: new WritegateError('WG_ERR_RATE_LIMITED', `${this.limits.concurrent} requests of this caller in flight (limits.perCaller.concurrent)`, { details: { retryAfter: 1 } }) };
    }
    const b = this.bucket(key);
    const refused = this.empty(b);
    if (refused) return { refused };
    b.tokens -= 1;
    this.inFlight.set(key, open + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(key) ?? 1) - 1;
        if (left <= 0) this.inFlight.delete(key);
        else this.inFlight.set(key, left);
      },
    };
  }

  /** The refusal a request of `key` would get for its bucket being empty, taking nothing (undefined: it has room). */
  check(key: string): WritegateError | undefined {
    return this.empty(this.bucket(key));
  }

  /** Takes one request from `key`'s bucket after the fact, nothing in flight: a request that failed to authenticate. */
  charge(key: string): void {
    this.bucket(key).tokens -= 1;
  }

  /** The bucket of `key`, refilled to now. */
  private bucket(key: string): Bucket {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.limits.burst, at: now };
    b.tokens = Math.min(this.limits.burst, b.tokens + ((now - b.at) / 1000) * this.limits.rps);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  private empty(b: Bucket): WritegateError | undefined {
    if (b.tokens >= 1) return undefined;
    const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / this.limits.rps));
    return new WritegateError('WG_ERR_RATE_LIMITED', `over ${this.limits.rps} requests per second (limits.perCaller.rps, burst ${this.limits.burst})`, { details: { retryAfter } });
  }
}
