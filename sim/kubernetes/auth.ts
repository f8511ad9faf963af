/**
 * Bearer-token authentication, impersonation and the review APIs
 * (authentication.k8s.io SelfSubjectReview/TokenReview, authorization.k8s.io
 * SelfSubjectAccessReview/SelfSubjectRulesReview/SubjectAccessReview).
 * Authorization is not simulated: every authenticated caller may do everything.
 */
import type { IncomingMessage } from 'node:http';
import { rfc3339, type KubeObject } from './store.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type TokenTable = Record<string, { username: string; uid?: string; groups: string[] }>;

/** Paths a real apiserver lets unauthenticated callers read (system:public-info-viewer). */
const PUBLIC_PATHS = new Set(['/version', '/healthz', '/readyz', '/livez']);

function withAuthenticated(user: UserInfo): UserInfo {
  const groups = user.groups.includes('system:authenticated') ? user.groups : [...user.groups, 'system:authenticated'];
  return { ...user, groups };
}

const BEARER_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';

/**
 * The token of a WebSocket upgrade's `base64url.bearer.authorization.k8s.io.<token>` subprotocol, as the
 * apiserver's websocket ProtocolAuthenticator reads it; '' (never a valid token) for what it refuses: two token
 * subprotocols, or a token with no other subprotocol.
 */
function protocolToken(req: IncomingMessage): string | undefined {
  const upgrade = (req.headers.upgrade ?? '').toLowerCase() === 'websocket' && /upgrade/i.test(String(req.headers.connection ?? ''));
  if (!upgrade) return undefined;
  const entries = (req.headersDistinct['sec-websocket-protocol'] ?? []).flatMap((v) => v.split(',')).map((p) => p.trim());
  const tokens = entries.filter((p) => p.startsWith(BEARER_PROTOCOL));
  if (tokens.length === 0) return undefined;
  if (tokens.length > 1 || tokens.length === entries.length) return '';
  return Buffer.from(tokens[0]!.slice(BEARER_PROTOCOL.length), 'base64url').toString('utf8');
}

/** The bearer token: the Authorization header's, else a WebSocket subprotocol's (the apiserver's authenticator order). */
function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m ? m[1]!.trim() : protocolToken(req);
}

/**
 * The caller's identity, or undefined when the request must get 401. Without a
 * token table every token is user `admin` in `system:masters`.
 */
export function authenticate(req: IncomingMessage, pathname: string, tokens: TokenTable | undefined): UserInfo | undefined | 'anonymous' {
  const token = bearer(req);
  let user: UserInfo;
  if (!tokens) {
    user = { username: 'admin', groups: ['system:masters'] };
  } else if (token === undefined) {
    return PUBLIC_PATHS.has(pathname) ? 'anonymous' : undefined;
  } else {
    const known = tokens[token];
    if (!known) return undefined;
    user = { username: known.username, groups: [...known.groups], ...(known.uid ? { uid: known.uid } : {}) };
  }
  return impersonate(req, withAuthenticated(user));
}

/** Applies `Impersonate-User` / `Impersonate-Group` / `Impersonate-Uid` headers. */
function impersonate(req: IncomingMessage, user: UserInfo): UserInfo {
  const asUser = req.headersDistinct['impersonate-user']?.[0];
  if (!asUser) return user;
  const groups = req.headersDistinct['impersonate-group'] ?? [];
  const uid = req.headersDistinct['impersonate-uid']?.[0];
  return withAuthenticated({ username: asUser, groups: [...groups], ...(uid ? { uid } : {}) });
}

function userInfoJSON(user: UserInfo) {
  return { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) };
}

/** Answers a create on a review resource (these are never stored). */
export function review(kind: string, body: KubeObject, user: UserInfo, tokens: TokenTable | undefined): KubeObject {
  const metadata = { creationTimestamp: rfc3339() };
  const spec = (body.spec as Record<string, unknown> | undefined) ?? {};
  switch (kind) {
    case 'SelfSubjectReview':
      return { apiVersion: 'authentication.k8s.io/v1', kind, metadata, status: { userInfo: userInfoJSON(user) } };
    case 'TokenReview': {
      const token = typeof spec.token === 'string' ? spec.token : '';
      const known = tokens ? tokens[token] : token ? { username: 'admin', groups: ['system:masters'] } : undefined;
      return {
        apiVersion: 'authentication.k8s.io/v1',
        kind,
        metadata,
        spec,
        status: known
          ? { authenticated: true, user: userInfoJSON(withAuthenticated({ ...known })), audiences: (spec.audiences as string[]) ?? [] }
          : { authenticated: false, error: 'invalid bearer token' },
      };
    }
    case 'SelfSubjectRulesReview':
      return {
        apiVersion: 'authorization.k8s.io/v1',
        kind,
        metadata,
        spec,
        status: {
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        },
      };
    default:
      // SelfSubjectAccessReview and SubjectAccessReview: everything is allowed.
      return { apiVersion: 'authorization.k8s.io/v1', kind, metadata, spec, status: { allowed: true, reason: 'the simulator allows every request' } };
  }
}
