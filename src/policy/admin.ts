/**
 * The gateway's admin API for the policy lifecycle (routes/admin.ts wires it): the same plan, push and drift as
 * `writegate policy`, behind a bearer token compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isWritegateError, WritegateError } from '../errors.js';
import type { Config } from '../config/schema.js';
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
  const given = /^Bearer (\S+)$/.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  // An empty token never matches: readAdminToken refuses short ones.
  return timingSafeEqual(digest(given), digest(token));
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
  body: unknown;
}

const REFUSAL_STATUS: Record<RefusalReason, number> = {
  check_failed: 422, tests_failed: 422, approval_required: 403, approval_mismatch: 409, bundle_conflict: 409, opa_changed: 409, opa_refused: 409,
};

/** Runs one admin action at a time (two pushes must not interleave their uploads). */
export class PolicyAdmin {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: AdminOptions) {}

  run(action: AdminAction, raw: unknown): Promise<AdminAnswer> {
    const next = this.queue.then(() => this.answer(action, raw));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async answer(action: AdminAction, raw: unknown): Promise<AdminAnswer> {
    const parsed = body.safeParse(raw ?? {});
    if (!parsed.success) {
      return { status: 400, body: { code: 'invalid_request', message: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') } };
    }
    const req = parsed.data;
    const source = this.options.source;
    if (!source) return { status: 400, body: { code: 'invalid_request', message: 'admin.source is not set in the configuration' } };
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
      if (isWritegateError(err)) return { status: err.status, body: { code: err.code, message: err.message } };
      return { status: 500, body: { code: 'policy_error', message: (err as Error).message } };
    }
  }
}

/**
 * The admin API of a gateway configuration with admin.tokenFile: the token, and the service on its own OPA
 * client at `opaUrl` (a push compiles the whole library in OPA, longer than a decision's timeout).
 */
export function createPolicyAdmin(admin: NonNullable<Config['admin']> & { tokenFile: string }, opaUrl: string, changed: () => Promise<void>): {
  admin: PolicyAdmin; token: string; close(): Promise<void>;
} {
  const token = readAdminToken(admin.tokenFile);
  const opa = new OpaClient({ url: opaUrl, timeoutMs: 60_000 });
  const service = new PolicyAdmin({
    opa, source: admin.source, protect: admin.protect, cache: defaultCache(), pushLog: admin.pushLog ?? defaultPushLog(), changed,
  });
  return { admin: service, token, close: () => opa.close() };
}
