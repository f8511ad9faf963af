/**
 * Who a NetBox caller is. NetBox authenticates a REST or GraphQL request by a session cookie or an API token
 * (`REST_FRAMEWORK.DEFAULT_AUTHENTICATION_CLASSES`: session first, then `Authorization: Token <v1>` or
 * `Bearer nbt_<key>.<secret>`), and checks a token's allowed IPs against the client address it is told
 * (`X-Forwarded-For`, netbox/utils/request.py get_client_ip). These go upstream with the request and with the
 * gateway's own reads on the caller's behalf, and never into the policy input or a log.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { UserInfoSource } from '../../auth/caller.js';
import { WritegateError } from '../../errors.js';
import type { UpstreamClient } from '../client.js';
import { callHeaders } from '../headers.js';

export interface NbUserInfo {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
  /** `upstream`: NetBox said whose credential this is; under `identity: gateway`, how the gateway authenticated the caller; `none`: not identified. */
  authenticatedBy: UserInfoSource;
}

export const UNIDENTIFIED: NbUserInfo = { username: '', uid: '', groups: [], extra: {}, authenticatedBy: 'none' };

/** The headers that carry the caller's credentials, lower-case. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie'] as const;

/**
 * The caller as NetBox will see it: its credential headers and its address (the gateway replaces any
 * `X-Forwarded-For` a client sends with the address it connected from, see the adapter's `added` headers).
 */
export function netboxCredentials(headers: IncomingHttpHeaders, remoteAddress: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const h of CREDENTIAL_HEADERS) {
    const v = headers[h];
    if (v !== undefined) out[h] = v;
  }
  if (remoteAddress !== '') out['x-forwarded-for'] = remoteAddress;
  return out;
}

interface CheckAnswer {
  id?: unknown;
  username?: unknown;
  groups?: unknown;
}

/**
 * Learns the caller from NetBox itself: `GET /api/authentication-check/` (NetBox ≥ 4.5, netbox/netbox/api/views.py
 * AuthenticationCheckView) with exactly the caller's credentials answers the user NetBox authenticates them as,
 * serialised as `/api/users/users/` does (`id`, `username`, `groups` [{id, name}]). Cached for 60 s per credential
 * hash (no credential is kept). Credentials NetBox does not accept (403) are unidentified; the write then meets
 * NetBox's own refusal.
 */
export class NetboxIdentity {
  private readonly cache = new LRUCache<string, NbUserInfo>({ max: 10_000, ttl: 60_000 });

  constructor(private readonly upstream: UpstreamClient) {}

  async resolve(creds: Record<string, string | string[]>): Promise<NbUserInfo> {
    if (creds.authorization === undefined && creds.cookie === undefined) return UNIDENTIFIED;
    const key = createHash('sha256').update(JSON.stringify(creds)).digest('hex');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const res = await this.upstream.request('GET', '/api/authentication-check/', callHeaders(creds, { accept: 'application/json' }));
    if (res.status === 401 || res.status === 403) return UNIDENTIFIED;
    if (res.status !== 200) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `the authentication check (GET /api/authentication-check/) answered ${res.status}`);
    }
    let answer: CheckAnswer;
    try {
      answer = JSON.parse(res.body.toString('utf8')) as CheckAnswer;
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', 'the authentication check answered something other than JSON', { cause: err });
    }
    if (typeof answer.username !== 'string' || typeof answer.id !== 'number') {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', 'the authentication check answered no user');
    }
    const groups = Array.isArray(answer.groups)
      ? answer.groups.flatMap((g) => (typeof g === 'object' && g !== null && typeof (g as { name?: unknown }).name === 'string' ? [(g as { name: string }).name] : []))
      : [];
    const info: NbUserInfo = { username: answer.username, uid: String(answer.id), groups, extra: {}, authenticatedBy: 'upstream' };
    this.cache.set(key, info);
    return info;
  }
}
