/**
 * Regression files keep the exact JS input the gateway would have held, including what JSON cannot say:
 * non-finite numbers and negative zero become `{"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}` (the
 * generators never produce a `$number` key). Lone surrogates survive JSON.stringify/parse as `\ud800` escapes,
 * and `__proto__` keys as own properties (JSON.parse), so they need no tagging.
 */
import { jsonObject } from './input-gen.js';

export function encodeValue(v: unknown): unknown {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { $number: 'NaN' };
    if (v === Infinity) return { $number: 'Infinity' };
    if (v === -Infinity) return { $number: '-Infinity' };
    if (Object.is(v, -0)) return { $number: '-0' };
    return v;
  }
  if (Array.isArray(v)) return v.map(encodeValue);
  if (typeof v === 'object' && v !== null) return jsonObject(Object.entries(v).map(([k, x]) => [k, encodeValue(x)]));
  return v;
}

const SPECIAL = new Map<string, number>([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['-0', -0],
]);

export function decodeValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    if (entries.length === 1 && entries[0]![0] === '$number' && typeof entries[0]![1] === 'string') {
      const n = SPECIAL.get(entries[0]![1]);
      if (n !== undefined) return n;
    }
    return jsonObject(entries.map(([k, x]) => [k, decodeValue(x)]));
  }
  return v;
}
