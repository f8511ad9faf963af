import { WritegateError } from '../errors.js';

export interface SplitUrl {
  /** The path exactly as the client sent it (still percent-encoded). */
  rawPath: string;
  /** The query string without the leading `?` ('' when there is none). */
  rawQuery: string;
}

/**
 * Bytes a request path may hold literally: RFC 3986 `pchar` and "/", without ";". Everything else is refused
 * rather than interpreted, because the hops after the gateway read it differently: the forwarder builds its
 * request with WHATWG `new URL()` (@fastify/reply-from lib/utils.js buildURL, then `pathname + search` in
 * lib/request.js), which cuts the target at "#", percent-encodes `"`, `<`, `>`, `{`, `}`, "`" and spaces, and
 * resolves dot segments; ";" starts path parameters for servers behind the apiserver's proxy subresource.
 */
const PATH_BYTES = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
/**
 * Bytes a query may hold literally: RFC 3986 `query` without ";" and "'". Go's url.ParseQuery (what the
 * apiserver's `req.URL.Query()` runs) drops every pair containing ";" since Go 1.17, so `?dryRun=All;x=1` would
 * mean one thing to the policy and another upstream; WHATWG URL percent-encodes "'" in the query of an http(s)
 * URL, so the forwarded bytes would differ from the ones judged.
 */
const QUERY_BYTES = /^[A-Za-z0-9\-._~!$&()*+,=:@/?%]*$/;
/** A "%" not followed by two hex digits: Go answers 400 for it in a path and drops the pair in a query. */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * Splits an origin-form request target (RFC 9112 §3.2.1) into path and query, and refuses every target whose
 * bytes the forwarder or the upstream would rewrite or read another way: a fragment ("#" — the forwarder drops
 * it and all that follows, so `namespaces/production#/pods/x` would reach the apiserver as the namespace
 * itself), absolute or asterisk forms, a missing leading "/", spaces, non-ASCII and other bytes outside
 * RFC 3986, ";" anywhere, and malformed escapes. What passes is forwarded byte for byte.
 */
export function splitUrl(url: string): SplitUrl {
  if (!url.startsWith('/')) throw new WritegateError('WG_ERR_BAD_PATH', 'the request target must be a path starting with "/"');
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  if (!PATH_BYTES.test(rawPath)) throw new WritegateError('WG_ERR_BAD_PATH', 'the path holds a character outside RFC 3986 (such as "#", ";", a space or non-ASCII)');
  if (!QUERY_BYTES.test(rawQuery)) throw new WritegateError('WG_ERR_BAD_PATH', 'the query holds a character outside RFC 3986 (such as "#", ";", "\'", a space or non-ASCII)');
  if (BAD_ESCAPE.test(url)) throw new WritegateError('WG_ERR_BAD_PATH', 'malformed percent-encoding');
  if (q !== -1 && rawQuery === '') throw new WritegateError('WG_ERR_BAD_PATH', 'an empty query ("?" with nothing after it)');
  return { rawPath, rawQuery };
}

/**
 * The path and query a WHATWG-URL-based forwarder (reply-from, undici's URL form) would send for `target`
 * resolved against `origin` (spelled as `URL.origin` spells it); '' if it would leave that origin. The gateway
 * forwards only targets for which this is `target` itself: what the upstream executes is byte for byte what was
 * classified.
 */
export function forwardedTarget(origin: string, target: string): string {
  const url = new URL(target, origin);
  return url.origin === origin ? url.pathname + url.search : '';
}

/**
 * Decodes a request path the way Go's net/url does for `URL.Path` (what the
 * kube-apiserver's RequestInfoFactory splits on "/"), and refuses every form
 * whose meaning could differ between this gateway and the upstream: encoded
 * slashes or backslashes (Go decodes %2F into a real "/", so `pods/x%2Fexec`
 * would be the exec subresource upstream), dot segments (a router that cleans
 * paths would move the request to another resource), empty segments, NUL and
 * other control characters, and malformed escapes. What passes is
 * unambiguous, so the raw path can be forwarded byte for byte.
 */
export function decodeRequestPath(rawPath: string): string {
  if (!rawPath.startsWith('/')) throw new WritegateError('WG_ERR_BAD_PATH', 'path must start with "/"');
  if (/%2f|%5c/i.test(rawPath) || rawPath.includes('\\')) {
    throw new WritegateError('WG_ERR_BAD_PATH', 'encoded slash or backslash in path');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch (err) {
    throw new WritegateError('WG_ERR_BAD_PATH', 'malformed percent-encoding', { cause: err });
  }
  // eslint-style control check without a regex literal holding control characters
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new WritegateError('WG_ERR_BAD_PATH', 'control character in path');
  }
  const segments = decoded.split('/').slice(1);
  segments.forEach((s, i) => {
    if (s === '.' || s === '..') throw new WritegateError('WG_ERR_BAD_PATH', 'dot segment in path');
    // A single trailing slash is tolerated (it names the same resource upstream); inner empty segments are not.
    if (s === '' && i !== segments.length - 1) throw new WritegateError('WG_ERR_BAD_PATH', 'empty segment in path');
  });
  return decoded;
}

/** Parses a query string into name → values, the way Go's url.ParseQuery does for "&"-separated pairs. */
export function parseQuery(rawQuery: string): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  if (!rawQuery) return out;
  for (const pair of rawQuery.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch (err) {
      throw new WritegateError('WG_ERR_BAD_REQUEST', 'malformed percent-encoding in query', { cause: err });
    }
    (out[key] ??= []).push(value);
  }
  return out;
}
