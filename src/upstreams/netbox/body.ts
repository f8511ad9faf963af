/**
 * Write bodies as NetBox reads them. NetBox's REST API parses JSON (`REST_FRAMEWORK.DEFAULT_PARSER_CLASSES`:
 * JSONParser, and MultiPartParser for image attachments) and answers 415 to other media types; a multipart
 * upload cannot be judged exactly here and is refused. Errors never quote the body: it may hold a secret (a
 * password, a token), and the message goes to the client and into the decision log.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { WritegateError, isWritegateError } from '../../errors.js';
import { parseJsonStrict } from '../../http/json.js';

/** `application/json`, with at most a `charset=utf-8` parameter (RFC 8259 §8.1: JSON is UTF-8). */
function isJsonType(value: string): boolean {
  const [type, ...params] = value.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || /^charset="?utf-8"?$/.test(p));
}

/**
 * The parsed body of a write, or null when it has none. A body must be declared JSON, be identity-encoded (Django
 * does not decode a Content-Encoding: the policy would read other bytes than NetBox) and be valid UTF-8 JSON
 * without duplicate keys (Python's json keeps the last of them; ../../http/json.ts).
 */
export function decodeNetboxBody(headers: IncomingHttpHeaders, bytes: Buffer): unknown {
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
