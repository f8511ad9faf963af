/**
 * Rego values in JavaScript, with Rego's semantics rather than JavaScript's.
 *
 * Representation: `null`, `boolean`, `number`, `string`, `Value[]` (array), objects with string keys (object)
 * and {@link RegoSet} (set). `undefined` is Rego's "undefined" and never appears inside a value.
 * Input documents are JSON, so they never contain sets; literal sets and partial set rules do.
 * Objects with non-string keys are legal Rego but cannot come from JSON input; the evaluator refuses to
 * build them (see `compile.ts`), so every object here has string keys.
 *
 * Objects are read through their own properties only (`__proto__`, `constructor` and `toString` are ordinary
 * keys in Rego), and objects the evaluator builds come from {@link emptyObject}, which has no prototype: on a
 * `{}`, `o["__proto__"] = v` would replace the prototype instead of adding a key.
 *
 * Two kinds of JavaScript value have no counterpart in what OPA receives, and are refused here
 * ({@link ResidualUnsupported}) wherever they would be compared, counted, ordered or searched, even though the
 * gate's input check (src/decision/input-value.ts) refuses them before evaluation: non-finite numbers
 * (`JSON.stringify` sends them to OPA as `null`) and strings with unpaired UTF-16 surrogates (Go's JSON decoder
 * reads each as U+FFFD, encoding/json `unquote`).
 */

/** Thrown while evaluating when the residual reaches something this evaluator does not reproduce exactly. */
export class ResidualUnsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ResidualUnsupported';
  }
}

export type Value = null | boolean | number | string | Value[] | RegoSet | RegoObject;
export interface RegoObject {
  [key: string]: Value;
}

/** A Rego set: members are stored once per structural identity (`canonicalKey`). */
export class RegoSet {
  readonly members = new Map<string, Value>();
  /**
   * The string members again, by themselves: the hot membership test (`input.request.operation in {"CREATE",
   * "UPDATE"}`) then needs no key string to be built.
   */
  private readonly strings = new Set<string>();

  add(v: Value): void {
    const k = canonicalKey(v);
    if (!this.members.has(k)) {
      this.members.set(k, v);
      if (typeof v === 'string') this.strings.add(v);
    }
  }

  has(v: Value): boolean {
    return typeof v === 'string' ? this.strings.has(wellFormed(v)) : this.members.has(canonicalKey(v));
  }

  get size(): number {
    return this.members.size;
  }

  /** Members in Rego's sort order (v1/ast/term.go keeps set keys sorted for Compare and JSON). */
  sorted(): Value[] {
    return [...this.members.values()].sort(compare);
  }
}

export function isObject(v: unknown): v is RegoObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegoSet);
}

/** A new, empty Rego object without a prototype, so that every key (`__proto__` too) is an own property. */
export function emptyObject(): RegoObject {
  return Object.create(null) as RegoObject;
}

/** Refuses a number OPA never sees as a number: NaN and ±Infinity reach it as `null`. */
export function finite(n: number): number {
  if (!Number.isFinite(n)) throw new ResidualUnsupported('non-finite number');
  return n;
}

/** String.prototype.isWellFormed (ES2024, native in Node 20), missing from this project's ES2022 lib typings. */
const nativeWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;

/** True when `s` has no unpaired UTF-16 surrogate, i.e. it is also valid UTF-8 text for OPA. */
export function isWellFormed(s: string): boolean {
  return nativeWellFormed.call(s);
}

/** Refuses a string with an unpaired UTF-16 surrogate, which OPA reads as U+FFFD. */
export function wellFormed(s: string): string {
  if (!nativeWellFormed.call(s)) throw new ResidualUnsupported('unpaired surrogate in string');
  return s;
}

/**
 * Type rank from v1/ast/compare.go valueSortOrder: null < boolean < number < string < array < object < set.
 * (Var, Ref and comprehensions sit between string and array there but never occur as evaluated values.)
 */
export function typeRank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      finite(v);
      return 2;
    case 'string':
      return 3;
    default:
      if (Array.isArray(v)) return 7;
      if (v instanceof RegoSet) return 9;
      return 8;
  }
}

/**
 * Go compares strings byte-wise over UTF-8, i.e. by code point; JavaScript compares UTF-16 code units. The two
 * orders differ only where a surrogate (a code point above U+FFFF) meets a unit in U+E000–U+FFFF. Where the
 * first difference involves a surrogate, both strings must be well-formed: Go would see U+FFFD for an unpaired
 * one (and "\uD800" and "\uDC00" would be equal there).
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs || ys) {
      wellFormed(a);
      wellFormed(b);
    }
    if (xs && !ys && y >= 0xe000) return 1;
    if (ys && !xs && x >= 0xe000) return -1;
    return x < y ? -1 : 1;
  }
  // One is a prefix of the other. If it ends in an unpaired high surrogate, its U+FFFD (EF BF BD) still orders
  // before whatever the longer one continues with in Go: a pair (F0…) or U+FFFD followed by more.
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

function sortedKeys(o: RegoObject): string[] {
  return Object.keys(o).sort(compareStrings);
}

/**
 * Total order over Rego values (v1/ast/compare.go Compare): different types order by rank; arrays compare
 * element-wise then by length (termSliceCompare); objects compare their sorted (key, value) pairs then length
 * (object.Compare in v1/ast/term.go); sets compare their sorted members like arrays (set.Compare).
 */
export function compare(a: Value, b: Value): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a === false ? -1 : 1;
    case 2:
      // Both finite (typeRank): doubles order as OPA's exact decimals do, because the decimal OPA receives for
      // each (JSON.stringify) is the shortest one that rounds to it, a strictly increasing map; literals are
      // accepted only when they equal that decimal (ast.ts).
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return compareStrings(a as string, b as string);
    case 7:
      return compareSlices(a as Value[], b as Value[]);
    case 9:
      return compareSlices((a as RegoSet).sorted(), (b as RegoSet).sorted());
    default: {
      const oa = a as RegoObject;
      const ob = b as RegoObject;
      const ka = sortedKeys(oa);
      const kb = sortedKeys(ob);
      const n = Math.min(ka.length, kb.length);
      for (let i = 0; i < n; i++) {
        const c = compareStrings(ka[i]!, kb[i]!);
        if (c !== 0) return c;
        const cv = compare(oa[ka[i]!]!, ob[kb[i]!]!);
        if (cv !== 0) return cv;
      }
      return ka.length < kb.length ? -1 : ka.length > kb.length ? 1 : 0;
    }
  }
}

function compareSlices(a: Value[], b: Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Structural equality (`==`, `!=`, and what unification checks): `1 == 1.0` (one JS number), arrays and objects
 * deep, sets by membership (v1/ast/compare.go ValueEqual, set "symmetric difference is empty"). Never true
 * across types, so `[] == set()` and `"1" == 1` are false.
 */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // Different in JavaScript, but possibly equal in OPA: NaN/Infinity arrive there as null, and two strings
    // that differ only in unpaired surrogates both arrive as U+FFFD.
    if (typeof a === 'number') finite(a);
    if (typeof b === 'number') finite(b);
    if (typeof a === 'string' && typeof b === 'string') {
      wellFormed(a);
      wellFormed(b);
    }
    return false;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i]!, b[i]!)) return false;
    return true;
  }
  if (a instanceof RegoSet) {
    if (!(b instanceof RegoSet) || a.size !== b.size) return false;
    for (const k of a.members.keys()) if (!b.members.has(k)) return false;
    return true;
  }
  if (Array.isArray(b) || b instanceof RegoSet) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !equal(a[k]!, b[k]!)) return false;
  }
  return true;
}

/**
 * Whether `v === k` decides `equal(v, k)` for the scalar literal `k` and every value `v`, so a compiled `x = k`
 * may skip {@link equal}. Not for `null` (OPA receives NaN and ±Infinity as null) nor for a string holding
 * U+FFFD (OPA reads an unpaired surrogate as U+FFFD): there {@link equal} refuses such values.
 */
export function decidedByIdentity(k: Value): boolean {
  return k !== null && !(typeof k === 'string' && k.includes('\ufffd'));
}

/** A string that is equal for two values iff `equal` holds; used to key set members. */
export function canonicalKey(v: Value): string {
  // Top-level strings skip JSON quoting (the hot case: `x in {"CREATE", "UPDATE"}`); the leading `s` keeps them
  // apart from every other kind's key. Nested strings are quoted so that separators stay unambiguous.
  return typeof v === 'string' ? 's' + wellFormed(v) : nestedKey(v);
}

function nestedKey(v: Value): string {
  if (v === null) return 'z';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'number':
      return 'n' + String(v === 0 ? 0 : finite(v));
    case 'string':
      return JSON.stringify(wellFormed(v));
  }
  if (Array.isArray(v)) return '[' + v.map(nestedKey).join(',') + ']';
  if (v instanceof RegoSet) return '<' + [...v.members.values()].map(nestedKey).sort().join(',') + '>';
  return '{' + sortedKeys(v).map((k) => JSON.stringify(wellFormed(k)) + ':' + nestedKey(v[k]!)).join(',') + '}';
}

/**
 * `x[k]` on a value (v1/ast/term.go Get on Array/Object/Set): arrays take integer numbers in range, objects
 * take their own keys (never an inherited `constructor` or `__proto__`), sets return the member itself;
 * everything else is undefined.
 */
export function lookup(coll: Value, key: Value): Value | undefined {
  if (coll === null || typeof coll !== 'object') return undefined;
  if (typeof key === 'string' && !Array.isArray(coll) && !(coll instanceof RegoSet)) {
    // Hot path: an object field; the own-property test runs only on a hit.
    const v = coll[key];
    return v !== undefined && Object.hasOwn(coll, key) ? v : undefined;
  }
  if (Array.isArray(coll)) {
    return typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < coll.length ? coll[key] : undefined;
  }
  if (coll instanceof RegoSet) return coll.has(key) ? key : undefined;
  return undefined;
}
