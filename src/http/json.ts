import { WritegateError } from '../errors.js';

/**
 * JSON.parse that refuses duplicate object keys. JSON parsers disagree on
 * duplicates (first wins, last wins, or an error), so a body with duplicates
 * can mean one thing to the policy and another to the upstream; such bodies
 * are refused rather than interpreted (RFC 8259 §4: names SHOULD be unique).
 */
export function parseJsonStrict(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new WritegateError('WG_ERR_MALFORMED_BODY', (err as Error).message, { cause: err });
  }
  assertNoDuplicateKeys(text);
  return value;
}

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
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = stack[stack.length - 1];
        if (keys instanceof Set) {
          if (keys.has(key)) throw new WritegateError('WG_ERR_MALFORMED_BODY', `duplicate key "${key}" in JSON object`);
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    }
  }
}
