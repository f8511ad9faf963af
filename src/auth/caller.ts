import { WritegateError } from '../errors.js';

/**
 * Who a caller is, as the gateway's caller-authentication stage (`listen.auth`, `listen.tls.clientCA`) or an
 * upstream identity lookup established it. This is `input.request.userInfo` for every kind.
 */
export type AuthenticatedBy = 'x509' | 'token' | 'proxy' | 'tokenreview' | 'selfsubjectreview' | 'upstream' | 'anonymous';

export interface Caller {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
  authenticatedBy: AuthenticatedBy;
}

/**
 * How an upstream's `input.request.userInfo` is learnt (`upstreams[].identity`): `gateway` is the caller
 * `listen.auth` authenticated; `tokenreview` the caller's bearer token as the Kubernetes upstream's TokenReview names
 * it; `selfsubjectreview` and `upstream` what the upstream says of the caller's own credentials; `none` no one.
 */
export type IdentityMode = 'gateway' | 'tokenreview' | 'selfsubjectreview' | 'upstream' | 'none';

export const IDENTITY_MODES = ['gateway', 'tokenreview', 'selfsubjectreview', 'upstream', 'none'] as const satisfies readonly IdentityMode[];

/** How a userInfo was learnt: a caller's `authenticatedBy`, or `none` when no one was identified. */
export type UserInfoSource = AuthenticatedBy | 'none';

/** What the authentication stage says of a request in its decision record (never a credential). */
export interface AuthRecord {
  /** Identity headers (`listen.auth.trustedProxy.headers`) from a peer that is not the trusted proxy: removed. */
  strippedIdentityHeaders?: string[];
  /** The first 12 hex digits of the SHA-256 of the gateway token that authenticated the caller. */
  tokenDigest?: string;
}

/** The group every authenticated caller is in, as the apiserver adds it (authenticatorfactory's AuthenticatedGroupAdder). */
const AUTHENTICATED_GROUP = 'system:authenticated';

/** The caller of a request without credentials when `listen.auth.anonymous` is true (the apiserver's anonymous user). */
export const ANONYMOUS_CALLER: Caller = Object.freeze({
  username: 'system:anonymous', uid: '', groups: Object.freeze(['system:unauthenticated']) as string[], extra: Object.freeze({}) as Record<string, string[]>, authenticatedBy: 'anonymous',
});

/** `caller` with `system:authenticated` among its groups, as the apiserver gives it to every authenticated user. */
export function authenticatedCaller(caller: Caller): Caller {
  return caller.groups.includes(AUTHENTICATED_GROUP) ? caller : { ...caller, groups: [...caller.groups, AUTHENTICATED_GROUP] };
}

/**
 * `userInfo` under `identity: gateway`: a copy of the caller the authentication stage established. The stage
 * answers 401 before any adapter runs when there is none, so its absence here is refused the same way.
 */
export function gatewayUserInfo(caller: Caller | undefined): Caller {
  if (!caller) throw new WritegateError('WG_ERR_UNAUTHENTICATED');
  return { ...caller, groups: [...caller.groups], extra: { ...caller.extra } };
}
