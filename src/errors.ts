/**
 * The one error catalogue. Every error writegate answers with, or exits on, has
 * a stable code, the HTTP status it maps to, and how to fix it (the shape of
 * fastify's lib/errors.js). Match on `err.code`, never on `instanceof`
 * (undici lib/core/errors.js does the same so errors survive realm and version
 * boundaries). The texts are kind-free: an adapter gives the fix as it applies to its kind
 * (UpstreamAdapter.fixes: which media types it decodes, which server to check).
 */
export const errorCatalogue = {
  WG_ERR_CONFIG_INVALID: {
    status: 500,
    message: 'configuration is invalid',
    fix: 'Correct every key listed in the error; `writegate serve --config FILE` reports them all at once.',
  },
  WG_ERR_OPA_UNAVAILABLE: {
    status: 503,
    message: 'policy engine unavailable',
    fix: 'Check that OPA at opa.url is running and reachable; writes are refused (fail closed) until it answers, unless the upstream sets failOpen: true.',
  },
  WG_ERR_OPA_TIMEOUT: {
    status: 503,
    message: 'policy engine did not answer in time',
    fix: 'OPA took longer than opa.timeoutMs; look for slow policies (opa eval --profile) or raise the timeout.',
  },
  WG_ERR_OPA_BAD_ANSWER: {
    status: 503,
    message: 'policy engine answered with an error',
    fix: 'OPA returned an error body (see `errors` in the decision log); fix the policy with `opa check` / `opa test`.',
  },
  WG_ERR_DECISION_LOG: {
    status: 503,
    message: 'the decision could not be recorded',
    fix: 'The decision log file could not be written (disk full, permissions); writes are refused until it can be, because every forwarded write must have its record.',
  },
  WG_ERR_NO_DECISION: {
    status: 403,
    message: 'no decision: the policy is undefined for this request',
    fix: 'The configured policy path has no value for this input; check the upstream `policy` path and that the package is loaded in OPA.',
  },
  WG_ERR_MALFORMED_DECISION: {
    status: 403,
    message: 'the policy returned a decision writegate cannot read',
    fix: 'A decision is a boolean or an object {allow, deny, warn} (policies/README.md).',
  },
  WG_ERR_UNAUTHENTICATED: {
    status: 401,
    message: 'the caller is not authenticated',
    fix: 'Present a credential the gateway accepts (listen.auth): a client certificate signed by listen.tls.clientCA, a bearer token of listen.auth.tokenFile, or the trusted proxy\'s identity headers; a certificate from another CA or an unknown or revoked token is refused.',
  },
  WG_ERR_BAD_PATH: {
    status: 400,
    message: 'request path is ambiguous',
    fix: 'Send the path without encoded slashes, backslashes, dot segments or empty segments.',
  },
  WG_ERR_BAD_REQUEST: {
    status: 400,
    message: 'request is not acceptable',
    fix: 'The request carries something the gateway refuses (such as a method-override header); send it without.',
  },
  WG_ERR_MALFORMED_BODY: {
    status: 400,
    message: 'request body could not be decoded',
    fix: 'Send a well-formed body in a media type the upstream kind decodes, without duplicate keys, non-finite numbers, numbers beyond ±(2^53 − 1) or unpaired surrogate escapes (see policies/README.md).',
  },
  WG_ERR_BODY_TOO_LARGE: {
    status: 413,
    message: 'request body is larger than the configured limit',
    fix: 'Raise limits.bodyBytes in the configuration, or send a smaller body.',
  },
  WG_ERR_REQUEST_TIMEOUT: {
    status: 408,
    message: 'the request did not arrive in time',
    fix: 'The request line and headers must arrive within limits.headersTimeoutMs and the whole request within limits.bodyTimeoutMs; check the client network, or raise the limits.',
  },
  WG_ERR_OVERLOADED: {
    status: 503,
    message: 'the gateway is buffering as many request bodies as it may',
    fix: 'Write bodies being received or decided already take limits.inflightBodyBytes, or limits.inflightBodyBytesPerClient for this client; retry shortly, or raise the limit.',
  },
  WG_ERR_TOO_MANY_STREAMS: {
    status: 429,
    message: 'too many streams in flight from this client',
    fix: 'This client address already has limits.streamsPerClient watches, log follows, exec/attach/port-forward sessions or other reads open; close some, or raise the limit.',
  },
  WG_ERR_RATE_LIMITED: {
    status: 429,
    message: 'too many requests from this caller',
    fix: 'This caller (its verified user, else its address) is over limits.perCaller (rps and burst, or concurrent requests in flight); retry after the Retry-After seconds, or raise the limit.',
  },
  WG_ERR_CREDENTIAL_UNAVAILABLE: {
    status: 503,
    message: 'the gateway cannot present its upstream credential',
    fix: 'The upstream\'s held credential (credentials.tokenFile, env, or clientCert/clientKey) is missing, empty, unreadable or not a valid pair, or impersonate has no authenticated caller; restore it (the file is re-read on the next request).',
  },
  WG_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'request content type is not supported for a write',
    fix: 'Send the write in a media type its upstream kind decodes (the error message names the one refused).',
  },
  WG_ERR_NOT_FOUND: {
    status: 404,
    message: 'no upstream is mounted at this path',
    fix: 'Check the upstream `prefix` values in the configuration.',
  },
  WG_ERR_UPSTREAM_CONNECT: {
    status: 503,
    message: 'upstream is not reachable',
    fix: 'Check the upstream target URL and that the upstream API is running.',
  },
  WG_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    message: 'upstream did not answer in time',
    fix: 'The upstream is slow or stuck; raise the upstream timeoutMs or check the upstream API.',
  },
  WG_ERR_UPSTREAM_BAD_ANSWER: {
    status: 502,
    message: 'upstream answered with something the gateway could not use',
    fix: 'The dry-run or lookup the gateway made upstream failed; see the decision log for the upstream status.',
  },
  WG_ERR_RESOLVE_FAILED: {
    status: 502,
    message: 'could not resolve the object the write would store',
    fix: 'The upstream dry-run of this write failed; the upstream error is in the decision log.',
  },
  WG_ERR_POLICY_ACTION: {
    status: 500,
    message: 'the policy lifecycle action failed',
    fix: 'The admin API could not complete the action (admin.source could not be read, or git, opa or OPA failed); the message says which, and the decision log records it.',
  },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class WritegateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields for the response and the decision log (never secrets). */
  readonly details: Record<string, unknown>;


  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    const entry = errorCatalogue[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WritegateError';
    this.code = code;
    this.status = entry.status;
    this.details = options?.details ?? {};
  }
}

export function isWritegateError(err: unknown): err is WritegateError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && (err as { code: string }).code in errorCatalogue && typeof (err as { status?: unknown }).status === 'number';
}
