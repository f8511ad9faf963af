import type { ErrorCode, WritegateError } from '../../errors.js';
import type { RenderedResponse, Violation } from '../types.js';

/**
 * A metav1.Status failure, the envelope every kube client understands
 * (k8s.io/apimachinery/pkg/apis/meta/v1/types.go). kubectl prints a 403 one
 * as `Error from server (Forbidden): <message>`.
 */
function kubeStatus(code: number, reason: string, message: string, details?: Record<string, unknown>): RenderedResponse {
  const body = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
  return { status: code, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** StatusReason values for the HTTP codes writegate answers with (metav1 StatusReason*). */
function reasonFor(status: number): string {
  switch (status) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 413: return 'RequestEntityTooLarge';
    case 415: return 'UnsupportedMediaType';
    case 429: return 'TooManyRequests';
    case 502: return 'InternalError';
    case 503: return 'ServiceUnavailable';
    case 504: return 'Timeout';
    default: return 'InternalError';
  }
}

export function renderDeny(reasons: Violation[], decisionId: string): RenderedResponse {
  const list = reasons.length ? reasons.map((r) => r.msg).join('; ') : 'denied by policy';
  return kubeStatus(403, 'Forbidden', `writegate denied the request: ${list} (decision ${decisionId})`, {
    causes: reasons.map((r) => ({ reason: 'FieldValueForbidden', message: r.msg })),
  });
}

/**
 * How to fix the catalogue's errors as they arise in front of a kube-apiserver (src/errors.ts keeps the kind-free
 * texts). Codes not listed here take the catalogue's.
 */
export const KUBE_FIXES: Partial<Record<ErrorCode, string>> = {
  WG_ERR_MALFORMED_BODY: 'Send a well-formed JSON (or YAML, for apply patches) body, without duplicate keys, non-finite numbers, numbers beyond ±(2^53 − 1) or unpaired surrogate escapes (see policies/README.md).',
  WG_ERR_UNSUPPORTED_MEDIA_TYPE: 'Send JSON, YAML or Kubernetes protobuf bodies.',
  WG_ERR_UPSTREAM_CONNECT: 'Check the upstream target URL and that the API server is running.',
  WG_ERR_UPSTREAM_TIMEOUT: 'The upstream is slow or stuck; raise the upstream timeout or check the API server.',
  WG_ERR_BAD_REQUEST: 'The request carries something the gateway refuses (a method-override header, an upgrade outside exec, attach, portforward and proxy, a Connection header listing Impersonate-*); send it without.',
};

/**
 * A catalogue error as a Status; the fix goes in `details.causes`, where clients that read causes find it
 * (kubectl prints the message: `Error from server (Reason): writegate: ... [WG_ERR_...]`).
 */
export function renderError(err: WritegateError, decisionId: string | undefined, fix?: string): RenderedResponse {
  const suffix = decisionId ? ` (decision ${decisionId})` : '';
  return kubeStatus(err.status, reasonFor(err.status), `writegate: ${err.message} [${err.code}]${suffix}`,
    fix ? { causes: [{ reason: err.code, message: fix }] } : undefined);
}

/**
 * `Warning: 299 - "text"` (RFC 7234 §5.5), the format kube-apiserver uses
 * for admission warnings and kubectl prints as `Warning: text`. Quotes and
 * backslashes are escaped, control characters dropped.
 */
export function warningHeaders(warnings: Violation[]): string[] {
  return warnings.map((w) => {
    const text = w.msg.replace(/[\x00-\x1f\x7f]/g, ' ').replace(/[\\"]/g, (c) => `\\${c}`);
    // Header values travel as latin1 octets; sending the UTF-8 bytes lets Go clients read the text back intact.
    return Buffer.from(`299 - "${text}"`, 'utf8').toString('latin1');
  });
}
