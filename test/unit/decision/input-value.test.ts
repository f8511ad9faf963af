import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPolicyInput, MAX_DEPTH } from '../../../src/decision/input-value.js';

const malformed = expect.objectContaining({ code: 'WG_ERR_MALFORMED_BODY', status: 400 });

/** What OPA decodes from the bytes the gateway sends it (src/opa/client.ts: JSON.stringify). */
const wire = (v: unknown): string => JSON.stringify({ input: v });

describe('checkPolicyInput', () => {
  it('accepts JSON as JSON.parse and the YAML parser build it, and changes nothing OPA would read', () => {
    const text = '{"a":[1,-2.5,"x",true,null,{"b":{}}],"__proto__":{"c":1},"constructor":"k","toString":[],"😀":"é"}';
    const input = JSON.parse(text) as Record<string, unknown>;
    checkPolicyInput(input);
    expect(wire(input)).toBe(wire(JSON.parse(text)));
    expect(Object.keys(input)).toEqual(['a', '__proto__', 'constructor', 'toString', '😀']);
    const query = Object.assign(Object.create(null) as Record<string, string[]>, { dryRun: ['All'] });
    expect(() => checkPolicyInput({ query })).not.toThrow();
  });

  it('keeps the JSON of every JSON value within ±(2^53 − 1) and without unpaired surrogates', () => {
    const within = (v: unknown): boolean =>
      typeof v === 'number' ? Math.abs(v) <= Number.MAX_SAFE_INTEGER : typeof v !== 'object' || v === null || Object.values(v).every(within);
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const before = JSON.stringify(v);
        fc.pre(within(v) && !/\\ud[89a-f]/i.test(before));
        checkPolicyInput(v);
        expect(JSON.stringify(v)).toBe(before);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('normalises -0 to 0, and undefined as JSON.stringify does (no key; null in an array)', () => {
    const input: Record<string, unknown> = { z: -0, a: [-0, undefined], gone: undefined, o: { n: -0 } };
    checkPolicyInput(input);
    expect(Object.is(input.z, 0)).toBe(true);
    expect(Object.is((input.a as unknown[])[0], 0)).toBe(true);
    expect((input.a as unknown[])[1]).toBeNull();
    expect(Object.keys(input)).toEqual(['z', 'a', 'o']);
    expect(Object.is((input.o as { n: number }).n, 0)).toBe(true);
  });

  it.each([
    ['Infinity (JSON 1e400)', { spec: { replicas: JSON.parse('1e400') as number } }],
    ['-Infinity', { a: [1, -Infinity] }],
    ['NaN (YAML .nan)', { a: { b: NaN } }],
    ['2^53', { n: 2 ** 53 }],
    ['-(2^53)', { n: [-(2 ** 53)] }],
    ['1e300', { n: 1e300 }],
    ['a lone high surrogate in a value', { s: 'ok\ud800' }],
    ['a lone low surrogate in a value', { s: ['\udc00ok'] }],
    ['a reversed pair', { s: '\udc00\ud800' }],
    ['a lone surrogate in a key', { o: JSON.parse('{"a\\ud800":1}') as unknown }],
    ['a bigint', { n: 1n }],
    ['a function', { f: () => 1 }],
    ['a symbol', { s: Symbol('x') }],
    ['a Date', { d: new Date(0) }],
    ['a Map', { m: new Map() }],
    ['a Buffer', { b: Buffer.from('x') }],
    ['an object whose prototype a __proto__ assignment replaced', { o: Object.assign({}, { ['__proto__']: { a: 1 } }) }],
  ])('refuses %s', (_name, input) => {
    expect(() => checkPolicyInput(input)).toThrow(malformed);
  });

  it('accepts the largest safe integers and the smallest subnormal', () => {
    expect(() => checkPolicyInput({ a: Number.MAX_SAFE_INTEGER, b: -Number.MAX_SAFE_INTEGER, c: 5e-324, d: '😀' })).not.toThrow();
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels without overflowing the stack (OPA refuses 9999)`, () => {
    const deep = (n: number): unknown => {
      let v: unknown = [];
      for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    expect(() => checkPolicyInput(deep(MAX_DEPTH - 1))).not.toThrow();
    expect(() => checkPolicyInput(deep(MAX_DEPTH))).toThrow(malformed);
    expect(() => checkPolicyInput(deep(200_000))).toThrow(malformed);
  });

  it('never echoes the content it refuses', () => {
    const secret = 'c2VjcmV0LXZhbHVl';
    for (const input of [{ data: { [secret + '\ud800']: 'x' } }, { data: { k: secret + '\udfff' } }, { data: { k: secret, n: NaN } }]) {
      try {
        checkPolicyInput(input);
        expect.unreachable();
      } catch (err) {
        expect((err as Error).message).not.toContain(secret);
        expect((err as Error).message).toMatch(/^request body could not be decoded: the policy input /);
      }
    }
  });
});
