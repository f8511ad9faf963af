/**
 * One input value for both engines. The residual evaluates the JavaScript value the adapter built; OPA receives
 * `JSON.stringify` of that value (src/opa/client.ts, nothing else is transformed) and decodes it with Go's
 * encoding/json. Where the two readings of one value would differ, the value is normalised as OPA reads it or
 * the request is refused (400 WG_ERR_MALFORMED_BODY), before either engine sees it:
 *
 * | value | JavaScript holds | OPA would read | here |
 * | --- | --- | --- | --- |
 * | JSON `1e400`, YAML `.inf` / `.nan` | ±Infinity, NaN | `null` | refused |
 * | integer beyond ±(2^53 − 1) | a rounded double | the rounded double (the upstream: the exact one) | refused |
 * | `-0` | -0 | `0` | normalised to 0 |
 * | string or key with an unpaired surrogate (`"\uD800"`) | the lone UTF-16 unit | U+FFFD (encoding/json `unquote`), so two keys can become one after the duplicate-key check | refused |
 * | `__proto__`, `constructor`, `toString` keys | own properties (JSON.parse, yaml) | ordinary keys | kept; the residual reads own properties only |
 * | an object with any prototype but Object.prototype or none | (a `__proto__` assignment replaced it, dropping a key) | — | refused |
 * | an object property whose value is undefined | a key | no key (JSON.stringify omits it) | removed |
 * | an array element that is undefined | undefined | `null` | normalised to null |
 * | nesting deeper than {@link MAX_DEPTH} | fine | OPA refuses 9999 levels (encoding/json maxNestingDepth) | refused |
 * | bigint, function, symbol, Date, Map, Buffer… | — | — | refused |
 *
 * Messages never echo the request's content (it may be a Secret).
 */
import { WritegateError } from '../errors.js';
import { isWellFormed } from '../residual/values.js';

/** Far below Go's 10000 (the `{"input": …}` wrapper counts) and far above any real Kubernetes object. */
export const MAX_DEPTH = 1000;

function refuse(what: string): never {
  throw new WritegateError('WG_ERR_MALFORMED_BODY', `the policy input ${what}`);
}

/** Checks (and where stated, normalises in place) the input document; throws WG_ERR_MALFORMED_BODY otherwise. */
export function checkPolicyInput(input: unknown): void {
  if (typeof input === 'object' && input !== null) walk(input, 0);
  else leaf(input);
}

/** Recursion is bounded by MAX_DEPTH, so a body nested thousands of levels deep is refused, not a stack overflow. */
function walk(v: object, depth: number): void {
  if (depth >= MAX_DEPTH) refuse(`nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) walk(x, depth + 1);
      else {
        const n = leaf(x);
        if (!Object.is(n, x)) v[i] = n;
      }
    }
    return;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) refuse('holds a value that is not JSON');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!isWellFormed(k)) refuse(SURROGATE);
    const x = o[k];
    if (typeof x === 'object' && x !== null) walk(x, depth + 1);
    else if (x === undefined) delete o[k];
    else {
      const n = leaf(x);
      if (!Object.is(n, x)) o[k] = n;
    }
  }
}

const SURROGATE = 'holds a string with an unpaired UTF-16 surrogate (a \\uD800–\\uDFFF escape), which OPA would read as U+FFFD';

/** A scalar as OPA reads it, or a refusal. */
function leaf(x: unknown): unknown {
  switch (typeof x) {
    case 'string':
      if (!isWellFormed(x)) refuse(SURROGATE);
      return x;
    case 'number':
      if (!Number.isFinite(x)) refuse('holds a number that is not finite (JSON 1e400, YAML .inf or .nan), which OPA would read as null');
      if (Math.abs(x) > Number.MAX_SAFE_INTEGER) refuse('holds a number beyond ±(2^53 − 1), which JavaScript cannot hold exactly');
      return x === 0 ? 0 : x;
    case 'boolean':
      return x;
    case 'undefined':
      return null;
    case 'object':
      return x; // null: composites are walked, never passed here
    default:
      return refuse('holds a value that is not JSON');
  }
}
