import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { UpstreamClient } from '../client.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

/** Headers that decide who the apiserver thinks the caller is. */
export function credentialHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (k === 'authorization' || k.startsWith('impersonate-')) out[k] = v;
  }
  return out;
}

/** userInfo from impersonation headers alone (identity: none). */
export function impersonatedUser(headers: IncomingHttpHeaders): UserInfo {
  const user = headers['impersonate-user'];
  const groups = headers['impersonate-group'];
  if (typeof user !== 'string') return { username: '', groups: [] };
  return { username: user, groups: Array.isArray(groups) ? groups : groups ? [groups] : [] };
}

/**
 * Learns who the caller is by asking the upstream itself: a SelfSubjectReview
 * (authentication.k8s.io/v1, GA in 1.28) sent with the caller's own
 * credentials and impersonation headers returns the userInfo the apiserver
 * will put in its admission request. Answers are cached per credential for a
 * short time (keyed by a hash; the token itself is never kept).
 */
export class KubeIdentity {
  private readonly cache = new LRUCache<string, UserInfo>({ max: 10_000, ttl: 60_000 });

  constructor(private readonly upstream: UpstreamClient) {}

  /** @param creds the caller's credential headers ({@link credentialHeaders}) */
  async resolve(creds: Record<string, string | string[]>): Promise<UserInfo> {
    if (Object.keys(creds).length === 0) return ANONYMOUS;
    const key = createHash('sha256').update(JSON.stringify(Object.entries(creds).sort())).digest('hex');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const body = Buffer.from(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
    const res = await this.upstream.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      ...creds,
      'content-type': 'application/json',
      accept: 'application/json',
    }, body);
    if (res.status !== 201 && res.status !== 200) return ANONYMOUS;
    const review = JSON.parse(res.body.toString('utf8')) as { status?: { userInfo?: Partial<UserInfo> } };
    const u = review.status?.userInfo ?? {};
    const info: UserInfo = {
      username: u.username ?? '',
      ...(u.uid ? { uid: u.uid } : {}),
      groups: u.groups ?? [],
      ...(u.extra ? { extra: u.extra } : {}),
    };
    this.cache.set(key, info);
    return info;
  }
}
