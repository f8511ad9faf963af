import { WritegateError } from '../errors.js';

export interface SplitUrl {
  /** The path exactly as the client sent it (still percent-encoded). */
  rawPath: string;
  /** The query string without the leading `?` ('' when there is none). */
  rawQuery: string;
}

export function splitUrl(url: string): SplitUrl {
  const q = url.indexOf('?');
  return q === -1 ? { rawPath: url, rawQuery: '' } : { rawPath: url.slice(0, q), rawQuery: url.slice(q + 1) };
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
