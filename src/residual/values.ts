/**
 * Rego values in JavaScript, with Rego's semantics rather than JavaScript's.
 *
 * Representation: `null`, `boolean`, `number`, `string`, `Value[]` (array), plain objects with string keys
 * (object) and {@link RegoSet} (set). `undefined` is Rego's "undefined" and never appears inside a value.
 * Input documents are JSON, so they never contain sets; literal sets and partial set rules do.
 * Objects with non-string keys are legal Rego but cannot come from JSON input; the evaluator refuses to
 * build them (see `compile.ts`), so every object here has string keys.
 */

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
    return typeof v === 'string' ? this.strings.has(v) : this.members.has(canonicalKey(v));
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
 * orders differ only where a surrogate (a code point above U+FFFF) meets a unit in U+E000–U+FFFF.
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
    if (xs && !ys && y >= 0xe000) return 1;
    if (ys && !xs && x >= 0xe000) return -1;
    return x < y ? -1 : 1;
  }
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
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
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

/** A string that is equal for two values iff `equal` holds; used to key set members. */
export function canonicalKey(v: Value): string {
  // Top-level strings skip JSON quoting (the hot case: `x in {"CREATE", "UPDATE"}`); the leading `s` keeps them
  // apart from every other kind's key. Nested strings are quoted so that separators stay unambiguous.
  return typeof v === 'string' ? 's' + v : nestedKey(v);
}

function nestedKey(v: Value): string {
  if (v === null) return 'z';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'number':
      return 'n' + String(v === 0 ? 0 : v);
    case 'string':
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(nestedKey).join(',') + ']';
  if (v instanceof RegoSet) return '<' + [...v.members.values()].map(nestedKey).sort().join(',') + '>';
  return '{' + sortedKeys(v).map((k) => JSON.stringify(k) + ':' + nestedKey(v[k]!)).join(',') + '}';
}

/**
 * `x[k]` on a value (v1/ast/term.go Get on Array/Object/Set): arrays take integer numbers in range, objects
 * take their keys, sets return the member itself; everything else is undefined.
 */
export function lookup(coll: Value, key: Value): Value | undefined {
  if (coll === null || typeof coll !== 'object') return undefined;
  if (typeof key === 'string' && !Array.isArray(coll) && !(coll instanceof RegoSet)) {
    // Hot path: an object field. A JSON value is never a function, so a function here came from
    // Object.prototype (`x["constructor"]`); `__proto__` is the one inherited non-function.
    const v = coll[key];
    if (v === undefined || typeof v === 'function') return undefined;
    return key === '__proto__' && !Object.hasOwn(coll, key) ? undefined : v;
  }
  if (Array.isArray(coll)) {
    return typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < coll.length ? coll[key] : undefined;
  }
  if (coll instanceof RegoSet) return coll.has(key) ? key : undefined;
  return typeof key === 'string' && Object.hasOwn(coll, key) ? coll[key] : undefined;
}
