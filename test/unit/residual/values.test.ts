/**
 * The residual's values and builtins on the hazards of issue 7, called directly (no gate, no input check): the
 * defence that holds even when an engine is handed a value the gate would have refused. Each expectation on an
 * accepted case is OPA 1.22.3's answer (checked against a real OPA in test/residual/unsafe-values.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { isExactLiteral, parseCompileResponse } from '../../../src/residual/ast.js';
import { BUILTINS } from '../../../src/residual/builtins.js';
import {
  canonicalKey, compare, compareStrings, decidedByIdentity, emptyObject, equal, lookup, RegoSet, ResidualUnsupported, type Value,
} from '../../../src/residual/values.js';

const call = (name: string, ...args: Value[]): Value | undefined => BUILTINS[name]!.fn(args);
const unsupported = expect.any(ResidualUnsupported) as unknown as Error;
const json = (text: string): Value => JSON.parse(text) as Value;

describe('objects: own keys only, and built without a prototype', () => {
  it('lookup never reads an inherited property', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'isPrototypeOf']) {
      expect(lookup({}, key), key).toBeUndefined();
      expect(lookup(emptyObject(), key), key).toBeUndefined();
      expect(lookup(json(`{"${key}":"own"}`), key), key).toBe('own');
    }
    expect(lookup([], 'length')).toBeUndefined();
  });

  it('emptyObject takes __proto__ as a key, where {} would take a new prototype', () => {
    const o = emptyObject();
    o['__proto__'] = { polluted: true };
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect(lookup(o, 'polluted')).toBeUndefined();
    expect(call('count', o)).toBe(1);
    expect((call('object.keys', o) as RegoSet).sorted()).toEqual(['__proto__']);
  });

  it('membership (`x in obj`) looks at own values only', () => {
    const polluted = Object.create({ inherited: 'y' }) as Record<string, Value>;
    polluted.own = 'x';
    expect(call('internal.member_2', 'x', polluted)).toBe(true);
    expect(call('internal.member_2', 'y', polluted)).toBe(false);
    expect(call('internal.member_3', 'inherited', 'y', polluted)).toBe(false);
    expect(call('internal.member_3', '__proto__', 'x', json('{"__proto__":"x"}'))).toBe(true);
  });

  it('equality and order count __proto__ like any key', () => {
    expect(equal(json('{"__proto__":1}'), {})).toBe(false);
    expect(equal(json('{"__proto__":1}'), json('{"__proto__":1}'))).toBe(true);
    expect(compare(json('{"__proto__":1}'), json('{"a":1}'))).toBe(-1);
  });

  it('BUILTINS has no inherited entries', () => {
    expect(BUILTINS['constructor']).toBeUndefined();
    expect(BUILTINS['toString']).toBeUndefined();
  });
});

describe('object.get (topdown/object.go: cmp.Or falls back only on a missing key)', () => {
  it('a key present with value null is null, not the default', () => {
    expect(call('object.get', { a: null }, 'a', 'd')).toBeNull();
    expect(call('object.get', { a: false }, 'a', 'd')).toBe(false);
    expect(call('object.get', { a: { b: null } }, ['a', 'b'], 'd')).toBeNull();
    expect(call('object.get', { a: [null] }, ['a', 0], 'd')).toBeNull();
  });
  it('a missing key or step is the default; a non-object is undefined', () => {
    expect(call('object.get', {}, 'a', 'd')).toBe('d');
    expect(call('object.get', { a: null }, ['a', 'b'], 'd')).toBe('d');
    expect(call('object.get', {}, 'constructor', 'd')).toBe('d');
    expect(call('object.get', {}, '__proto__', 'd')).toBe('d');
    expect(call('object.get', { a: 1 }, [], 'd')).toEqual({ a: 1 });
    expect(call('object.get', null, 'a', 'd')).toBeUndefined();
    expect(call('object.get', ['a'], 0, 'd')).toBeUndefined();
  });
});

describe('non-finite numbers (OPA receives null)', () => {
  const bad = [NaN, Infinity, -Infinity];
  it.each(bad)('%d is refused wherever it is compared, typed, counted into a set or used', (x) => {
    expect(() => compare(x, 1)).toThrow(unsupported);
    expect(() => compare(false, x)).toThrow(unsupported);
    expect(() => equal(x, null)).toThrow(unsupported);
    expect(() => equal(1, x)).toThrow(unsupported);
    expect(() => canonicalKey([x])).toThrow(unsupported);
    expect(() => new RegoSet().add(x)).toThrow(unsupported);
    for (const f of ['is_number', 'is_null', 'is_string', 'type_name']) expect(() => call(f, x), f).toThrow(unsupported);
    expect(() => call('neq', x, null)).toThrow(unsupported);
    expect(() => call('gt', x, 5)).toThrow(unsupported);
    expect(() => call('plus', x, 1)).toThrow(unsupported);
    expect(() => call('sprintf', '%v', [x])).toThrow(unsupported);
  });
  it('the fast path x = K is only for literals where identity decides', () => {
    expect(decidedByIdentity(null)).toBe(false);
    expect(decidedByIdentity('a\ufffd')).toBe(false);
    for (const k of [0, 1.5, true, false, '', 'DELETE']) expect(decidedByIdentity(k)).toBe(true);
  });
});

describe('unpaired surrogates (OPA reads U+FFFD)', () => {
  const lone = ['\ud800', 'a\udc00', '\udc00\ud800', 'x\ud83d'];
  it.each(lone)('%j is refused where strings are compared, counted, searched or formatted', (s) => {
    expect(() => equal(s, s + 'x')).toThrow(unsupported);
    expect(() => compareStrings(s, s.replace(/[\ud800-\udfff]/g, '\ufffd'))).toThrow(unsupported);
    expect(() => call('count', { [s]: 1 })).toThrow(unsupported);
    expect(() => call('startswith', s, '\ufffd')).toThrow(unsupported);
    expect(() => call('endswith', 'x', s)).toThrow(unsupported);
    expect(() => call('contains', s, 'a')).toThrow(unsupported);
    expect(() => call('split', s, '')).toThrow(unsupported);
    expect(() => call('concat', ',', [s])).toThrow(unsupported);
    expect(() => call('sprintf', '%s', [s])).toThrow(unsupported);
    expect(() => new RegoSet().add(s)).toThrow(unsupported);
    expect(() => new RegoSet().has(s)).toThrow(unsupported);
  });
  it('is exact without refusing where the unpaired unit cannot matter', () => {
    // A lone high surrogate counts as one code point, as its U+FFFD does; a lone low one would not.
    expect(call('count', '\ud800')).toBe(1);
    expect(call('count', 'x\ud83d')).toBe(2);
    expect(() => call('count', 'a\udc00')).toThrow(unsupported);
    // The first difference decides the order; an unpaired unit after it changes nothing.
    expect(compareStrings('x\ud83d', '\ufffd')).toBe(-1);
    expect(compareStrings('b\ud800', 'a\udc00')).toBe(1);
  });
  it('well-formed strings keep Go order (code points) and counts', () => {
    expect(compareStrings('\ue000', '😀')).toBe(-1);
    expect(compareStrings('😀', '\uffff')).toBe(1);
    expect(compareStrings('a', 'a😀')).toBe(-1);
    expect(call('count', 'a😀é')).toBe(3);
    expect(call('split', '😀é', '')).toEqual(['😀', 'é']);
    expect(equal('a😀', 'a😀')).toBe(true);
    expect(equal('\ud800', '\ud800')).toBe(true);
  });
});

describe('sprintf: only the verb/operand pairs reproduced exactly', () => {
  const ok: Array<[string, Value[], string]> = [
    ['%s', ['héllo'], 'héllo'],
    ['%v', ['a'], 'a'],
    ['%s|%v', [true, null], 'true|null'],
    ['%d|%v', [-255, 8080], '-255|8080'],
    ['%d', [-0], '0'],
    ['%x|%X', [255, -255], 'ff|-FF'],
    ['%x', ['é'], 'c3a9'],
    ['%X', [true], '74727565'],
    ['%q', ['q"\\'], '"q\\"\\\\"'],
    ['%q', [false], '"false"'],
    ['100%%', [], '100%'],
  ];
  it.each(ok)('%s of %j is %j', (f, args, out) => {
    expect(call('sprintf', f, args)).toBe(out);
  });
  const refused: Array<[string, Value[]]> = [
    ['%t', [true]], ['%d', ['1']], ['%d', [true]], ['%s', [1]], ['%v', [1.5]], ['%d', [2 ** 53]], ['%v', [[1]]], ['%v', [{}]],
    ['%v', [new RegoSet()]], ['%q', ['é']], ['%q', ['\n']], ['%5d', [1]], ['%-s', ['a']], ['%+d', [1]], ['%#x', [1]],
    ['%[1]s', ['a']], ['%e', [1]], ['%c', [65]], ['%', [1]], ['%d %d', [1]], ['%d', [1, 2]], ['%U', [1]],
  ];
  it.each(refused)('%s of %j is refused', (f, args) => {
    expect(() => call('sprintf', f, args)).toThrow(unsupported);
  });
  it('a non-string format or non-array operands are undefined (non-strict builtin errors)', () => {
    expect(call('sprintf', 1, ['a'])).toBeUndefined();
    expect(call('sprintf', '%s', 'a')).toBeUndefined();
  });
});

describe('number literals (ast.ts)', () => {
  it.each([
    ['0', true], ['-0', true], ['1.50', true], ['0.5', true], ['5e-324', true], ['1e300', true], ['1.7976931348623157e308', true],
    ['100000000000000000000000', true], ['1e-400', false], ['0.99999999999999999', false], ['3e-324', false], ['9007199254740993', false],
    ['0.30000000000000001', false], ['1e400', false],
  ])('%s exact: %s', (raw, exact) => {
    expect(isExactLiteral(raw, true)).toBe(exact);
    expect(isExactLiteral(raw, false)).toBe(exact);
  });
  it('integers written as floats are refused only where sprintf could read their text', () => {
    for (const raw of ['8080.0', '1e3', '1.0', '0.0', '2.50e1']) {
      expect(isExactLiteral(raw, true), raw).toBe(false);
      expect(isExactLiteral(raw, false), raw).toBe(true);
    }
  });
  it('guards every number token, whatever the key order, and leaves strings alone', () => {
    const r = parseCompileResponse('{"result":{"queries":[[{"index":0,"terms":[{"value":1e-400,"type":"number"},{"type":"string","value":"1e-400 0.99999999999999999"},{"type":"number","value":0.5}]}]]}}');
    const terms = (r.result!.queries![0]![0]!.terms as Array<{ value: unknown }>).map((t) => t.value);
    expect(terms).toEqual(['1e-400', '1e-400 0.99999999999999999', 0.5]);
    expect(r.result!.queries![0]![0]!.index).toBe(0);
  });
});
