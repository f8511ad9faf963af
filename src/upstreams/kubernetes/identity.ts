import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import { WritegateError } from '../../errors.js';
import type { UpstreamClient } from '../client.js';
import { callHeaders } from '../headers.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

/**
 * userInfo under `identity: none`: the gateway has not identified the caller, and what the request claims
 * (`Impersonate-*`) is not a fact; the claim stays visible to the policy in `input.headers` only.
 */
export const UNIDENTIFIED: UserInfo = { username: '', groups: [] };

/** The WebSocket subprotocol that carries a bearer token (k8s.io/apiserver/pkg/authentication/request/websocket). */
const BEARER_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';

/**
 * The bearer token a WebSocket upgrade carries in `Sec-WebSocket-Protocol`, read as the apiserver's
 * ProtocolAuthenticator does: every header value split on ",", each entry trimmed; an entry starting with the
 * bearer prefix is base64url without padding of a UTF-8 token. The apiserver answers 401 for two token entries,
 * a bad encoding, or a token with no other subprotocol; the gateway refuses those, and an empty token (which the
 * apiserver would skip) too, so that no request reaches it whose identity was guessed.
 */
function websocketToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['sec-websocket-protocol'];
  if (value === undefined) return undefined;
  const entries = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((p) => p.trim());
  const tokens = entries.filter((p) => p.startsWith(BEARER_PROTOCOL));
  if (tokens.length === 0) return undefined;
  if (tokens.length > 1) throw new WritegateError('WG_ERR_BAD_REQUEST', 'more than one bearer token subprotocol');
  const encoded = tokens[0]!.slice(BEARER_PROTOCOL.length);
  // Go's base64.RawURLEncoding: the URL alphabet, no padding, no length of 1 mod 4; like Node's decoder it is not
  // strict about the unused bits of the last character, so both decode the same bytes.
  if (encoded === '' || !/^[A-Za-z0-9_-]*$/.test(encoded) || encoded.length % 4 === 1) {
    throw new WritegateError('WG_ERR_BAD_REQUEST', 'malformed bearer token subprotocol');
  }
  const bytes = Buffer.from(encoded, 'base64url');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new WritegateError('WG_ERR_BAD_REQUEST', 'bearer token subprotocol is not UTF-8', { cause: err });
  }
  if (entries.length === tokens.length) throw new WritegateError('WG_ERR_BAD_REQUEST', 'a bearer token subprotocol needs another subprotocol');
  return text;
}

/**
 * True when the apiserver sees a WebSocket request (wsstream.IsWebSocketRequest: `Connection` lists upgrade,
 * which src/upgrade.ts always sends for an upgrade, and `Upgrade` is "websocket" in any case).
 */
export function isWebSocketUpgrade(upgrade: boolean, headers: IncomingHttpHeaders): boolean {
  const value = headers.upgrade;
  return upgrade && typeof value === 'string' && value.toLowerCase() === 'websocket';
}

/**
 * Headers that decide who the apiserver thinks the caller is, as the SelfSubjectReview must carry them:
 * `Authorization` and `Impersonate-*`, and for a WebSocket upgrade the bearer token subprotocol as an
 * `Authorization: Bearer` (the review is not a WebSocket request, so the subprotocol would not count there).
 * A WebSocket token next to an `Authorization` header is refused: which of the two the apiserver uses depends
 * on which one it accepts (its union authenticator takes the first that succeeds).
 * Client certificates are the gateway's own (`tls.cert`), the same for the review and the request.
 */
export function credentialHeaders(headers: IncomingHttpHeaders, websocket: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (k === 'authorization' || k.startsWith('impersonate-')) out[k] = v;
  }
  const token = websocket ? websocketToken(headers) : undefined;
  if (token !== undefined) {
    if (out.authorization !== undefined) {
      throw new WritegateError('WG_ERR_BAD_REQUEST', 'both an Authorization header and a bearer token subprotocol');
    }
    out.authorization = `Bearer ${token}`;
  }
  return out;
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
    // Without credentials the caller is anonymous, unless the gateway presents a client certificate upstream:
    // then the apiserver authenticates every request as that certificate, and only the review can say who it is.
    if (Object.keys(creds).length === 0 && !this.upstream.tls.cert) return ANONYMOUS;
    const key = createHash('sha256').update(JSON.stringify(Object.entries(creds).sort())).digest('hex');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const body = Buffer.from(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
    const res = await this.upstream.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', callHeaders(creds, {
      'content-type': 'application/json',
      accept: 'application/json',
    }), body);
    // 401: the credentials fail authentication, and the apiserver answers the request itself 401 the same way.
    if (res.status === 401) return ANONYMOUS;
    // Anything else (the review forbidden or unavailable) says nothing about who the caller is: refuse, not guess.
    if (res.status !== 201 && res.status !== 200) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `the identity lookup (SelfSubjectReview) answered ${res.status}`);
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
