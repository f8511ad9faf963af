/**
 * Answers in Cloudflare's own envelope, `{"success": false, "errors": [{"code", "message"}], "messages": [],
 * "result": null}` (official OpenAPI spec, 4XX schema; shared/research/clients.md §4.1), so that Cloudflare clients
 * show them as they show Cloudflare's errors: the `cloudflare` SDK raises an APIError by HTTP status whose
 * `errors` are this list and whose message quotes the body.
 */
import { errorCatalogue, type ErrorCode, type WritegateError } from '../../errors.js';
import type { RenderedResponse, Violation } from '../types.js';

/**
 * The `code` of writegate's own errors: 90000 plus the HTTP status (a deny is 90403). Cloudflare's codes are below
 * 90000 (1000s to 81000s in the spec and in the answers seen), so a client can tell the gateway's from the API's.
 */
const WRITEGATE_CODE_BASE = 90000;

function envelope(status: number, errors: Array<{ code: number; message: string }>): RenderedResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ success: false, errors, messages: [], result: null }),
  };
}

/** 403, one error per violation, each naming the decision. */
export function renderDeny(reasons: Violation[], decisionId: string): RenderedResponse {
  const list = reasons.length ? reasons : [{ msg: 'denied by policy' }];
  return envelope(403, list.map((r) => ({ code: WRITEGATE_CODE_BASE + 403, message: `writegate denied the request: ${r.msg} (decision ${decisionId})` })));
}

/** How to fix the catalogue's errors as they arise in front of Cloudflare. */
export const CLOUDFLARE_FIXES: Partial<Record<ErrorCode, string>> = {
  WG_ERR_BAD_PATH: 'Send Cloudflare API v4 paths (/client/v4/...) without encoded slashes, backslashes, dot or empty segments, ";" or "#".',
  WG_ERR_BAD_REQUEST: 'Send one credential scheme (Authorization: Bearer, or X-Auth-Email with X-Auth-Key), no method-override header, ASCII snake_case field names in DNS record and ruleset bodies, and each record once per DNS batch.',
  WG_ERR_MALFORMED_BODY: 'Send one well-formed UTF-8 JSON value, without duplicate keys, non-finite numbers, numbers beyond ±(2^53 − 1) or unpaired surrogate escapes (see policies/README.md).',
  WG_ERR_UNSUPPORTED_MEDIA_TYPE: 'Send write bodies as JSON (Content-Type: application/json), not content-encoded; multipart uploads and zone-file imports cannot be judged and are refused.',
  WG_ERR_RESOLVE_FAILED: 'Before an update or delete the gateway reads the current object from Cloudflare with your credentials; that read failed. Check the id and the credential\'s read permission.',
  WG_ERR_UPSTREAM_BAD_ANSWER: 'A read the gateway made on your behalf (token verification, zone, current object) answered something other than a Cloudflare JSON envelope; check the upstream target.',
  WG_ERR_UPSTREAM_CONNECT: 'Check the upstream target URL (https://api.cloudflare.com, or the API\'s address here) and the network path to it.',
  WG_ERR_NO_DECISION: 'The configured policy path has no value for this input; check the upstream `policy` path (writegate/cloudflare/decision) and that the package is loaded in OPA.',
};

/** Cloudflare's own code for a request it does not authenticate (401 `{"code": 10000, "message": "Authentication error"}`). */
const AUTHENTICATION_ERROR = 10000;

/**
 * A catalogue error: its status, writegate's code, its message, its code name, how to fix it, and the decision. A
 * caller the gateway does not authenticate gets Cloudflare's own authentication error code, which clients act on.
 */
export function renderError(err: WritegateError, decisionId: string | undefined, fix: string): RenderedResponse {
  const suffix = decisionId ? ` (decision ${decisionId})` : '';
  const code = err.code === 'WG_ERR_UNAUTHENTICATED' ? AUTHENTICATION_ERROR : WRITEGATE_CODE_BASE + err.status;
  const prefix = err.code === 'WG_ERR_UNAUTHENTICATED' ? 'Authentication error: ' : '';
  return envelope(err.status, [{ code, message: `${prefix}writegate: ${err.message} [${err.code}]. ${fix}${suffix}` }]);
}

export function fixFor(code: ErrorCode): string {
  return CLOUDFLARE_FIXES[code] ?? errorCatalogue[code].fix;
}

/**
 * `Warning: 299 - "text"` (RFC 7234 §5.5): Cloudflare has no warning header of its own, and the body of a
 * forwarded write is Cloudflare's, so warnings travel in the standard header. Quotes and backslashes are escaped,
 * control characters dropped; the UTF-8 bytes go as latin1 octets.
 */
export function warningHeaders(warnings: Violation[]): string[] {
  return warnings.map((w) => {
    const text = w.msg.replace(/[\x00-\x1f\x7f]/g, ' ').replace(/[\\"]/g, (c) => `\\${c}`);
    return Buffer.from(`299 - "${text}"`, 'utf8').toString('latin1');
  });
}
