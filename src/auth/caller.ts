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
