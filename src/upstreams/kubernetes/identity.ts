import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Caller, IdentityMode, UserInfoSource } from '../../auth/caller.js';
import type { TokenReviewer } from '../../auth/stage.js';
import { WritegateError } from '../../errors.js';
import type { UpstreamClient } from '../client.js';
import { callHeaders } from '../headers.js';

/** AdmissionReview's userInfo (empty uid and extra left out, as the apiserver sends it), and how it was learnt. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
  authenticatedBy: UserInfoSource;
}

/** The identity a request asks the apiserver to act as (`Impersonate-*`), for the policy beside the real caller. */
export interface ImpersonatedUser {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'], authenticatedBy: 'anonymous' };

/**
 * userInfo under `identity: none`: the gateway has not identified the caller, and what the request claims
 * (`Impersonate-*`) is not a fact; the claim is in `impersonatedUser` and `input.headers` only.
 */
export const UNIDENTIFIED: UserInfo = { username: '', groups: [], authenticatedBy: 'none' };

/** A caller as AdmissionReview's userInfo. */
export function kubeUserInfo(caller: Caller): UserInfo {
  return {
    username: caller.username,
    ...(caller.uid ? { uid: caller.uid } : {}),
    groups: [...caller.groups],
    ...(Object.keys(caller.extra).length ? { extra: caller.extra } : {}),
    authenticatedBy: caller.authenticatedBy,
  };
}

/**
 * The identity the request asks the apiserver to act as, read from exactly the headers that go upstream (a header
 * sent twice reaches it as the one joined value the gateway forwards), as k8s.io/apiserver's impersonation filter
 * reads them: `Impersonate-User`, each `Impersonate-Group` a group, `Impersonate-Uid`, and `Impersonate-Extra-<key>`
 * with the key lower-cased and percent-decoded. Null without `Impersonate-User`; groups, uid or extras without it
 * are refused, as the apiserver refuses them (400).
 */
export function impersonatedUser(headers: IncomingHttpHeaders): ImpersonatedUser | null {
  const names = Object.keys(headers).filter((h) => h.startsWith('impersonate-'));
  if (names.length === 0) return null;
  const one = (name: string): string => String(headers[name] ?? '');
  const username = one('impersonate-user');
  if (username === '') throw new WritegateError('WG_ERR_BAD_REQUEST', `${names.join(', ')} without Impersonate-User (the apiserver refuses it)`);
  const extra: Record<string, string[]> = {};
  for (const name of names) {
    if (!name.startsWith('impersonate-extra-')) continue;
    const raw = name.slice('impersonate-extra-'.length);
    let key: string;
    try {
      key = decodeURIComponent(raw);
    } catch {
      throw new WritegateError('WG_ERR_BAD_REQUEST', `${name}: a malformed percent-encoded extra key`);
    }
    extra[key] = [one(name)];
  }
  return {
    username,
    uid: headers['impersonate-uid'] === undefined ? '' : one('impersonate-uid'),
    groups: headers['impersonate-group'] === undefined ? [] : [one('impersonate-group')],
    extra,
  };
}

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
      authenticatedBy: 'selfsubjectreview',
    };
    this.cache.set(key, info);
    return info;
  }
}

/** A TokenReview's `status.user` (authentication.k8s.io/v1 UserInfo). */
interface ReviewedUser {
  username?: unknown;
  uid?: unknown;
  groups?: unknown;
  extra?: unknown;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * `identity: tokenreview`: a bearer token the gateway's own methods do not know is reviewed by the upstream, with
 * a TokenReview (authentication.k8s.io/v1) sent as the gateway itself — its held credential
 * (UpstreamClient.credentials.ownHeaders) or its client certificate (`tls.cert`) — so the caller needs no right to
 * create reviews. Answers are cached per token digest (authenticated 60 s, not authenticated 10 s, at most 10,000;
 * the token itself is never kept), so a revoked token may work for up to 60 s more.
 */
export class KubeTokenReview implements TokenReviewer {
  private readonly cache = new LRUCache<string, { caller: Caller | null }>({ max: 10_000, ttl: 60_000 });

  constructor(private readonly upstream: UpstreamClient) {}

  async review(token: string): Promise<Caller | undefined> {
    const key = createHash('sha256').update(token).digest('hex');
    const hit = this.cache.get(key);
    if (hit) return hit.caller ?? undefined;
    const body = Buffer.from(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }));
    const res = await this.upstream.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      ...this.upstream.credentials.ownHeaders(), 'content-type': 'application/json', accept: 'application/json',
    }, body);
    if (res.status !== 201 && res.status !== 200) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `the identity lookup (TokenReview) answered ${res.status}; the gateway's own credential must be allowed to create tokenreviews`);
    }
    let review: { status?: { authenticated?: unknown; user?: ReviewedUser } };
    try {
      review = JSON.parse(res.body.toString('utf8')) as typeof review;
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', 'the TokenReview answered something other than JSON', { cause: err });
    }
    const user = review.status?.user;
    if (review.status?.authenticated !== true || typeof user?.username !== 'string' || user.username === '') {
      this.cache.set(key, { caller: null }, { ttl: 10_000 });
      return undefined;
    }
    const extra: Record<string, string[]> = {};
    if (typeof user.extra === 'object' && user.extra !== null) {
      for (const [k, v] of Object.entries(user.extra)) extra[k] = strings(v);
    }
    const caller: Caller = {
      username: user.username, uid: typeof user.uid === 'string' ? user.uid : '', groups: strings(user.groups), extra, authenticatedBy: 'tokenreview',
    };
    this.cache.set(key, { caller });
    return caller;
  }
}

/**
 * Who the policy is told the caller is, by `upstreams[].identity`: `gateway` and `tokenreview` the caller the
 * authentication stage established (under `tokenreview` without listen.auth, a request without a bearer token is
 * anonymous, as the apiserver takes it); `selfsubjectreview` the upstream's answer for the caller's credentials;
 * `none` no one.
 */
export class KubeCallerIdentity {
  private readonly review: KubeIdentity | undefined;

  constructor(private readonly mode: IdentityMode, upstream: UpstreamClient) {
    this.review = mode === 'selfsubjectreview' ? new KubeIdentity(upstream) : undefined;
  }

  async resolve(caller: Caller | undefined, creds: Record<string, string | string[]>): Promise<UserInfo> {
    if (this.mode === 'gateway' || this.mode === 'tokenreview') {
      // The authentication stage answered 401 before the adapter ran when there is no caller.
      if (!caller) throw new WritegateError('WG_ERR_UNAUTHENTICATED');
      return kubeUserInfo(caller);
    }
    return this.review ? this.review.resolve(creds) : UNIDENTIFIED;
  }
}
