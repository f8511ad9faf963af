/**
 * Hazard-rich inputs over the vocabulary the generated policies read (`input.s`, `input.n`, `input.xs`,
 * `input.o`, `input.items`, `input.user`, …): usually a value of the expected type drawn from the same pools
 * as the policies' literals, otherwise a hazard — a missing field, `null`, a wrong type, an empty or
 * one-element collection, `__proto__`/`constructor`/`toString` keys, lone surrogates, non-ASCII text, huge,
 * tiny, non-finite or negative-zero numbers, integers beyond 2^53, keys that collide once Go decodes them.
 *
 * Values are what the gateway would hold after parsing a request body (JSON.parse semantics: `__proto__` is an
 * own data property, never the prototype), and both engines are given that same value: the residual directly,
 * OPA as `JSON.stringify` renders it.
 */
import { STRING_LITERALS } from './policy-gen.js';
import { Rng } from './rng.js';

const STRINGS: readonly string[] = [
  ...STRING_LITERALS,
  '\ud83d\ude00', '\uffff', 'ÉCOLE', 'İ', 'ǅ', 'x/ADMIN', 'a,b,c', '%d', '\u0000', 'A\u030a', 'e\u0301', 'ß', '/admin/x',
  'a/', ',',
];

const NUMBERS: readonly number[] = [
  0, -0, 1, 2, -1, 0.5, 1.5, 8080, 100, 3, 5e-324, 2 ** 53 - 1, -(2 ** 53 - 1), 0.1, 0.30000000000000004,
  0.9999999999999999, 1e-7, 1e15 + 0.5,
];

/**
 * Values on which JavaScript and OPA would read the document differently; the gateway's input check
 * (src/decision/input-value.ts) refuses them, so they are rare here (each input that holds one is not compared).
 */
const REFUSED_STRINGS: readonly string[] = ['\ud800', 'a\ud800', '\udc00b'];
const REFUSED_NUMBERS: readonly number[] = [1e308, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, Infinity, -Infinity, NaN];

const KEYS: readonly string[] = [
  'a', 'b', 'A', 'flag', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '\ufffd', 'é',
  'e\u0301', '', 'name', '1', '0', 'length',
];

/** An object with own data properties only, as JSON.parse builds it (a `__proto__` key stays a key). */
export function jsonObject(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

class InputGen {
  constructor(private readonly r: Rng) {}

  str(): string {
    if (this.r.chance(0.01)) return this.r.pick(REFUSED_STRINGS);
    return this.r.chance(0.75) ? this.r.pick(STRING_LITERALS) : this.r.pick(STRINGS);
  }

  num(): number {
    if (this.r.chance(0.015)) return this.r.pick(REFUSED_NUMBERS);
    return this.r.chance(0.6) ? this.r.pick([0, 1, 2, -1, 8080, 100, 1.5]) : this.r.pick(NUMBERS);
  }

  scalar(): unknown {
    return this.r.weighted<() => unknown>([
      [3, () => this.str()],
      [3, () => this.num()],
      [1, () => this.r.chance(0.5)],
      [1, () => null],
    ])();
  }

  /** A value of any type, nested at most `depth` levels. */
  any(depth = 1): unknown {
    if (depth <= 0 || this.r.chance(0.7)) return this.scalar();
    return this.r.chance(0.5) ? this.array(() => this.any(depth - 1)) : this.object(() => this.any(depth - 1));
  }

  array(elem: () => unknown): unknown[] {
    const n = this.r.weighted([
      [2, 0],
      [3, 1],
      [3, 2],
      [1, 3],
    ] as const);
    const out = Array.from({ length: n }, elem);
    // Duplicates and near-duplicates (sets vs arrays: inputs are JSON, so only arrays; duplicates test dedup).
    if (n > 0 && this.r.chance(0.15)) out.push(out[0]);
    return out;
  }

  object(value: () => unknown): Record<string, unknown> {
    const n = this.r.weighted([
      [2, 0],
      [3, 1],
      [3, 2],
      [1, 4],
    ] as const);
    const entries: [string, unknown][] = [];
    const used = new Set<string>();
    for (let i = 0; i < n; i++) {
      const k = this.r.chance(0.6) ? this.r.pick(['a', 'b', 'flag', 'name']) : this.r.pick(KEYS);
      if (used.has(k)) continue;
      used.add(k);
      entries.push([k, value()]);
    }
    // Keys that Go decodes to the same string (both become U+FFFD): a duplicate key in what OPA reads.
    if (this.r.chance(0.01)) entries.push(['\ud800', 1], ['\ufffd', 2]);
    return jsonObject(entries.filter(([k], i) => entries.findIndex(([k2]) => k2 === k) === i));
  }

  wrongType(): unknown {
    return this.r.pick<() => unknown>([
      () => null,
      () => [],
      () => ({}),
      () => '1',
      () => 1,
      () => true,
      () => ['a'],
      () => jsonObject([['a', 1]]),
      () => this.any(2),
    ])();
  }

  /** Usually `typed`, sometimes a hazard of another type. */
  field(typed: () => unknown): unknown {
    return this.r.chance(0.8) ? typed() : this.wrongType();
  }

  item(): unknown {
    if (this.r.chance(0.1)) return this.wrongType();
    const e: [string, unknown][] = [];
    if (this.r.chance(0.85)) e.push(['name', this.field(() => this.str())]);
    if (this.r.chance(0.5)) e.push(['image', this.field(() => this.r.pick(['nginx', 'nginx:latest', 'a', 'reg/a:1']))]);
    if (this.r.chance(0.7)) e.push(['priv', this.field(() => this.r.chance(0.5))]);
    if (this.r.chance(0.5)) e.push(['n', this.field(() => this.num())]);
    return jsonObject(e);
  }

  input(): Record<string, unknown> {
    const r = this.r;
    // Sparse inputs (most fields missing) are where undefined operands under `not` show.
    const present = r.chance(0.25) ? 0.3 : 0.85;
    const fields: [string, () => unknown][] = [
      ['s', () => this.str()],
      ['t', () => this.str()],
      ['k', () => (r.chance(0.5) ? r.pick(KEYS) : this.str())],
      ['n', () => this.num()],
      ['m', () => this.num()],
      ['b', () => r.chance(0.5)],
      ['xs', () => this.array(() => (r.chance(0.9) ? this.str() : this.scalar()))],
      ['ns', () => this.array(() => (r.chance(0.9) ? this.num() : this.scalar()))],
      ['o', () => this.object(() => (r.chance(0.3) ? r.chance(0.5) : this.any(1)))],
      ['items', () => this.array(() => this.item())],
      [
        'user',
        () =>
          jsonObject([
            ...(r.chance(0.85) ? [['name', this.field(() => this.str())] as [string, unknown]] : []),
            ...(r.chance(0.8) ? [['roles', this.field(() => this.array(() => this.str()))] as [string, unknown]] : []),
            ...(r.chance(0.6) ? [['level', this.field(() => this.num())] as [string, unknown]] : []),
          ]),
      ],
      ['nul', () => null],
      ['missing', () => this.any(1)],
    ];
    const entries: [string, unknown][] = [];
    for (const [name, gen] of fields) {
      const p = name === 'missing' ? 0.05 : present;
      if (r.chance(p)) entries.push([name, this.field(gen)]);
    }
    if (r.chance(0.05)) entries.push([r.pick(['__proto__', 'constructor', 'toString']), this.any(1)]);
    return jsonObject(entries);
  }
}

/** Input `j` of policy `index` in the run seeded `seed`: deterministic. */
export function generateInput(seed: number, index: number, j: number): Record<string, unknown> {
  return new InputGen(new Rng(seed, index, 0x5eed, j)).input();
}
