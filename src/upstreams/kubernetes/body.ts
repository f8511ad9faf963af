/**
 * JSON and YAML write bodies decoded for the policy, with errors that never quote the body: a body may be a
 * Secret, and an error message travels to the client and into both decision logs.
 */
import { WritegateError, isWritegateError } from '../../errors.js';
import { parseJsonStrict } from '../../http/json.js';
import { decodeKubeYaml } from './yaml.js';

/** JSON.parse's message without its excerpt of the text: only "at position N" survives, if V8 gave one. */
function jsonError(err: WritegateError): WritegateError {
  if (err.message.includes(': duplicate key')) return new WritegateError('WG_ERR_MALFORMED_BODY', 'a key repeats in a JSON object');
  const at = /position (\d+)/.exec(err.message);
  return new WritegateError('WG_ERR_MALFORMED_BODY', `malformed JSON${at ? ` at position ${at[1]}` : ''}`);
}

/** parseJsonStrict with the error message reduced to a position. */
export function decodeJson(text: string): unknown {
  try {
    return parseJsonStrict(text);
  } catch (err) {
    throw isWritegateError(err) ? jsonError(err) : err;
  }
}

/** A JSON or YAML write body: YAML media types as the apiserver's YAML decoder reads them (./yaml.ts), the rest as JSON. */
export function decodeWriteBody(body: Buffer, mediaType: string): unknown {
  const text = body.toString('utf8');
  if (mediaType === 'application/yaml' || mediaType === 'application/apply-patch+yaml') return decodeKubeYaml(text);
  return decodeJson(text);
}
