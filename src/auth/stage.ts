import type { IncomingHttpHeaders } from 'node:http';
import { WritegateError, isWritegateError } from '../errors.js';
import type { GateRequest } from '../upstreams/types.js';
import { bearerToken, type CallerAuth } from './authenticate.js';
import { ANONYMOUS_CALLER, type Caller } from './caller.js';

/** A mount's own token authenticator: the upstream reviews a bearer token (Kubernetes `identity: tokenreview`). */
export interface TokenReviewer {
  /** The caller the upstream says the token is; undefined when it says the token authenticates no one. */
  review(token: string): Promise<Caller | undefined>;
}

/** What the authentication stage needs of a mount's kind (UpstreamAdapter). */
export interface MountAuthentication {
  /** The upstream's own token authenticator (Kubernetes `identity: tokenreview`). */
  readonly tokenReviewer?: TokenReviewer;
  /** The kind authenticates its callers itself, from the request's bytes (AWS SigV4). */
  readonly authenticatesCallers?: boolean;
}

/** The connection a request came on, as the authentication stage reads it. */
export interface Peer {
  socket: unknown;
  /** The request's headers with every field line kept apart (IncomingMessage.headersDistinct). */
  distinct: NodeJS.Dict<string[]>;
}

/**
 * The authentication stage of one request on one mount, before its adapter runs: `req` with its caller, its
 * headers as the gateway forwards them (without a consumed gateway token or spoofed identity headers) and what
 * the decision record says of it, or the 401 (`refused`) the request gets in its kind's envelope. Without
 * `listen.auth` and without a reviewer the request is as it came (the kind learns what it can upstream). On a mount
 * whose kind authenticates its own callers the stage only removes identity headers.
 */
export async function authenticateRequest(
  auth: CallerAuth | undefined, mount: MountAuthentication, req: GateRequest, peer: Peer,
): Promise<{ req: GateRequest; refused?: WritegateError }> {
  const reviewer = mount.tokenReviewer;
  if (!auth && !reviewer) return { req };
  if (auth && mount.authenticatesCallers) {
    // The kind names the caller once it has verified the request's own credential (AWS: SigV4 over the body, which
    // is not read yet); a gateway credential is no one here, and identity headers are never facts.
    const { headers, stripped } = auth.withoutIdentityHeaders(req.headers);
    return { req: { ...req, headers, authRecord: stripped.length ? { strippedIdentityHeaders: stripped } : {} } };
  }
  const a = auth
    ? auth.authenticate(peer.socket, req.remoteAddress, req.headers, peer.distinct)
    : { headers: req.headers, stripped: [], ...reviewable(req.headers) };
  const record = {
    ...(a.stripped.length ? { strippedIdentityHeaders: a.stripped } : {}),
    ...(a.tokenDigest ? { tokenDigest: a.tokenDigest } : {}),
  };
  const out: GateRequest = { ...req, headers: a.headers, authRecord: record };
  // A token no local method knew goes to the mount's reviewer, before anonymity is assumed.
  if (reviewer && a.bearer !== undefined && (a.caller === undefined || a.caller.authenticatedBy === 'anonymous')) {
    let reviewed: Caller | undefined;
    try {
      reviewed = await reviewer.review(a.bearer);
    } catch (err) {
      return { req: out, refused: isWritegateError(err) ? err : new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', (err as Error).message, { cause: err }) };
    }
    if (!reviewed) return { req: out, refused: new WritegateError('WG_ERR_UNAUTHENTICATED', 'the upstream\'s TokenReview does not authenticate the bearer token') };
    return { req: { ...out, caller: reviewed } };
  }
  if (a.caller) return { req: { ...out, caller: a.caller } };
  // A mount that reviews tokens, without listen.auth: no token is the apiserver's anonymous user.
  if (!auth) return { req: { ...out, caller: ANONYMOUS_CALLER } };
  return { req: out, refused: a.refused ?? new WritegateError('WG_ERR_UNAUTHENTICATED') };
}

function reviewable(headers: IncomingHttpHeaders): { bearer?: string } {
  const token = bearerToken(headers);
  return token === undefined ? {} : { bearer: token };
}
