/**
 * Cloudflare API v4 response envelopes and the error codes the simulator
 * answers with.
 *
 * Every answer is `{success, errors, messages, result}`; lists add
 * `result_info` (official OpenAPI spec, "Cloudflare API 4.0.0", 4XX schema;
 * shared/research/clients.md §4.1). Error codes and their HTTP statuses come
 * from responses quoted in public client bug reports where one was found
 * ("seen" below, with the report); the rest are marked "unverified": the status
 * is the one the SDK and the spec imply, the code is our best reading and a
 * client should branch on the HTTP status, not on it.
 */

export interface CfErrorItem {
  code: number;
  message: string;
  /** Cloudflare wraps header errors (6003) in a chain of causes. */
  error_chain?: CfErrorItem[];
  /** JSON pointer to the offending body field (rulesets API). */
  source?: { pointer: string };
}

export interface CfMessage {
  code: number;
  message: string;
  type: string | null;
}

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

export interface Envelope {
  success: boolean;
  errors: CfErrorItem[];
  messages: CfMessage[];
  result: unknown;
  result_info?: ResultInfo;
}

/** An error answer; thrown inside handlers and rendered by the server. */
export class CfError extends Error {
  constructor(
    readonly status: number,
    readonly errors: CfErrorItem[],
    /** Answered as `{success, errors}` only, without `messages` and `result`. */
    readonly short = false,
  ) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('; '));
    this.name = 'CfError';
  }
}

export function ok(result: unknown, messages: CfMessage[] = []): Envelope {
  return { success: true, errors: [], messages, result };
}

export function failure(err: CfError): Envelope | Pick<Envelope, 'success' | 'errors'> {
  return err.short ? { success: false, errors: err.errors } : { success: false, errors: err.errors, messages: [], result: null };
}

const fail = (status: number, code: number, message: string, extra: Partial<CfErrorItem> = {}) =>
  new CfError(status, [{ code, message, ...extra }]);

// --- routing ----------------------------------------------------------------

/**
 * 400 for a path that does not route, including one whose identifier is not
 * 32 hex digits (a zone name where the zone id belongs, a record id of
 * another shape). Seen: cloudflare/cloudflare-go#118 ("HTTP status 400", both
 * errors), wherelse/cloudflare-ddns-script#20, timothymiller/cloudflare-ddns#152.
 */
export function noRoute(fullPath: string): CfError {
  return new CfError(400, [
    { code: 7003, message: `Could not route to ${fullPath}, perhaps your object identifier is invalid?` },
    { code: 7000, message: 'No route for that URI' },
  ]);
}

/** 405 for a method a route does not serve. Unverified: code and wording recalled from client reports. */
export function methodNotAllowed(method: string): CfError {
  return fail(405, 7001, `Method ${method} not available for that URI.`);
}

/** Unverified: 6007 is the code clients report for a body that is not JSON. */
export function malformedJson(): CfError {
  return fail(400, 6007, 'Malformed JSON in request body');
}

// --- authentication ----------------------------------------------------------

/** Unverified code (400 as for the other header errors). */
export function missingAuth(): CfError {
  return fail(400, 9106, 'Missing X-Auth-Key, X-Auth-Email or Authorization headers');
}

/**
 * 400 for credentials that do not have the shape of one. Seen: 6003 with
 * chains 6111 (Authorization), 6102 (X-Auth-Email), 6103 (X-Auth-Key) in
 * kissgyorgy/cloudflare-dyndns#40, NewFuture/DDNS#152, cloudflare/cloudflare-typescript#161.
 */
export function invalidHeaders(causes: ('authorization' | 'email' | 'key')[]): CfError {
  const chain: Record<string, CfErrorItem> = {
    authorization: { code: 6111, message: 'Invalid format for Authorization header' },
    email: { code: 6102, message: 'Invalid format for X-Auth-Email header' },
    key: { code: 6103, message: 'Invalid format for X-Auth-Key header' },
  };
  return new CfError(400, [{ code: 6003, message: 'Invalid request headers', error_chain: causes.map((c) => chain[c]!) }]);
}

/**
 * 403 for a well-formed token Cloudflare refuses (unknown, disabled or
 * expired). Seen: 9109 with 403 for a token refused at use (jeessy2/ddns-go#1341,
 * "Cannot use the access token from location: ..."); the wording for an
 * unknown token is unverified.
 */
export function invalidToken(): CfError {
  return fail(403, 9109, 'Invalid access token');
}

/** 403 for an unknown global key / email pair. Seen: 9103 (netcccyun/dnsmgr#245). */
export function unknownKey(): CfError {
  return fail(403, 9103, 'Unknown X-Auth-Key or X-Auth-Email');
}

/**
 * 403 for a valid credential without the permission or the resource the
 * request needs, including a well-formed zone or account id that is not the
 * caller's (or does not exist: an account id used as a zone id answers this,
 * community.cloudflare.com/t/what-is-x-auth-key/203765). Seen: 403 + 10000
 * (hieunc229/mailflare#1, terraform-provider-cloudflare#1533), and answered
 * as `{"success":false,"errors":[...]}` alone, without `messages` and
 * `result` (that thread, BeeHiveSafety/CloudflareToAbuseIPDB#5,
 * cloudflare/cloudflare-docs#20396).
 */
export function authenticationError(): CfError {
  return new CfError(403, [{ code: 10000, message: 'Authentication error' }], true);
}

/** `GET /user/tokens/verify` with a token that is not valid. Unverified: code and status. */
export function invalidApiToken(): CfError {
  return fail(401, 1000, 'Invalid API Token');
}

// --- zones -------------------------------------------------------------------

/** Unverified code; the message is the one the dashboard shows. */
export function zoneExists(name: string): CfError {
  return fail(400, 1061, `${name} already exists`);
}

/** Unverified code. */
export function invalidZoneName(name: string): CfError {
  return fail(400, 1099, `${name} is not a registered domain`);
}

/** Unverified code. */
export function accountRequired(): CfError {
  return fail(400, 1001, 'account.id is required');
}

// --- DNS records -------------------------------------------------------------

/** 404 for a record id that names no record. Seen: 81044 (zanjie1999/cloudflare-api-v4-ddns#5). */
export function recordNotFound(): CfError {
  return fail(404, 81044, 'Record does not exist.');
}

/**
 * Since October 2024 DNS validation errors are answered directly, no longer
 * wrapped as 1004 "DNS Validation Error" with an `error_chain`
 * (cloudflare/cloudflare-docs#15317, simplesurance/cfdns#17).
 */
export const dnsErrors = {
  /** Seen: 9000 (cisagov/manage.get.gov#5244). */
  invalidName: () => fail(400, 9000, 'DNS name is invalid.'),
  /** Seen: 9005 (simplesurance/cfdns#17). */
  invalidA: () => fail(400, 9005, 'Content for A record must be a valid IPv4 address.'),
  /** Unverified code (the A record's is 9005). */
  invalidAAAA: () => fail(400, 9006, 'Content for AAAA record must be a valid IPv6 address.'),
  /** Unverified code: a CNAME, MX, NS or PTR target that is not a hostname. */
  invalidTarget: (type: string) => fail(400, 9007, `Content for ${type} record is invalid.`),
  /** Unverified code. */
  contentRequired: () => fail(400, 9008, 'Content is required.'),
  /** Unverified code: a body, or a field of it, of the wrong JSON type. */
  invalidBody: () => fail(400, 9207, 'Request body is invalid.'),
  /** Unverified code. */
  invalidType: () => fail(400, 9020, 'Invalid DNS record type'),
  /**
   * Seen: 9021 "TTL must be between 30 and 86400 seconds, or 1 for Automatic."
   * on an Enterprise zone (gitlab-org/gitlab!138326); other plans start at 60
   * (the TTL field's description in the spec).
   */
  invalidTtl: (min: number) => fail(400, 9021, `TTL must be between ${min} and 86400 seconds, or 1 for Automatic.`),
  /** Unverified code. */
  notProxiable: (type: string) => fail(400, 9004, `${type} records cannot be proxied.`),
  /** Unverified code. */
  priorityRequired: () => fail(400, 9101, 'Priority is required and must be between 0 and 65535.'),
  /** Seen: 9300 "DNS record has 1 tags, exceeding the quota of 0." (terraform-provider-cloudflare#3217). */
  tagQuota: (n: number, quota: number) => fail(400, 9300, `DNS record has ${n} tags, exceeding the quota of ${quota}.`),
  /** Seen: 81053, a CNAME over an A, AAAA or CNAME (HermanMartinus/bearblog#105). */
  hostExists: () => fail(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.'),
  /** Seen: 81054, an A or AAAA over a CNAME (favonia/cloudflare-ddns#990). */
  cnameExists: () => fail(400, 81054, 'A CNAME record with that host already exists.'),
  /** Seen: 81058 with 400 (jeessy2/ddns-go#1378); 81057 "Record already exists." before 2024. */
  identical: () => fail(400, 81058, 'An identical record already exists.'),
  /** Unverified code; the limits are documented (Free 200, other plans 3,500 per batch). */
  batchTooLarge: (limit: number) => fail(400, 81059, `Batch exceeds the limit of ${limit} DNS record changes.`),
};

// --- other products ----------------------------------------------------------

/**
 * Seen: 10003 "could not find entrypoint ruleset in the http_request_firewall_managed phase"
 * (ibm-mas/ansible-devops#2403); the 404 status and the wording for a ruleset id are unverified.
 */
export const rulesetNotFound = (what: string) => fail(404, 10003, `could not find ${what}`);
/** Unverified code; the rulesets API points at the field with `source.pointer`. */
export const rulesetInvalid = (message: string, pointer: string) => fail(400, 20021, message, { source: { pointer } });
/** Unverified code. */
export const firewallRuleNotFound = () => fail(404, 10014, 'firewallrules.api.not_found');
/** Unverified code. */
export const firewallRuleInvalid = (message: string) => fail(400, 10014, message);
/** Unverified code. */
export const pageRuleNotFound = () => fail(404, 1002, 'Invalid Page Rule identifier');
/** Unverified code. */
export const pageRuleInvalid = (message: string) => fail(400, 1004, message);
/** Unverified code (Access answers with `access.api.error.*` messages). */
export const accessAppNotFound = () => fail(404, 12130, 'access.api.error.not_found');
/** Unverified code. */
export const accessAppInvalid = (message: string) => fail(400, 12130, message);
/** Unverified code (Workers answers 10007 for a script it does not know). */
export const workerRouteNotFound = () => fail(404, 10007, 'workers.api.error.route_not_found');
/** Unverified code. */
export const workerRouteInvalid = (message: string) => fail(400, 10020, message);
