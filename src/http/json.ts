import { WritegateError } from '../errors.js';

/**
 * JSON.parse that refuses duplicate object keys. JSON parsers disagree on
 * duplicates (first wins, last wins, or an error), so a body with duplicates
 * can mean one thing to the policy and another to the upstream; such bodies
 * are refused rather than interpreted (RFC 8259 §4: names SHOULD be unique).
 *
 * Keys are compared as Go reads them: an unpaired surrogate escape (`"a\ud800"`)
 * is U+FFFD there (encoding/json `unquote`), so `"a\ud800"` and `"a\udc00"` are
 * one key upstream and in OPA. JSON.parse makes every key, `__proto__` too, an
 * own data property (ECMA-262 InternalizeJSONProperty / CreateDataProperty), so
 * the value holds no prototype surprise. Messages never quote the text: a body
 * may be a Secret.
 */
export function parseJsonStrict(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    throw new WritegateError('WG_ERR_MALFORMED_BODY', `malformed JSON${at ? ` at position ${at[1]}` : ''}`, { cause: err });
  }
  assertNoDuplicateKeys(text);
  return value;
}

/** String.prototype.toWellFormed (ES2024, native in Node 20): unpaired surrogates become U+FFFD, as in Go. */
const toWellFormed = (String.prototype as unknown as { toWellFormed(this: string): string }).toWellFormed;

/** Scans well-formed JSON text and throws on the first object with a repeated key. */
function assertNoDuplicateKeys(text: string): void {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = toWellFormed.call(JSON.parse(text.slice(i, j + 1)) as string);
        const keys = stack[stack.length - 1];
        if (keys instanceof Set) {
          if (keys.has(key)) throw new WritegateError('WG_ERR_MALFORMED_BODY', `duplicate key in a JSON object at position ${i}`);
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    }
  }
}
