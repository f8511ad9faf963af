/**
 * Who a Cloudflare caller is. Cloudflare authenticates every request by one of two schemes (API reference,
 * "Security"): an API token (`Authorization: Bearer <token>`) or a user's global key (`X-Auth-Email` with
 * `X-Auth-Key`); Origin CA endpoints also take `X-Auth-User-Service-Key`. All are credentials: they go upstream
 * with the request and with the gateway's own reads on the caller's behalf, and never into the policy input or a
 * log.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { UserInfoSource } from '../../auth/caller.js';
import { WritegateError } from '../../errors.js';
import type { UpstreamClient } from '../client.js';
import { API_PREFIX } from './paths.js';

/** The credential headers, lower-case. */
export const CREDENTIAL_HEADERS = ['authorization', 'x-auth-email', 'x-auth-key', 'x-auth-user-service-key'] as const;

export interface CfUserInfo {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
  /** `upstream`: Cloudflare said whose credential this is; under `identity: gateway`, how the gateway authenticated the caller; `none`: not identified. */
  authenticatedBy: UserInfoSource;
}

export const UNIDENTIFIED: CfUserInfo = { username: '', uid: '', groups: [], extra: {}, authenticatedBy: 'none' };

/**
 * The caller's credential headers as they go upstream. A request carrying a token and a global key, or a service
 * key besides either, is refused: which one Cloudflare would act on is not documented, and a guess could make the
 * policy judge one identity while the upstream acts as the other.
 */
export function cloudflareCredentials(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const h of CREDENTIAL_HEADERS) {
    const v = headers[h];
    if (v !== undefined) out[h] = v;
  }
  const schemes = [out.authorization !== undefined, out['x-auth-email'] !== undefined || out['x-auth-key'] !== undefined, out['x-auth-user-service-key'] !== undefined];
  if (schemes.filter(Boolean).length > 1) {
    throw new WritegateError('WG_ERR_BAD_REQUEST', 'the request carries more than one Cloudflare credential scheme (API token, global key, service key); send one');
  }
  return out;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v;
}

/**
 * Learns the caller from Cloudflare itself, cached per credential for 60 s (keyed by a hash; no credential is kept).
 * - An API token: `GET /user/tokens/verify` with the caller's token answers the token's id and status; an active
 *   token is `{username: <token id>, uid: <token id>}`. A token it does not vouch for (unknown, disabled, expired,
 *   or account-owned, which verifies elsewhere) is unidentified; the write then meets Cloudflare's own refusal.
 * - A global key: the user is the `X-Auth-Email`, in lower case. Cloudflare checks the email and key as a pair on
 *   every request, so the write runs as that user or not at all; no lookup is needed.
 * - A service key or none: unidentified.
 */
export class CloudflareIdentity {
  private readonly cache = new LRUCache<string, CfUserInfo>({ max: 10_000, ttl: 60_000 });

  constructor(private readonly upstream: UpstreamClient) {}

  async resolve(creds: Record<string, string | string[]>): Promise<CfUserInfo> {
    const email = one(creds['x-auth-email']);
    if (email !== undefined && creds['x-auth-key'] !== undefined) {
      // In lower case: one Cloudflare user is one address whatever its spelling, and a rule naming a user must not
      // be side-stepped by writing the address in other letters.
      return { username: email.toLowerCase(), uid: '', groups: [], extra: { scheme: ['global-key'] }, authenticatedBy: 'upstream' };
    }
    const authorization = one(creds.authorization);
    if (authorization === undefined || !/^Bearer \S+$/.test(authorization)) return UNIDENTIFIED;
    const key = createHash('sha256').update(authorization).digest('hex');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const res = await this.upstream.request('GET', `${API_PREFIX}/user/tokens/verify`, { authorization, accept: 'application/json' });
    if (res.status !== 200) return UNIDENTIFIED;
    let answer: { success?: unknown; result?: { id?: unknown; status?: unknown } };
    try {
      answer = JSON.parse(res.body.toString('utf8')) as typeof answer;
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', 'the token verification answered something other than JSON', { cause: err });
    }
    const id = answer.result?.id;
    if (answer.success !== true || typeof id !== 'string' || answer.result?.status !== 'active') return UNIDENTIFIED;
    const info: CfUserInfo = { username: id, uid: id, groups: [], extra: { scheme: ['api-token'] }, authenticatedBy: 'upstream' };
    this.cache.set(key, info);
    return info;
  }
}
