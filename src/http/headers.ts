import type { IncomingHttpHeaders } from 'node:http';
import { WritegateError } from '../errors.js';

/** A name test for a list of lower-case header names, where an entry ending in "-" is a prefix. */
export type HeaderMatcher = (name: string) => boolean;

export function headerMatcher(list: readonly string[]): HeaderMatcher {
  const names = new Set(list.filter((n) => !n.endsWith('-')));
  const prefixes = list.filter((n) => n.endsWith('-'));
  return prefixes.length === 0 ? (name) => names.has(name) : (name) => names.has(name) || prefixes.some((p) => name.startsWith(p));
}

const NONE: HeaderMatcher = () => false;

/**
 * The gateway's own header: a client's value is never forwarded. Identity headers an upstream trusts only from the
 * gateway are the kind's (UpstreamAdapter.headers.stripped).
 */
const GATEWAY_HEADER = 'x-decision-id';

/**
 * Method-override headers honoured by some frameworks. The upstream may ignore them, but a request carrying one
 * is asking someone on the path to treat it as another method; it is refused so no hop can turn a read into a
 * write.
 */
const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];

/** The first method-override header the request carries, if any. */
export function methodOverrideHeader(headers: IncomingHttpHeaders): string | undefined {
  return OVERRIDE_HEADERS.find((h) => headers[h] !== undefined);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'host', 'content-length']);

const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * End-to-end headers that say who the caller is or what the request and its body are. A `Connection` header
 * naming one asks every hop to drop it (RFC 9110 §7.6.1): the gateway would judge a request carrying it and the
 * upstream would execute one without it (`Connection: impersonate-user` made the policy see the impersonated
 * user while the apiserver acted as the caller). Such a request is refused. A kind adds its own identity headers
 * (UpstreamAdapter.headers.protected).
 */
const PROTECTED = headerMatcher([
  'authorization', 'proxy-authorization', 'cookie', 'host',
  'content-type', 'content-length', 'content-encoding', 'transfer-encoding',
  GATEWAY_HEADER, ...OVERRIDE_HEADERS, 'sec-websocket-',
]);

/**
 * Connection options rather than header names to remove (or, for keep-alive, a hop-by-hop header nothing reads),
 * so the common `Connection: keep-alive` costs no copy; `upgrade` names the header the gateway itself acts on.
 */
const CONNECTION_OPTIONS = new Set(['upgrade', 'close', 'keep-alive']);

/** Header names a `Connection` header lists: hop-by-hop for this connection only (RFC 9110 §7.6.1). */
function connectionListed(headers: Record<string, unknown>): Set<string> {
  const value = headers.connection;
  const text = Array.isArray(value) ? value.join(',') : String(value ?? '');
  return new Set(text.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
}

/**
 * The request headers as every hop after the gateway will see them: without the ones `Connection` lists (which
 * the forwarder strips), so that classification, identity and the policy input read exactly what is forwarded.
 * `Upgrade` stays (src/upgrade.ts acts on it). `refused` says the request must be refused because `Connection`
 * lists a protected header, the generic ones or the kind's (`kindProtected`).
 */
export function endToEndRequestHeaders(headers: IncomingHttpHeaders, kindProtected: HeaderMatcher = NONE): { headers: IncomingHttpHeaders; refused?: WritegateError } {
  const connection = headers.connection;
  if (connection === undefined || (typeof connection === 'string' && CONNECTION_OPTIONS.has(connection.toLowerCase()))) return { headers };
  const listed = connectionListed(headers);
  for (const option of CONNECTION_OPTIONS) listed.delete(option);
  if (listed.size === 0) return { headers };
  const kept = withoutListed(headers, listed);
  for (const name of listed) {
    if (PROTECTED(name) || kindProtected(name)) {
      return { headers: kept, refused: new WritegateError('WG_ERR_BAD_REQUEST', `the Connection header lists the end-to-end header "${name}"`) };
    }
  }
  return { headers: kept };
}

function withoutListed(headers: IncomingHttpHeaders, listed: Set<string>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!listed.has(k)) out[k] = v;
  return out;
}

/**
 * Removes hop-by-hop headers (RFC 9110 §7.6.1), the gateway's own and the ones a client must not set for this
 * kind (`kindStripped`) before forwarding.
 */
export function cleanRequestHeaders(headers: Record<string, string | string[] | undefined>, kindStripped: HeaderMatcher = NONE): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(headers);
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (HOP_BY_HOP.has(k) || listed.has(k) || k === GATEWAY_HEADER || kindStripped(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * An upstream answer's end-to-end headers: hop-by-hop ones (RFC 9110 §7.6.1) and the ones its `Connection`
 * header lists describe the upstream connection, not ours (an upstream `Connection: keep-alive` copied onto the
 * client's response would keep a connection open that the client asked to close).
 */
export function cleanResponseHeaders<T extends string | string[] | number | undefined>(headers: Record<string, T>): Record<string, Exclude<T, undefined>> {
  const listed = connectionListed(headers);
  const out: Record<string, Exclude<T, undefined>> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !RESPONSE_HOP_BY_HOP.has(k) && !listed.has(k)) out[k] = v as Exclude<T, undefined>;
  }
  return out;
}

/**
 * The allow-listed request headers a policy input carries (`input.headers`): lower-case names, repeated values
 * joined with ", " (RFC 9110 §5.3). Each kind names its list; credentials are never on one.
 */
export function inputHeaders(headers: IncomingHttpHeaders, allowList: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of allowList) {
    const v = headers[h];
    if (v !== undefined) out[h] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
