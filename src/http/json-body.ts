/**
 * A write body read as a JSON API reads it, for kinds whose API takes JSON only: declared `application/json`,
 * identity-encoded (a framework that does not decode a Content-Encoding would store other bytes than the policy
 * read), UTF-8 without a byte-order mark, one JSON value without duplicate keys (./json.ts). Errors never quote
 * the body: it may hold a secret, and the message goes to the client and into the decision log.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { WritegateError, isWritegateError } from '../errors.js';
import { parseJsonStrict } from './json.js';

/** `application/json`, with at most a `charset=utf-8` parameter (RFC 8259 §8.1: JSON is UTF-8). */
export function isJsonType(value: string): boolean {
  const [type, ...params] = value.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || /^charset="?utf-8"?$/.test(p));
}

/** The parsed body, or null when there is none. */
export function decodeJsonBody(headers: IncomingHttpHeaders, bytes: Buffer): unknown {
  if (bytes.length === 0) return null;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', `content encoding "${encoding}" for a write`);
  }
  const type = headers['content-type'];
  if (type === undefined || !isJsonType(type)) {
    throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', `content type "${type ?? ''}" for a write (JSON only)`);
  }
  let text: string;
  try {
    // A byte sequence that is not UTF-8 would become U+FFFD here and something else upstream.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new WritegateError('WG_ERR_MALFORMED_BODY', 'the body is not UTF-8', { cause: err });
  }
  try {
    return parseJsonStrict(text);
  } catch (err) {
    if (!isWritegateError(err)) throw err;
    throw new WritegateError('WG_ERR_MALFORMED_BODY', err.message.replace(/^[^:]*: /, ''), { cause: err });
  }
}
