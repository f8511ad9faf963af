/**
 * Pins a forwarded update to the resourceVersion of the object the policy judged.
 *
 * A PATCH (or an update without a resourceVersion) is applied by the apiserver to whatever is stored when it
 * arrives. The gateway judged the result of applying it to the object it read (its dry run, or its GET under
 * `resolve: local`); a concurrent write in between would make the stored result differ from the judged one.
 * The apiserver refuses an update whose object carries a resourceVersion other than the stored one with 409
 * Conflict (k8s.io/apiserver/pkg/registry/generic/registry/store.go, Update: OptimisticLockErrorMsg), and a patch
 * that sets metadata.resourceVersion is such an update. So the forwarded body is the client's body plus only
 * that precondition:
 *
 * - JSON merge, strategic merge and apply patches, and JSON update bodies: `metadata.resourceVersion` inserted
 *   (a body that already carries a non-empty one is pinned by the client and left alone);
 * - JSON patches: one more operation at the end, `{"op":"add","path":"/metadata/resourceVersion","value":RV}`;
 * - deletes: `preconditions.resourceVersion` in the DeleteOptions body (the apiserver's delete precondition,
 *   also a 409 Conflict when it fails; see ./options.ts for a protobuf body and a delete without one).
 *
 * The insertion is textual: every other byte of the client's body is forwarded as it came.
 */
import { WritegateError } from '../../errors.js';

interface Member {
  key: string;
  valueStart: number;
  valueEnd: number;
}

function skipWs(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}

function stringEnd(text: string, i: number): number {
  let j = i + 1;
  while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** End (exclusive) of the JSON value starting at i, in well-formed JSON text. */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const d = text[j];
      if (d === '"') { j = stringEnd(text, j); continue; }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return j;
  }
  let j = i;
  while (j < text.length && !',}] \t\r\n'.includes(text[j]!)) j++;
  return j;
}

/** Members of the JSON object whose `{` is at `open`. */
function members(text: string, open: number): Member[] {
  const out: Member[] = [];
  let i = skipWs(text, open + 1);
  while (text[i] === '"') {
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipWs(text, skipWs(text, keyEnd) + 1);
    const end = valueEnd(text, valueStart);
    out.push({ key, valueStart, valueEnd: end });
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return out;
}

function cannotPin(why: string): WritegateError {
  return new WritegateError('WG_ERR_BAD_REQUEST', `the write cannot be pinned to the version the policy judged: ${why}`);
}

/**
 * The JSON object body with `<outer>.resourceVersion` set to `rv` (`metadata` of an object or patch,
 * `preconditions` of DeleteOptions), or undefined when the body already carries a non-empty resourceVersion there
 * (the client's own precondition, which the apiserver checks all the same).
 *
 * @param nullIsUnset `<outer>: null` means "not set" (DeleteOptions.preconditions, a Go pointer) rather than
 *   "remove" (metadata in a merge patch), so it may be replaced
 */
export function pinObjectBody(text: string, rv: string, outer = 'metadata', nullIsUnset = false): string | undefined {
  const top = skipWs(text, 0);
  if (text[top] !== '{') throw cannotPin('the body is not a JSON object');
  const rvJson = JSON.stringify(rv);
  const topMembers = members(text, top);
  const meta = topMembers.find((m) => m.key === outer);
  if (!meta) {
    return `${text.slice(0, top + 1)}"${outer}":{"resourceVersion":${rvJson}}${topMembers.length ? ',' : ''}${text.slice(top + 1)}`;
  }
  if (nullIsUnset && text.slice(meta.valueStart, meta.valueEnd) === 'null') {
    return `${text.slice(0, meta.valueStart)}{"resourceVersion":${rvJson}}${text.slice(meta.valueEnd)}`;
  }
  if (text[meta.valueStart] !== '{') throw cannotPin(`${outer} is not an object`);
  const metaMembers = members(text, meta.valueStart);
  const current = metaMembers.find((m) => m.key === 'resourceVersion');
  if (current) {
    const value = JSON.parse(text.slice(current.valueStart, current.valueEnd)) as unknown;
    if (typeof value === 'string' && value !== '') return undefined;
    return `${text.slice(0, current.valueStart)}${rvJson}${text.slice(current.valueEnd)}`;
  }
  const at = meta.valueStart + 1;
  return `${text.slice(0, at)}"resourceVersion":${rvJson}${metaMembers.length ? ',' : ''}${text.slice(at)}`;
}

/** The JSON patch with an operation appended that sets metadata.resourceVersion to `rv`. */
export function pinJsonPatch(text: string, rv: string): string {
  const open = skipWs(text, 0);
  let close = text.length - 1;
  while (close > open && ' \t\r\n'.includes(text[close]!)) close--;
  if (text[open] !== '[' || text[close] !== ']') throw cannotPin('the JSON patch is not an array');
  const empty = skipWs(text, open + 1) === close;
  const op = `{"op":"add","path":"/metadata/resourceVersion","value":${JSON.stringify(rv)}}`;
  return `${text.slice(0, close)}${empty ? '' : ','}${op}${text.slice(close)}`;
}
