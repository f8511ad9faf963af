/**
 * Answers in NetBox's own error shape, `{"detail": "..."}` (Django REST framework's exception handler, what NetBox
 * answers to a 403, 404 or 415), so that NetBox clients show them as they show NetBox's: pynetbox raises a
 * RequestError whose message is the body's `detail`.
 */
import { errorCatalogue, type ErrorCode, type WritegateError } from '../../errors.js';
import type { RenderedResponse, Violation } from '../types.js';

function detail(status: number, text: string): RenderedResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ detail: text }) };
}

/** 403 naming every violation and the decision. */
export function renderDeny(reasons: Violation[], decisionId: string): RenderedResponse {
  const list = reasons.length ? reasons.map((r) => r.msg) : ['denied by policy'];
  return detail(403, `writegate denied the request: ${list.join('; ')} (decision ${decisionId})`);
}

/** How to fix the catalogue's errors as they arise in front of NetBox. */
export const NETBOX_FIXES: Partial<Record<ErrorCode, string>> = {
  WG_ERR_BAD_PATH: 'Send NetBox API paths as NetBox routes them: /api/<app>/<model>/ or /api/<app>/<model>/<id>/ with the trailing slash, the id in decimal, without encoded slashes, backslashes, dot or empty segments, ";" or "#".',
  WG_ERR_BAD_REQUEST: 'Send a bulk write as a list of objects (each update or delete with its integer "id") to the list endpoint, one object to a detail endpoint, GraphQL queries only (NetBox has no mutations), no method-override header and no header name with "_".',
  WG_ERR_MALFORMED_BODY: 'Send one well-formed UTF-8 JSON value, without duplicate keys, non-finite numbers, numbers beyond ±(2^53 − 1) or unpaired surrogate escapes (see policies/README.md).',
  WG_ERR_UNSUPPORTED_MEDIA_TYPE: 'Send write bodies as JSON (Content-Type: application/json), not content-encoded; multipart uploads (image attachments) cannot be judged and are refused.',
  WG_ERR_RESOLVE_FAILED: 'Before an update or delete the gateway reads the current object from NetBox with your token; that read failed. Check the id and that the token may view the object.',
  WG_ERR_UPSTREAM_BAD_ANSWER: 'A read the gateway made on your behalf (authentication check, current object) answered something other than NetBox JSON; check the upstream target (NetBox 4.5 or later, served under the mount\'s path).',
  WG_ERR_UPSTREAM_CONNECT: 'Check the upstream target URL (NetBox\'s address with BASE_PATH equal to the mount, e.g. http://netbox:8080/netbox for the mount /netbox) and the network path to it.',
  WG_ERR_NO_DECISION: 'The configured policy path has no value for this input; check the upstream `policy` path (writegate/netbox/decision) and that the package is loaded in OPA.',
};

export function fixFor(code: ErrorCode): string {
  return NETBOX_FIXES[code] ?? errorCatalogue[code].fix;
}

/** Django REST framework's NotAuthenticated detail, which NetBox answers to a request without credentials. */
const NOT_AUTHENTICATED = 'Authentication credentials were not provided.';

/**
 * A catalogue error: its status, its message, its code name, how to fix it, and the decision. A caller the gateway
 * does not authenticate gets NetBox's own 401 answer (the reason is in the decision log, under X-Decision-Id).
 */
export function renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse {
  if (err.code === 'WG_ERR_UNAUTHENTICATED') return detail(401, NOT_AUTHENTICATED);
  const suffix = decisionId ? ` (decision ${decisionId})` : '';
  return detail(err.status, `writegate: ${err.message} [${err.code}]. ${fixFor(err.code)}${suffix}`);
}

/**
 * `Warning: 299 - "text"` (RFC 7234 §5.5): NetBox has no warning header of its own and the body of a forwarded
 * write is NetBox's, so warnings travel in the standard header. Quotes and backslashes are escaped, control
 * characters dropped; the UTF-8 bytes go as latin1 octets.
 */
export function warningHeaders(warnings: Violation[]): string[] {
  return warnings.map((w) => {
    const text = w.msg.replace(/[\x00-\x1f\x7f]/g, ' ').replace(/[\\"]/g, (c) => `\\${c}`);
    return Buffer.from(`299 - "${text}"`, 'utf8').toString('latin1');
  });
}
