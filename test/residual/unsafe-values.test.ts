/**
 * Attacks on the residual's values and builtins (issue 7, classes 3–8): small policies loaded into a real OPA,
 * many hazardous inputs each, and one assertion per class — the residual never answers "allow" where OPA's Data
 * API, given exactly the bytes the gateway sends (`JSON.stringify({input})`), does not allow cleanly. Each class
 * also lists inputs the residual must still decide locally, so that refusing everything cannot pass.
 *
 * Inputs that JSON cannot carry as the residual sees them (NaN, ±Infinity, lone surrogates) reach OPA as the
 * gateway would have sent them before the input check existed (null, U+FFFD); the same inputs are then shown to
 * be refused by `checkPolicyInput` before either engine sees them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkPolicyInput } from '../../src/decision/input-value.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { BUILTINS } from '../../src/residual/builtins.js';
import { ResidualEngine, residualOpaClient } from '../../src/residual/engine.js';
import { ResidualUnsupported, type Value } from '../../src/residual/values.js';
import { allowedClean, type OpaVerdict, COMPILE_TIMEOUT_MS } from './harness.js';

interface Case {
  /** Rule bodies of `allow` (each one `allow if { … }`). */
  rules: string[];
  inputs: unknown[];
  /** Inputs the residual must answer locally (OPA allows them cleanly and the values are reproduced exactly). */
  local?: unknown[];
  /** The residual must refuse the policy at compile time with a reason starting with this. */
  refused?: string;
  /** More rules in the package. */
  extra?: string;
}

/** `{"__proto__": v, …}` as JSON.parse builds it: an own property, not the prototype. */
const protoKey = (v: unknown, rest: Record<string, unknown> = {}): Record<string, unknown> =>
  JSON.parse(JSON.stringify({ ...rest, __proto__x: v }).replace('"__proto__x"', '"__proto__"')) as Record<string, unknown>;

const WRONG_TYPES = [null, true, false, 0, 1, -1, 1.5, '', 'a', [], ['a'], {}, { a: 1 }];
const each = (key: string, values: unknown[]): unknown[] => [{}, ...values.map((v) => ({ [key]: v }))];

const CASES: Record<string, Record<string, Case>> = {
  // Class 3: a key present with value null, and every builtin with null, missing and wrong-type arguments.
  builtins: {
    get_null: { rules: ['object.get(input, "a", "d") == "d"'], inputs: each('a', [...WRONG_TYPES, 'd']), local: [{}, { a: 'd' }] },
    get_not_null: { rules: ['x := object.get(input, "a", 7)', 'not is_null(x)'], inputs: each('a', WRONG_TYPES), local: [{}, { a: 1 }] },
    get_path_null: {
      rules: ['object.get(input, ["a", "b"], "d") == "d"'],
      inputs: [{}, { a: null }, { a: { b: null } }, { a: { b: false } }, { a: { b: 'd' } }, { a: [] }, { a: 'b' }, { a: protoKey('d') }],
      local: [{}, { a: { b: 'd' } }],
    },
    get_index_null: { rules: ['object.get(input, ["a", 0], "d") == "d"'], inputs: [{ a: [null] }, { a: [false] }, { a: [] }, { a: ['d'] }, { a: { '0': 'x' } }] },
    get_empty_path: { rules: ['object.get(input.o, [], 1) == {}'], inputs: each('o', [...WRONG_TYPES, protoKey(1)]) },
    get_bad_object: { rules: ['object.get(input.o, "k", 1) == 1'], inputs: each('o', [...WRONG_TYPES, { k: null }, { k: 1 }]), local: [{ o: {} }, { o: { k: 1 } }] },
    keys_count: { rules: ['count(object.keys(input.o)) < 2'], inputs: each('o', [...WRONG_TYPES, protoKey(1, { a: 2 }), { constructor: 1, toString: 2 }]) },
    count_types: { rules: ['count(input.x) < 2'], inputs: each('x', [...WRONG_TYPES, '😀', 'é', '😀😀', 'ab', protoKey(1, { a: 1 })]), local: [{ x: '😀' }, { x: [] }] },
    not_count: { rules: ['not count(input.x) == 1'], inputs: each('x', WRONG_TYPES) },
    startswith: { rules: ['startswith(input.s, "a")'], inputs: each('s', [...WRONG_TYPES, 'ab', 'ä']), local: [{ s: 'ab' }] },
    not_endswith: { rules: ['not endswith(input.s, "a")'], inputs: each('s', [...WRONG_TYPES, 'ba']) },
    not_contains: { rules: ['not contains(input.s, "x")'], inputs: each('s', [...WRONG_TYPES, 'axb']) },
    split_count: { rules: ['count(split(input.s, input.d)) == 2'], inputs: [{ s: 'a,b', d: ',' }, { s: 'ab', d: '' }, { s: '😀é', d: '' }, { s: '', d: '' }, { s: ',', d: ',' }, { s: null, d: ',' }, { s: 'a', d: 1 }] },
    concat: { rules: ['concat(",", input.a) == "a,b"'], inputs: each('a', [...WRONG_TYPES, ['a', 'b'], ['a', null], ['a', 1], 'a,b']), local: [{ a: ['a', 'b'] }] },
    lower: { rules: ['lower(input.s) == "ab"'], inputs: each('s', [...WRONG_TYPES, 'AB', 'Ab', 'ÀB']), local: [{ s: 'AB' }] },
    upper_neq: { rules: ['upper(input.s) != "AB"'], inputs: each('s', [...WRONG_TYPES, 'ab', 'ß']) },
    member: { rules: ['"x" in input.c'], inputs: each('c', [...WRONG_TYPES, ['x'], { k: 'x' }, 'x', protoKey('x'), { constructor: 'x' }]), local: [{ c: ['x'] }, { c: protoKey('x') }] },
    not_member: { rules: ['not "x" in input.c'], inputs: each('c', WRONG_TYPES) },
    member_key: { rules: ['"toString", "x" in input.c'], inputs: each('c', [...WRONG_TYPES, { toString: 'x' }, ['x'], { constructor: 'x' }]) },
    member_proto_key: { rules: ['"__proto__", "x" in input.c'], inputs: each('c', [...WRONG_TYPES, protoKey('x'), protoKey('y')]), local: [{ c: protoKey('x') }] },
    plus: { rules: ['input.a + input.b == 3'], inputs: [{ a: 1, b: 2 }, { a: 1.5, b: 1.5 }, { a: '1', b: 2 }, { a: null, b: 3 }, { a: 2 ** 53, b: -(2 ** 53) + 3 }, { a: 1 }] },
    not_plus: { rules: ['not input.a + 1 == 2'], inputs: [{}, { a: null }, { a: '1' }, { a: [] }, { a: 1 }, { a: 2 }] },
    mul: { rules: ['input.a * input.b == 6'], inputs: [{ a: 2, b: 3 }, { a: 1.5, b: 4 }, { a: '2', b: 3 }, { a: null, b: 6 }, { a: 2 ** 30, b: 2 ** 30 }, { a: [2], b: 3 }], local: [{ a: 2, b: 3 }] },
    cross_type_order: {
      rules: ['input.a < input.b'],
      inputs: [{ a: null, b: false }, { a: true, b: 0 }, { a: 1, b: '' }, { a: 'z', b: [] }, { a: [], b: {} }, { a: {}, b: null }, { a: [1, 2], b: [1] }, { a: { a: 1 }, b: { b: 0 } }, { a: '', b: '😀' }],
      local: [{ a: null, b: false }, { a: [], b: {} }],
    },
    neq_composites: { rules: ['input.a != input.b'], inputs: [{ a: [1], b: [1.0] }, { a: { k: [] }, b: { k: [] } }, { a: [], b: {} }, { a: {}, b: null }, { a: 1, b: '1' }], local: [{ a: [], b: {} }] },
    minus_sets: { rules: ['count({1, 2} - input.s) == 1'], inputs: [{}, { s: [1] }, { s: 1 }, { s: null }] },
    type_name: { rules: ['type_name(input.x) == "number"'], inputs: each('x', WRONG_TYPES), local: [{ x: 1 }] },
    is_checks: { rules: ['not is_string(input.x)', 'not is_null(input.x)'], inputs: each('x', WRONG_TYPES) },
    array_concat: { rules: ['count(array.concat(input.a, ["x"])) == 2'], inputs: each('a', [...WRONG_TYPES, ['y']]) },
    // A support rule whose value is null (kept by the inlining plan: two definitions) is defined: `not x` fails.
    null_rule_value: {
      extra: 'flag := true\n\nx := null if flag\n\nx := 1 if not flag\n',
      rules: ['input.go', 'not x'],
      inputs: [{ go: true }, { go: false }, {}],
    },
    null_rule_value_input: {
      extra: 'x := null if input.n\n\nx := 1 if input.one\n',
      rules: ['input.go', 'not x'],
      inputs: [{ go: true, n: true }, { go: true, one: true }, { go: true }],
      local: [{ go: true }],
    },
  },
  // Class 4: number literals that are not exactly the shortest decimal of their double, and integer-valued literals
  // written as floats (OPA formats them as floats in sprintf).
  literals: {
    underflow: { rules: ['input.x >= 1e-400'], inputs: each('x', [0, -0, 5e-324, 1e-300, -1]), refused: 'number literal' },
    rounds_to_one: { rules: ['input.x <= 0.99999999999999999'], inputs: each('x', [1, 0.9999999999999999, 0.99]), refused: 'number literal' },
    subnormal: { rules: ['input.x <= 3e-324'], inputs: each('x', [5e-324, 0, 1e-323]), refused: 'number literal' },
    eq_subnormal: { rules: ['input.x == 3e-324'], inputs: each('x', [5e-324]), refused: 'number literal' },
    big_int: { rules: ['input.x == 9007199254740993'], inputs: each('x', [9007199254740992, 9007199254740994]), refused: 'number literal' },
    seventeen_digits: { rules: ['input.x < 0.30000000000000001'], inputs: each('x', [0.3, 0.30000000000000004]), refused: 'number literal' },
    sprintf_float_int: { rules: ['sprintf("%d%s", [8080.0, input.t]) == input.s'], inputs: [{ s: '8080', t: '' }, { s: '%!d(float64=8080)', t: '' }], refused: 'number literal' },
    sprintf_exp_int: { rules: ['sprintf("%v%s", [1e3, input.t]) == input.s'], inputs: [{ s: '1000', t: '' }, { s: '1000', t: '' }], refused: 'number literal' },
    sprintf_via_rule: {
      extra: 'port := 8080.0 if input.t\n\nfmt(p) := sprintf("%d%s", [p, input.t])\n',
      rules: ['fmt(port) == input.s'],
      inputs: [{ s: '8080', t: '' }, { s: '8080x', t: 'x' }, { s: '%!d(float64=8080)x', t: 'x' }],
      refused: 'number literal',
    },
    float_int_compared: { rules: ['input.x == 1.0', 'input.y < 1e3'], inputs: [{ x: 1, y: 999 }, { x: 1, y: 1000 }, { x: 1.5, y: 0 }], local: [{ x: 1, y: 999 }] },
    exact_half: { rules: ['input.x < 0.5'], inputs: each('x', [0.49999999999999994, 0.5, 0.5000000000000001, -0]), local: [{ x: 0.49999999999999994 }, { x: -0 }] },
    trailing_zero: { rules: ['input.x == 1.50'], inputs: each('x', [1.5, 1.5000000000000002]), local: [{ x: 1.5 }] },
    min_subnormal: { rules: ['input.x >= 5e-324'], inputs: each('x', [5e-324, 0, -0, 1e-323]), local: [{ x: 5e-324 }] },
    // Accepted literals; the gate refuses input numbers beyond 2^53, so only the engine alone meets these.
    max_double: { rules: ['input.x >= 1.7976931348623157e308'], inputs: each('x', [Number.MAX_VALUE, 1e308]) },
    big_exponent: { rules: ['input.x < 1e300'], inputs: each('x', [1e300, 9.999999999999999e299, 1e299]), local: [{ x: 1 }] },
    neg_zero: { rules: ['input.x == -0'], inputs: each('x', [0, -0, 5e-324]), local: [{ x: 0 }] },
    sprintf_input_float: { rules: ['sprintf("%d", [input.x]) == input.s'], inputs: [{ x: 1.5, s: '1.5' }, { x: 1e21, s: '1e+21' }, { x: 1e21, s: '1000000000000000000000' }, { x: 2 ** 53, s: '9007199254740992' }, { x: 8080, s: '8080' }], local: [{ x: 8080, s: '8080' }] },
  },
  // Class 5: sprintf verbs against every JSON type; the expected text comes from the input (see `sprintfInputs`).
  sprintf: {
    dynamic: { rules: ['sprintf(input.f, input.args) == input.expect'], inputs: [] },
    literal_t: { rules: ['sprintf("%t", [input.b]) == "true"'], inputs: each('b', [true, 'true', 1]) },
    literal_s_bool: { rules: ['sprintf("%s", [input.b]) == "true"'], inputs: each('b', [true, 'true', 1]), local: [{ b: true }, { b: 'true' }] },
    literal_d_string: { rules: ['sprintf("%d", [input.v]) == "1"'], inputs: each('v', ['1', true, 1, 1.0, [1]]), local: [{ v: 1 }] },
  },
  // Class 6: `__proto__`, `constructor`, `toString`, `hasOwnProperty` keys in input objects and in objects the
  // evaluator builds (comprehensions, partial object rules, literals).
  proto: {
    comprehension_count: { rules: ['count({k: v | some k, v in input.o}) < 2'], inputs: each('o', [protoKey('x', { a: 'y' }), protoKey({ a: 1 }, { b: 2 }), { constructor: 1, toString: 2 }]), local: [{ o: { a: 1 } }] },
    comprehension_polluted: { rules: ['o := {k: v | some k, v in input.o}', 'o.polluted == true'], inputs: each('o', [protoKey({ polluted: true })]), local: [{ o: { polluted: true } }] },
    comprehension_member: { rules: ['o := {k: v | some k, v in input.o}', '"y" in o'], inputs: each('o', [protoKey({ a: 'y' })]), local: [{ o: { a: 'y' } }] },
    partial_rule: {
      extra: 'o[k] := v if {\n\tsome k, v in input.o\n}\n',
      rules: ['object.get(o, "polluted", false) == false', 'count(o) == count(input.o)'],
      inputs: each('o', [protoKey({ polluted: true }), protoKey('x', { a: 1 }), { constructor: 1 }]),
      local: [{ o: protoKey({ polluted: true }) }, { o: { a: 1 } }],
    },
    comprehension_keys: { rules: ['o := {k: v | some k, v in input.o}', 'count(o) == count(input.o)', 'object.keys(o) == {"__proto__"}'], inputs: each('o', [protoKey({ a: 1 }), protoKey('x', { b: 1 })]), local: [{ o: protoKey({ a: 1 }) }] },
    literal_polluted: { rules: ['o := {input.k: input.v}', 'object.get(o, "polluted", false) == true'], inputs: [{ k: '__proto__', v: { polluted: true } }, { k: 'polluted', v: true }], local: [{ k: 'polluted', v: true }] },
    literal_count: { rules: ['o := {input.k: 1, "a": 2}', 'count(o) == 1'], inputs: [{ k: '__proto__' }, { k: 'a' }, { k: 'constructor' }], local: [{ k: 'a' }] },
    literal_keys: { rules: ['o := {input.k: 1}', 'object.keys(o) == {"__proto__"}'], inputs: [{ k: '__proto__' }, { k: 'a' }], local: [{ k: '__proto__' }] },
    // A key repeated in an object literal (`{input.a: 1, input.b: 2}` with a = b): OPA's readings of it differ
    // (`o.k` answers the first value, object.get and equality the last); the residual must agree or refuse.
    rk_get2: { rules: ['o := {input.a: 1, input.b: 2}', 'object.get(o, "k", 0) == 2'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_get1: { rules: ['o := {input.a: 1, input.b: 2}', 'object.get(o, "k", 0) == 1'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_eq2: { rules: ['o := {input.a: 1, input.b: 2}', 'o == {"k": 2}'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_eq1: { rules: ['o := {input.a: 1, input.b: 2}', 'o == {"k": 1}'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_count1: { rules: ['o := {input.a: 1, input.b: 2}', 'count(o) == 1'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_count2: { rules: ['o := {input.a: 1, input.b: 2}', 'count(o) == 2'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_in2: { rules: ['o := {input.a: 1, input.b: 2}', '2 in o'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_in1: { rules: ['o := {input.a: 1, input.b: 2}', '1 in o'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_same_eq: { rules: ['o := {input.a: 1, input.b: 1}', 'o == {"k": 1}'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_same_count: { rules: ['o := {input.a: 1, input.b: 1}', 'count(o) == 1'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    rk_keys: { rules: ['o := {input.a: 1, input.b: 2}', 'object.keys(o) == {"k"}'], inputs: [{ a: 'k', b: 'k' }, { a: 'k', b: 'j' }] },
    // Rules and functions named like Object.prototype members: the compiler's own tables are keyed by these names.
    rule_names: {
      extra: '__proto__ := input.a\n\nconstructor contains x if {\n\tsome x in input.xs\n}\n\ntoString(v) := v if v != 2\n\nhasOwnProperty[k] := v if {\n\tsome k, v in input.o\n}\n\ndefault valueOf := 7\n\nvalueOf := input.v if input.v\n',
      rules: ['__proto__ == 1', 'count(constructor) == 0', 'toString(input.t) == 1', 'count(hasOwnProperty) == 0', 'valueOf == 7'],
      inputs: [{ a: 1, xs: [], t: 1, o: {} }, { a: 1, xs: ['x'], t: 1, o: {} }, { a: 2, xs: [], t: 1 }, { a: 1, xs: [], t: 2, o: {} }, { a: 1, xs: [], t: 1, o: { k: 1 } }, { a: 1, xs: [], t: 1, o: {}, v: 8 }],
      local: [{ a: 1, xs: [], t: 1, o: {} }],
    },
    // Packages (decision paths) named like Object.prototype members.
    constructor: { rules: ['input.a == 1'], inputs: [{ a: 2 }, {}], local: [{ a: 1 }] },
    ['__proto__']: { rules: ['input.a == 1'], inputs: [{ a: 2 }, {}], local: [{ a: 1 }] },
    inherited: {
      rules: ['not input.o.constructor', 'not input.o.toString', 'not input.o.hasOwnProperty', 'not input.o.__proto__', 'not input.o.valueOf'],
      inputs: [{ o: {} }, { o: { constructor: false } }, { o: protoKey(1) }, { o: protoKey(null) }, { o: [] }, { o: 'abc' }],
      local: [{ o: {} }],
    },
    inherited_get: { rules: ['object.get(input.o, "constructor", "d") == "d"', 'object.get(input.o, "__proto__", "d") == "d"'], inputs: [{ o: {} }, { o: protoKey('x') }, { o: { constructor: 'x' } }], local: [{ o: {} }] },
    array_length: { rules: ['input.a.length == 0'], inputs: [{ a: [] }, { a: ['x'] }, { a: { length: 0 } }, { a: '' }] },
    iterate_keys: { rules: ['ks := [k | some k, _ in input.o]', 'ks == ["__proto__", "a"]'], inputs: each('o', [{ a: 2 }]), local: [{ o: protoKey(1, { a: 2 }) }] },
    compare_objects: { rules: ['input.a == input.b'], inputs: [{ a: protoKey(1), b: {} }, { a: {}, b: protoKey(1) }, { a: protoKey(1), b: protoKey(1) }, { a: protoKey(1), b: protoKey(2) }], local: [{ a: protoKey(1), b: protoKey(1) }] },
    set_of_objects: { rules: ['count({input.a, input.b}) == 1'], inputs: [{ a: protoKey(1), b: {} }, { a: protoKey(1), b: protoKey(1) }] },
  },
  // Class 7: lone UTF-16 surrogates (Go's decoder reads each as U+FFFD).
  surrogates: {
    count: { rules: ['count(input.s) == 2'], inputs: each('s', ['a\ud800', 'a\udc00', '\ud800\ud800', 'a😀', '\udc00\ud800']), local: [{ s: 'a😀' }] },
    neq: { rules: ['input.a != input.b'], inputs: [{ a: '\ud800', b: '\udc00' }, { a: 'x\ud83d', b: 'x\ufffd' }, { a: 'a', b: 'b' }], local: [{ a: 'a', b: 'b' }] },
    neq_literal: { rules: ['input.a != "x\ufffd"'], inputs: each('a', ['x\ud800', 'x\udc00', 'x']), local: [{ a: 'x' }] },
    lt: { rules: ['input.a < input.b'], inputs: [{ a: '\ud800', b: '\ue000' }, { a: '\udfff', b: '\uffff' }, { a: 'a\ud800b', b: 'a\ufffd' }, { a: '\ue000', b: '😀' }], local: [{ a: '\ue000', b: '😀' }] },
    startswith: { rules: ['not startswith(input.s, "\ufffd")'], inputs: each('s', ['\ud800', '\udc00x', 'x']) },
    contains: { rules: ['not contains(input.s, input.t)'], inputs: [{ s: 'a\ud800', t: '\ufffd' }, { s: '\ud83d', t: '\ud83d\ude00' }, { s: 'ab', t: 'c' }], local: [{ s: 'ab', t: 'c' }] },
    keys: { rules: ['count(input.o) == 2'], inputs: [{ o: { 'a\ud800': 1, 'a\udc00': 2 } }, { o: { a: 1, b: 2 } }], local: [{ o: { a: 1, b: 2 } }] },
    key_order: { rules: ['ks := [k | some k, _ in input.o]', 'ks[0] == "\ue000"'], inputs: [{ o: { '\ud800': 1, '\ue000': 2 } }, { o: { '\ue000': 1, '😀': 2 } }], local: [{ o: { '\ue000': 1, '😀': 2 } }] },
    set_count: { rules: ['count({input.a, input.b}) == 2'], inputs: [{ a: '\ud800', b: '\udc00' }, { a: 'a', b: 'b' }] },
    split_chars: { rules: ['count(split(input.s, "")) == 2'], inputs: each('s', ['a\ud800', '\ud800\udc00', 'ab']) },
    sprintf_x: { rules: ['sprintf("%x", [input.s]) != "61efbfbd"'], inputs: each('s', ['a\ud800', 'a\udfff']), local: [{ s: 'a' }] },
  },
  // Class 8: non-finite numbers (JSON 1e400, YAML .inf/.nan) reach OPA as null.
  nonfinite: {
    is_number: { rules: ['is_number(input.x)'], inputs: each('x', [Infinity, -Infinity, NaN, 1]), local: [{ x: 1 }] },
    gt: { rules: ['input.x > 5'], inputs: each('x', [Infinity, NaN, 6]), local: [{ x: 6 }] },
    gt_false: { rules: ['input.x > false'], inputs: each('x', [NaN, Infinity, -Infinity, null]), local: [{ x: 1 }] },
    neq_null: { rules: ['input.x != null'], inputs: each('x', [Infinity, NaN, 1]), local: [{ x: 1 }] },
    not_eq_null: { rules: ['not input.x == null'], inputs: each('x', [Infinity, -Infinity, NaN]) },
    not_unify_null: { rules: ['not input.x = null'], inputs: each('x', [Infinity, NaN, 1]), local: [{ x: 1 }] },
    nan_eq: { rules: ['input.x == input.y'], inputs: [{ x: NaN, y: 1 }, { x: NaN, y: NaN }, { x: Infinity, y: null }, { x: 1, y: 1 }], local: [{ x: 1, y: 1 }] },
    nan_neq: { rules: ['input.x != input.y'], inputs: [{ x: NaN, y: NaN }, { x: Infinity, y: -Infinity }, { x: Infinity, y: null }] },
    set_count: { rules: ['count({input.x, null}) == 2'], inputs: each('x', [NaN, Infinity, 1]), local: [{ x: 1 }] },
    type_name: { rules: ['type_name(input.x) == "number"'], inputs: each('x', [Infinity, NaN, 1]), local: [{ x: 1 }] },
    sort_order: { rules: ['input.x >= input.y'], inputs: [{ x: NaN, y: 1 }, { x: 1, y: NaN }, { x: -Infinity, y: null }, { x: 2, y: 1 }], local: [{ x: 2, y: 1 }] },
    in_array: { rules: ['input.x in [null]'], inputs: each('x', [NaN, Infinity]) },
  },
};

/** (format, argument) pairs for the dynamic sprintf policy: every verb tested with every JSON type. */
const VERBS = ['%s', '%v', '%d', '%t', '%q', '%x', '%X', '%5d', '%-3s', '%+d', '%#x', '%%', '%', '%e', '%f', '%g', '%c', '%o', '%b', '%U'];
const ARGS: unknown[] = [null, true, false, 0, -0, 1, -255, 8080, 2 ** 53 - 1, 2 ** 53, 1e21, 0.5, -1.5, '', 'a', 'héllo', 'tab\there', 'q"\\', '\x7f', '😀', [], [1, 'x'], {}, { k: 1 }];

/**
 * Candidate answers for `sprintf(f, [v])`: what the residual's own sprintf prints (so any difference from OPA is
 * an allow OPA refuses), and what a naive JavaScript rendering would print.
 */
function candidates(f: string, v: unknown): string[] {
  const texts = [String(v), JSON.stringify(v), typeof v === 'number' ? v.toString(16) : '', typeof v === 'string' ? Buffer.from(v).toString('hex') : ''];
  try {
    const own = BUILTINS['sprintf']!.fn([f, [v as Value]]);
    if (typeof own === 'string') texts.push(own);
  } catch (err) {
    if (!(err instanceof ResidualUnsupported)) throw err;
  }
  return texts;
}

let opa: LocalOpa;
let engine: ResidualEngine;
const paths: string[] = [];

async function post(path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(opa.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

/** OPA's Data API on exactly what the gateway sends: `JSON.stringify({input})`. */
async function dataApi(path: string, input: unknown): Promise<OpaVerdict> {
  const { status, json } = await post(`/v1/data/${path}`, JSON.stringify({ input }));
  if (status !== 200) return { error: String(json.code) };
  return { result: json.result };
}

/** OPA's own `sprintf(f, [v])`, for the dynamic cases. */
async function opaSprintf(f: string, v: unknown): Promise<string> {
  const { json } = await post('/v1/query', JSON.stringify({ query: 'x := sprintf(input.f, [input.v])', input: { f, v } }));
  return ((json.result as { x: string }[])[0]!).x;
}

const pathOf = (cls: string, name: string): string => `writegate/unsafe/${cls}/${name}/allow`;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'writegate-unsafe-'));
  for (const [cls, cases] of Object.entries(CASES)) {
    for (const [name, c] of Object.entries(cases)) {
      const rego = `package writegate.unsafe.${cls}.${name}\n\nallow if {\n${c.rules.map((r) => `\t${r}`).join('\n')}\n}\n\n${c.extra ?? ''}`;
      writeFileSync(join(dir, `${cls}_${name}.rego`), rego);
      paths.push(pathOf(cls, name));
    }
  }
  opa = await startLocalOpa({ paths: [dir] });
  engine = new ResidualEngine({ client: residualOpaClient(opa.url, COMPILE_TIMEOUT_MS), pollIntervalMs: 60_000 });
  await engine.start(paths);
  const dynamic: unknown[] = [];
  for (const f of VERBS) {
    for (const v of ARGS) {
      const truth = await opaSprintf(f, v);
      for (const expect of new Set([truth, ...candidates(f, v)])) dynamic.push({ f, args: [v], expect });
    }
  }
  CASES.sprintf!.dynamic!.inputs = dynamic;
  CASES.sprintf!.dynamic!.local = [
    { f: '%s', args: ['héllo'], expect: 'héllo' },
    { f: '%v', args: [null], expect: 'null' },
    { f: '%d', args: [-255], expect: '-255' },
    { f: '%x', args: [-255], expect: '-ff' },
    { f: '%X', args: ['é'], expect: 'C3A9' },
    { f: '%q', args: ['q"\\'], expect: '"q\\"\\\\"' },
    { f: '%%', args: [], expect: '%' },
  ];
});

afterAll(async () => {
  engine?.stop();
  await opa?.stop();
});

interface Unsafe {
  path: string;
  input: string;
  opa: OpaVerdict;
}

const show = (input: unknown): string =>
  JSON.stringify(input, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));

/** What the gate does: the input check, then the residual; a refused input never reaches either engine. */
function gateOutcome(path: string, input: unknown): 'allow' | 'other' {
  try {
    checkPolicyInput(input);
  } catch {
    return 'other';
  }
  return engine.evaluate(path, input).outcome === 'allow' ? 'allow' : 'other';
}

/**
 * Inputs the residual allows while OPA does not allow cleanly. `direct` evaluates without the gate's input check
 * (the engine's own defence: values and builtins refuse non-finite numbers and lone surrogates themselves).
 */
async function unsafeAllows(path: string, inputs: unknown[], direct: boolean): Promise<Unsafe[]> {
  const found: Unsafe[] = [];
  for (const input of inputs) {
    const local = direct ? engine.evaluate(path, structuredClone(input)).outcome : gateOutcome(path, structuredClone(input));
    if (local !== 'allow') continue;
    const verdict = await dataApi(path, input);
    if (!allowedClean(verdict)) found.push({ path, input: show(input), opa: verdict });
  }
  return found;
}

for (const [cls, cases] of Object.entries(CASES)) {
  describe(`class ${cls}`, () => {
    for (const [name, c] of Object.entries(cases)) {
      test(name, async () => {
        const path = pathOf(cls, name);
        const state = engine.residual(path);
        if (c.refused) {
          expect(state?.reason, `${path} must not compile`).toMatch(new RegExp(`^${c.refused}`));
        } else {
          expect(state?.text, `${path} should compile (${state?.reason})`).toBeDefined();
        }
        expect(c.inputs.length + (c.local?.length ?? 0)).toBeGreaterThan(0);
        const all = [...c.inputs, ...(c.local ?? [])];
        expect(await unsafeAllows(path, all, false), 'through the gate').toEqual([]);
        expect(await unsafeAllows(path, all, true), 'engine alone').toEqual([]);
        for (const input of c.local ?? []) {
          expect(allowedClean(await dataApi(path, input)), `OPA allows ${JSON.stringify(input)}`).toBe(true);
          expect(gateOutcome(path, structuredClone(input)), `decided locally: ${show(input)}`).toBe('allow');
        }
      });
    }
  });
}

describe('the gate refuses what the engines would read differently', () => {
  const lone = (v: unknown): boolean => JSON.stringify(v).includes('\\ud');
  const nonFinite = (v: unknown): boolean =>
    typeof v === 'number' ? !Number.isFinite(v) : typeof v === 'object' && v !== null && Object.values(v).some(nonFinite);
  const refused = [
    ...Object.values(CASES.surrogates!).flatMap((c) => c.inputs.filter(lone)),
    ...Object.values(CASES.nonfinite!).flatMap((c) => c.inputs.filter(nonFinite)),
  ];
  test('every lone-surrogate and non-finite input above', () => {
    expect(refused.length).toBeGreaterThan(30);
    for (const input of refused) {
      expect(() => checkPolicyInput(input), show(input)).toThrow(expect.objectContaining({ code: 'WG_ERR_MALFORMED_BODY' }));
    }
  });
});
