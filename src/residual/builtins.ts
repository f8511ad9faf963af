/**
 * The built-in functions the residual evaluator implements, each matching OPA v1's topdown implementation for
 * every argument it accepts. OPA evaluates with non-strict builtin errors by default (`--strict-builtin-errors`
 * off), so a builtin that fails on its operands (wrong type) makes the expression undefined rather than the
 * query an error: such cases return `undefined` here. Where exact reproduction is not implemented (non-ASCII
 * case mapping, `sprintf` of composite values), the function throws {@link ResidualUnsupported} so the decision
 * goes to OPA instead of being guessed.
 */
import { compare, equal, isObject, lookup, RegoSet, type Value } from './values.js';

/** Thrown while evaluating when the residual reaches something this evaluator does not reproduce exactly. */
export class ResidualUnsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ResidualUnsupported';
  }
}

export interface Builtin {
  arity: number;
  /** Returns undefined for operands on which OPA's builtin errors (non-strict mode: the expression is undefined). */
  fn(args: Value[]): Value | undefined;
}

const str = (v: Value): v is string => typeof v === 'string';

function member(x: Value, coll: Value): boolean {
  // topdown/builtins.go builtinMember: arrays and objects match on values, sets on membership; other
  // collections (strings included) yield false.
  if (Array.isArray(coll)) return coll.some((e) => equal(e, x));
  if (coll instanceof RegoSet) return coll.has(x);
  if (isObject(coll)) {
    for (const k in coll) if (equal(coll[k]!, x)) return true;
  }
  return false;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Go `fmt` verbs `%s`, `%v`, `%d`, `%t`, and `%q` (printable ASCII only, where Go's strconv.Quote and
 * JSON.stringify agree), for the operand kinds whose output is certain; anything else is refused.
 */
function sprintf(format: string, args: Value[]): string {
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
    if ((verb === 's' || verb === 'v') && typeof a === 'string') out += a;
    else if ((verb === 'v' || verb === 'd') && typeof a === 'number' && Number.isSafeInteger(a)) out += String(a);
    else if ((verb === 'v' || verb === 't') && typeof a === 'boolean') out += String(a);
    else if (verb === 'q' && typeof a === 'string' && /^[\x20-\x7e]*$/.test(a)) out += JSON.stringify(a);
    else throw new ResidualUnsupported(`sprintf: verb %${verb ?? ''} with ${Array.isArray(a) ? 'array' : typeof a}`);
  }
  if (argi !== args.length) throw new ResidualUnsupported('sprintf: extra operands');
  return out;
}

function countOf(v: Value): number | undefined {
  // topdown/aggregates.go builtinCount: strings count code points (utf8.RuneCountInString).
  if (typeof v === 'string') {
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0xd800 || c > 0xdbff) n++;
    }
    return n;
  }
  if (Array.isArray(v)) return v.length;
  if (v instanceof RegoSet) return v.size;
  if (isObject(v)) return Object.keys(v).length;
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

export const BUILTINS: Record<string, Builtin> = {
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
  startswith: { arity: 2, fn: ([a, b]) => (str(a!) && str(b!) ? a.startsWith(b) : undefined) },
  endswith: { arity: 2, fn: ([a, b]) => (str(a!) && str(b!) ? a.endsWith(b) : undefined) },
  contains: { arity: 2, fn: ([a, b]) => (str(a!) && str(b!) ? a.includes(b) : undefined) },
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
  split: { arity: 2, fn: ([a, d]) => (str(a!) && str(d!) ? (d === '' ? Array.from(a) : a.split(d)) : undefined) },
  concat: {
    arity: 2,
    fn: ([d, c]) => {
      if (!str(d!)) return undefined;
      const items = Array.isArray(c) ? c : c instanceof RegoSet ? c.sorted() : undefined;
      if (!items || !items.every(str)) return undefined;
      return items.join(d);
    },
  },
  sprintf: {
    arity: 2,
    fn: ([f, a]) => (str(f!) && Array.isArray(a) ? sprintf(f, a) : undefined),
  },
  // topdown/object.go builtinObjectGet: an array key is a path through objects and arrays; a missing step
  // yields the default; the first operand must be an object.
  'object.get': {
    arity: 3,
    fn: ([o, key, dflt]) => {
      if (!isObject(o)) return undefined;
      if (!Array.isArray(key)) return lookup(o, key!) ?? dflt;
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
  is_string: { arity: 1, fn: ([a]) => typeof a === 'string' },
  is_number: { arity: 1, fn: ([a]) => typeof a === 'number' },
  is_boolean: { arity: 1, fn: ([a]) => typeof a === 'boolean' },
  is_null: { arity: 1, fn: ([a]) => a === null },
  is_array: { arity: 1, fn: ([a]) => Array.isArray(a) },
  is_set: { arity: 1, fn: ([a]) => a instanceof RegoSet },
  is_object: { arity: 1, fn: ([a]) => isObject(a) },
  type_name: {
    arity: 1,
    fn: ([a]) =>
      a === null
        ? 'null'
        : Array.isArray(a)
          ? 'array'
          : a instanceof RegoSet
            ? 'set'
            : typeof a === 'object'
              ? 'object'
              : typeof a,
  },
};

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
