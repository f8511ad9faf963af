/**
 * The built-in functions the residual evaluator implements, each matching OPA v1's topdown implementation for
 * every argument it accepts. OPA evaluates with non-strict builtin errors by default (`--strict-builtin-errors`
 * off), so a builtin that fails on its operands (wrong type) makes the expression undefined rather than the
 * query an error: such cases return `undefined` here. Where exact reproduction is not implemented (non-ASCII
 * case mapping, most `sprintf` verbs, non-finite numbers, unpaired surrogates), the function throws
 * {@link ResidualUnsupported} so the decision goes to OPA instead of being guessed.
 *
 * JavaScript idioms that differ from Go's are avoided on purpose: a present key whose value is `null` is a
 * value, not a miss (no `??`/`||` on values); objects are read through own properties only (no `for…in`, no
 * `in`).
 */
import { compare, equal, finite, isObject, lookup, RegoSet, ResidualUnsupported, wellFormed, type Value } from './values.js';

export { ResidualUnsupported } from './values.js';

export interface Builtin {
  arity: number;
  /** Returns undefined for operands on which OPA's builtin errors (non-strict mode: the expression is undefined). */
  fn(args: Value[]): Value | undefined;
}

const str = (v: Value): v is string => typeof v === 'string';

function member(x: Value, coll: Value): boolean {
  // topdown/aggregates.go builtinMember: arrays and objects match on values, sets on membership; other
  // collections (strings included) yield false.
  if (Array.isArray(coll)) return coll.some((e) => equal(e, x));
  if (coll instanceof RegoSet) return coll.has(x);
  if (isObject(coll)) {
    for (const k of Object.keys(coll)) if (equal(coll[k]!, x)) return true;
  }
  return false;
}

/** Rego's type name (v1/ast/term.go TypeName); a non-finite number has none (OPA receives it as `null`). */
function typeName(a: Value): string {
  if (a === null) return 'null';
  if (Array.isArray(a)) return 'array';
  if (a instanceof RegoSet) return 'set';
  if (typeof a === 'number') finite(a);
  return typeof a;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * OPA's `sprintf` (v1/topdown/strings.go builtinSprintf) first converts each operand, then calls Go's
 * fmt.Sprintf: a number written as an integer becomes an int64, one written with a fraction or an exponent a
 * float64 (`8080.0` is a float there: `%!d(float64=8080)`), a string stays a string, and every other value
 * (null, booleans, arrays, objects, sets) becomes the string of its Rego text, so `%t` on `true` prints
 * `%!t(string=true)`. The pairs reproduced here, each compared with OPA 1.22.3 in
 * test/residual/unsafe-values.test.ts:
 *
 * | verb      | string, null, boolean (a Go string)      | integer within ±(2^53 − 1) (a Go int64) |
 * | --------- | ---------------------------------------- | --------------------------------------- |
 * | `%s`      | the text                                 | refused (`%!s(int64=…)`)                |
 * | `%v`      | the text                                 | decimal                                 |
 * | `%d`      | refused (`%!d(string=…)`)                | decimal                                 |
 * | `%q`      | Go-quoted; printable ASCII text only     | refused                                 |
 * | `%x` `%X` | hex of the UTF-8 bytes                   | hex, sign first                         |
 * | `%%`      | a percent sign, no operand               |                                         |
 *
 * Every other verb (`%t`, `%e`, `%c`…), any flag, width, precision or argument index, a float, an array, object
 * or set operand, and a missing or extra operand (Go prints `%!d(MISSING)`, `%!(EXTRA …)`) is refused. A safe
 * integer here is always integer text in OPA: JSON.stringify writes it so, and ast.ts refuses integer literals
 * written as floats in a residual that calls sprintf. The refusal names the verb only when it is an ASCII letter,
 * so that fallback reasons (counter keys) stay few whatever the format string.
 */
function sprintf(format: string, args: Value[]): string {
  wellFormed(format);
  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const verb = format[++i];
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) throw new ResidualUnsupported('sprintf: missing operand');
    const a = args[argi++]!;
    const text = a === null || typeof a === 'boolean' ? String(a) : typeof a === 'string' ? wellFormed(a) : undefined;
    const int = typeof a === 'number' && Number.isSafeInteger(a) ? a : undefined;
    if (text !== undefined && (verb === 's' || verb === 'v')) out += text;
    else if (int !== undefined && (verb === 'd' || verb === 'v')) out += String(int);
    else if (text !== undefined && verb === 'q' && /^[\x20-\x7e]*$/.test(text)) out += JSON.stringify(text);
    else if (text !== undefined && (verb === 'x' || verb === 'X')) out += hex(Buffer.from(text, 'utf8').toString('hex'), verb);
    else if (int !== undefined && (verb === 'x' || verb === 'X')) out += hex(int.toString(16), verb);
    else {
      const shown = verb !== undefined && /^[a-zA-Z]$/.test(verb) ? verb : '?';
      throw new ResidualUnsupported(`sprintf: verb %${shown} with ${Array.isArray(a) ? 'array' : a instanceof RegoSet ? 'set' : typeof a}`);
    }
  }
  if (argi !== args.length) throw new ResidualUnsupported('sprintf: extra operands');
  return out;
}

const hex = (digits: string, verb: string): string => (verb === 'X' ? digits.toUpperCase() : digits);

function countOf(v: Value): number | undefined {
  // topdown/aggregates.go builtinCount: strings count code points (utf8.RuneCountInString).
  if (typeof v === 'string') {
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0xdc00 || c > 0xdfff) n++;
    }
    // A pair counts once (at its high half); an unpaired half would be one U+FFFD in OPA.
    if (n !== v.length) wellFormed(v);
    return n;
  }
  if (Array.isArray(v)) return v.length;
  if (v instanceof RegoSet) return v.size;
  if (isObject(v)) {
    // Two keys that differ only in unpaired surrogates are one key in OPA.
    const keys = Object.keys(v);
    for (const k of keys) wellFormed(k);
    return keys.length;
  }
  return undefined;
}

/**
 * OPA computes with arbitrary-precision decimals (v1/topdown/arithmetic.go); doubles agree with it on integers
 * up to 2^53, so only those are computed here.
 */
function integerOp(op: (a: number, b: number) => number): Builtin {
  return {
    arity: 2,
    fn: ([a, b]) => {
      if (typeof a !== 'number' || typeof b !== 'number') return undefined;
      const r = op(a, b);
      if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || !Number.isSafeInteger(r)) {
        throw new ResidualUnsupported('arithmetic beyond safe integers');
      }
      return r;
    },
  };
}

const integerMinus = integerOp((x, y) => x - y);

const TABLE: Record<string, Builtin> = {
  plus: integerOp((a, b) => a + b),
  // `-` is also set difference (topdown/sets.go builtinSetDiff).
  minus: {
    arity: 2,
    fn: (args) => {
      const [a, b] = args;
      if (a instanceof RegoSet && b instanceof RegoSet) {
        const out = new RegoSet();
        for (const [k, v] of a.members) if (!b.members.has(k)) out.add(v);
        return out;
      }
      return integerMinus.fn(args);
    },
  },
  mul: integerOp((a, b) => a * b),
  equal: { arity: 2, fn: ([a, b]) => equal(a!, b!) },
  neq: { arity: 2, fn: ([a, b]) => !equal(a!, b!) },
  // topdown/comparison.go: operands[0].Value.Compare(operands[1].Value) over the total order of values.
  lt: { arity: 2, fn: ([a, b]) => compare(a!, b!) < 0 },
  lte: { arity: 2, fn: ([a, b]) => compare(a!, b!) <= 0 },
  gt: { arity: 2, fn: ([a, b]) => compare(a!, b!) > 0 },
  gte: { arity: 2, fn: ([a, b]) => compare(a!, b!) >= 0 },
  count: { arity: 1, fn: ([a]) => countOf(a!) },
  'internal.member_2': { arity: 2, fn: ([x, c]) => member(x!, c!) },
  'internal.member_3': {
    arity: 3,
    fn: ([k, v, c]) => {
      if (!Array.isArray(c) && !(c instanceof RegoSet) && !isObject(c)) return false;
      const got = lookup(c!, k!);
      return got !== undefined && equal(got, v!);
    },
  },
  // Go compares UTF-8 bytes; on well-formed strings a UTF-16 prefix, suffix or substring is one in UTF-8 too.
  startswith: { arity: 2, fn: ([a, b]) => (str(a!) && str(b!) ? wellFormed(a).startsWith(wellFormed(b)) : undefined) },
  endswith: { arity: 2, fn: ([a, b]) => (str(a!) && str(b!) ? wellFormed(a).endsWith(wellFormed(b)) : undefined) },
  contains: { arity: 2, fn: ([a, b]) => (str(a!) && str(b!) ? wellFormed(a).includes(wellFormed(b)) : undefined) },
  lower: {
    arity: 1,
    fn: ([a]) => {
      if (!str(a!)) return undefined;
      if (!isAscii(a)) throw new ResidualUnsupported('lower: non-ASCII string');
      return a.toLowerCase();
    },
  },
  upper: {
    arity: 1,
    fn: ([a]) => {
      if (!str(a!)) return undefined;
      if (!isAscii(a)) throw new ResidualUnsupported('upper: non-ASCII string');
      return a.toUpperCase();
    },
  },
  // Go strings.Split: an empty separator splits into code points (Array.from), not UTF-16 units.
  split: {
    arity: 2,
    fn: ([a, d]) => (str(a!) && str(d!) ? (wellFormed(d) === '' ? Array.from(wellFormed(a)) : wellFormed(a).split(d)) : undefined),
  },
  concat: {
    arity: 2,
    fn: ([d, c]) => {
      if (!str(d!)) return undefined;
      const items = Array.isArray(c) ? c : c instanceof RegoSet ? c.sorted() : undefined;
      if (!items || !items.every(str)) return undefined;
      for (const s of items) wellFormed(s);
      return items.join(wellFormed(d));
    },
  },
  sprintf: {
    arity: 2,
    fn: ([f, a]) => (str(f!) && Array.isArray(a) ? sprintf(f, a) : undefined),
  },
  // topdown/object.go builtinObjectGet: an array key is a path through objects, arrays and sets; a missing step
  // yields the default; the first operand must be an object. A key present with value `null` yields `null`
  // (Go's cmp.Or falls back only on a nil *Term, not on a null value).
  'object.get': {
    arity: 3,
    fn: ([o, key, dflt]) => {
      if (!isObject(o)) return undefined;
      if (!Array.isArray(key)) {
        const v = lookup(o, key!);
        return v === undefined ? dflt : v;
      }
      let cur: Value = o;
      for (const step of key) {
        const next = lookup(cur, step);
        if (next === undefined) return dflt;
        cur = next;
      }
      return cur;
    },
  },
  'object.keys': {
    arity: 1,
    fn: ([o]) => {
      if (!isObject(o)) return undefined;
      const s = new RegoSet();
      for (const k of Object.keys(o)) s.add(k);
      return s;
    },
  },
  'array.concat': {
    arity: 2,
    fn: ([a, b]) => (Array.isArray(a) && Array.isArray(b) ? [...a, ...b] : undefined),
  },
  is_string: { arity: 1, fn: ([a]) => typeName(a!) === 'string' },
  is_number: { arity: 1, fn: ([a]) => typeName(a!) === 'number' },
  is_boolean: { arity: 1, fn: ([a]) => typeName(a!) === 'boolean' },
  is_null: { arity: 1, fn: ([a]) => typeName(a!) === 'null' },
  is_array: { arity: 1, fn: ([a]) => typeName(a!) === 'array' },
  is_set: { arity: 1, fn: ([a]) => typeName(a!) === 'set' },
  is_object: { arity: 1, fn: ([a]) => typeName(a!) === 'object' },
  type_name: { arity: 1, fn: ([a]) => typeName(a!) },
};

/** The builtins by OPA name, in a prototype-free map (`BUILTINS["constructor"]` is not a builtin). */
export const BUILTINS: Record<string, Builtin> = Object.assign(Object.create(null) as Record<string, Builtin>, TABLE);

/** Builtins OPA marks `Nondeterministic` (v1/ast/builtins.go): a cached residual must never evaluate them. */
export const NONDETERMINISTIC = new Set([
  'time.now_ns',
  'http.send',
  'rand.intn',
  'uuid.rfc4122',
  'opa.runtime',
  'net.lookup_ip_addr',
  'io.jwt.decode_verify',
  'io.jwt.encode_sign',
  'io.jwt.encode_sign_raw',
  'crypto.x509.parse_and_verify_certificates',
]);
