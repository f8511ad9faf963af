/**
 * The gateway's admin API for the policy lifecycle (routes/admin.ts wires it): the same plan, push and drift as
 * `writegate policy`, behind a bearer token compared in constant time and never logged. Every call, answered or
 * refused, leaves a bounded record in the decision log (DecisionLog.appendRefused): the action, the first 12 hex
 * digits of the SHA-256 of the token presented (never the token), the client address and the result.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isWritegateError, WritegateError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { DecisionEvent, DecisionLog, Outcome } from '../decision/log.js';
import { OpaClient } from '../opa/client.js';
import { defaultCache, defaultPushLog, drift, plan, PolicyRefusal, push, type RefusalReason } from './lifecycle.js';

/** The shortest admin token accepted: a guessable token would make the API as open as no token. */
const MIN_TOKEN_LENGTH = 16;

/** Reads the token file (surrounding whitespace dropped); a missing, unreadable or short token is a configuration error. */
function readAdminToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new WritegateError('WG_ERR_CONFIG_INVALID', `admin.tokenFile ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (token.length < MIN_TOKEN_LENGTH) throw new WritegateError('WG_ERR_CONFIG_INVALID', `admin.tokenFile ${file}: the token has fewer than ${MIN_TOKEN_LENGTH} characters`);
  return token;
}

/**
 * `Authorization: Bearer <token>` against the admin token. Both sides are hashed first so that the comparison
 * takes the same time whatever the length or content of what was sent (timingSafeEqual needs equal lengths).
 */
export function adminAuthorized(header: string | undefined, token: string): boolean {
  // An empty token never matches: readAdminToken refuses short ones.
  return timingSafeEqual(sha256(presentedToken(header) ?? ''), sha256(token));
}

function presentedToken(header: string | undefined): string | undefined {
  return /^Bearer (\S+)$/.exec(header ?? '')?.[1];
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The source is admin.source, never the request's: a token is for pushing policy, not for reading the host's repositories. */
const body = z.strictObject({
  ref: z.string().min(1).optional(),
  /** push, drift with fix: the plan hash approved. */
  approve: z.string().regex(/^[0-9a-f]{64}$/, 'a plan hash (64 hex digits)').optional(),
  /** push, drift with fix: minimum opa test coverage (percent). */
  threshold: z.number().min(0).max(100).optional(),
  /** drift: reconcile. */
  fix: z.boolean().optional(),
});

export type AdminAction = 'plan' | 'push' | 'drift';

export interface AdminOptions {
  /** The admin token (admin.tokenFile). */
  token: string;
  /** Where every call is recorded. */
  log: DecisionLog;
  opa: OpaClient;
  source: string | undefined;
  protect: string[];
  cache: string;
  pushLog: string;
  /** Called after OPA's modules changed (the gateway drops its compiled residuals at once). */
  changed: () => Promise<void>;
}

export interface AdminAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** One call of the admin API, as its record names it. */
export interface AdminCall {
  method: string;
  url: string;
  remoteAddress: string;
  authorization: string | undefined;
}

const REFUSAL_STATUS: Record<RefusalReason, number> = {
  check_failed: 422, tests_failed: 422, approval_required: 403, approval_mismatch: 409, bundle_conflict: 409, opa_changed: 409, opa_refused: 409,
};

/** Runs one admin action at a time (two pushes must not interleave their uploads). */
export class PolicyAdmin {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: AdminOptions) {}

  /** The 401 of a call without the admin token (recorded), or undefined when it carries the token. */
  unauthorized(call: AdminCall): AdminAnswer | undefined {
    if (adminAuthorized(call.authorization, this.options.token)) return undefined;
    return this.refuse(call, new WritegateError('WG_ERR_UNAUTHENTICATED', 'the admin API needs Authorization: Bearer <admin token>'));
  }

  /** The answer to a call refused before its action ran (a body that is not JSON, a missing token), recorded. */
  refuse(call: AdminCall, err: WritegateError): AdminAnswer {
    const answer = errorAnswer(err);
    this.record(call, undefined, answer, 0);
    return answer;
  }

  /** Runs `action` for a call that carries the admin token, and records it with its result. */
  async run(action: AdminAction, raw: unknown, call: AdminCall): Promise<AdminAnswer> {
    const started = performance.now();
    const next = this.queue.then(() => this.answer(action, raw));
    this.queue = next.catch(() => undefined);
    const answer = await next;
    this.record(call, action, answer, performance.now() - started);
    return answer;
  }

  private record(call: AdminCall, action: AdminAction | undefined, answer: AdminAnswer, latencyMs: number): void {
    const token = presentedToken(call.authorization);
    const b = answer.body as { code?: string; message?: string; refused?: { reason: string; message: string } };
    const outcome: Outcome = answer.status < 400 ? 'allowed' : b.refused ? 'denied' : 'error';
    const { log } = this.options;
    // A call with the token is always recorded; refusals go the refused-record path, whose rate limit keeps a flood
    // of bad tokens from filling the log (or from crowding out the record of a push).
    const event: DecisionEvent = {
      type: 'writegate/decision', decision_id: randomUUID(), timestamp: new Date().toISOString(), path: '', input: undefined,
      labels: log.labels, upstream: '', method: call.method, url: call.url, operation: action, summary: `admin ${action ?? 'refused'}`,
      caller: {
        username: '', remote_addr: call.remoteAddress,
        ...(token !== undefined ? { token_sha256: sha256(token).toString('hex').slice(0, 12) } : {}),
        ...(answer.status !== 401 ? { authenticated_by: 'token' } : {}),
      },
      mode: '', outcome, engine: 'none', reasons: b.refused ? [`${b.refused.reason}: ${b.refused.message}`] : [], warnings: [],
      ...(b.code !== undefined ? { error: { code: b.code, message: b.message ?? '' } } : {}),
      upstream_status: answer.status, latency_ms: latencyMs,
    };
    if (action) log.append(event);
    else log.appendRefused(event);
  }

  private async answer(action: AdminAction, raw: unknown): Promise<AdminAnswer> {
    const parsed = body.safeParse(raw ?? {});
    if (!parsed.success) {
      return errorAnswer(new WritegateError('WG_ERR_BAD_REQUEST', parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')));
    }
    const req = parsed.data;
    const source = this.options.source;
    if (!source) return errorAnswer(new WritegateError('WG_ERR_BAD_REQUEST', 'admin.source is not set in the configuration'));
    const { opa, protect, cache, pushLog } = this.options;
    const common = { source, cache, opa, protect, ...(req.ref ? { ref: req.ref } : {}) };
    const pushing = { ...common, pushLog, ...(req.approve ? { approve: req.approve } : {}), ...(req.threshold !== undefined ? { threshold: req.threshold } : {}) };
    try {
      if (action === 'plan') {
        const p = await plan(common);
        return { status: 200, body: { ...p, changed: p.changes.length > 0 } };
      }
      if (action === 'push') {
        const r = await push(pushing);
        if (r.outcome === 'pushed') await this.options.changed();
        return { status: 200, body: r };
      }
      const d = await drift({ ...pushing, fix: req.fix === true });
      if (d.fix?.push.outcome === 'pushed') await this.options.changed();
      return { status: 200, body: d };
    } catch (err) {
      if (err instanceof PolicyRefusal) return { status: REFUSAL_STATUS[err.reason], body: { refused: { reason: err.reason, message: err.message, problems: err.problems } } };
      return errorAnswer(isWritegateError(err) ? err : new WritegateError('WG_ERR_POLICY_ACTION', (err as Error).message, { cause: err }));
    }
  }
}

/** A catalogue error as the admin API answers it (a 401 names the scheme it wants, RFC 9110 §11.6.1). */
function errorAnswer(err: WritegateError): AdminAnswer {
  return {
    status: err.status,
    ...(err.code === 'WG_ERR_UNAUTHENTICATED' ? { headers: { 'www-authenticate': 'Bearer' } } : {}),
    body: { code: err.code, message: err.message },
  };
}

/**
 * The admin API of a gateway configuration with admin.tokenFile: the service with its token, recording to `log`, on
 * its own OPA client at `opaUrl` (a push compiles the whole library in OPA, longer than a decision's timeout).
 */
export function createPolicyAdmin(admin: NonNullable<Config['admin']> & { tokenFile: string }, opaUrl: string, log: DecisionLog, changed: () => Promise<void>): {
  admin: PolicyAdmin; close(): Promise<void>;
} {
  const token = readAdminToken(admin.tokenFile);
  const opa = new OpaClient({ url: opaUrl, timeoutMs: 60_000 });
  const service = new PolicyAdmin({
    token, log, opa, source: admin.source, protect: admin.protect, cache: defaultCache(), pushLog: admin.pushLog ?? defaultPushLog(), changed,
  });
  return { admin: service, close: () => opa.close() };
}
