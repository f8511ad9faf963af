import { describe, expect, it } from 'vitest';
import { pinJsonPatch, pinObjectBody } from '../../../../src/upstreams/kubernetes/pin.js';

describe('pinning a forwarded write to the judged resourceVersion (F15)', () => {
  it('inserts metadata.resourceVersion into an object body and changes no other byte', () => {
    expect(pinObjectBody('{"data":{"a":"1"}}', '42')).toBe('{"metadata":{"resourceVersion":"42"},"data":{"a":"1"}}');
    expect(pinObjectBody('{}', '42')).toBe('{"metadata":{"resourceVersion":"42"}}');
    expect(pinObjectBody(' { "metadata" : { "labels": {"x": "}"} } , "n": 1e3 }', '7'))
      .toBe(' { "metadata" : {"resourceVersion":"7", "labels": {"x": "}"} } , "n": 1e3 }');
    expect(pinObjectBody('{"metadata":{}}', '7')).toBe('{"metadata":{"resourceVersion":"7"}}');
    expect(pinObjectBody('{"metadata":{"resourceVersion":null,"name":"x"}}', '7')).toBe('{"metadata":{"resourceVersion":"7","name":"x"}}');
    expect(pinObjectBody('{"metadata":{"resourceVersion":""}}', '7')).toBe('{"metadata":{"resourceVersion":"7"}}');
    expect(pinObjectBody('{"a":"\\"metadata\\"","metadata":{"name":"x"}}', '7')).toBe('{"a":"\\"metadata\\"","metadata":{"resourceVersion":"7","name":"x"}}');
  });

  it('leaves a body that carries its own resourceVersion alone', () => {
    expect(pinObjectBody('{"metadata":{"resourceVersion":"41"}}', '42')).toBeUndefined();
  });

  it('refuses to pin a body whose metadata is not an object', () => {
    expect(() => pinObjectBody('{"metadata":null}', '1')).toThrow(/cannot be pinned/);
    expect(() => pinObjectBody('[1]', '1')).toThrow(/cannot be pinned/);
  });

  it('pins DeleteOptions through preconditions, where null means unset', () => {
    expect(pinObjectBody('{"propagationPolicy":"Background"}', '9', 'preconditions', true)).toBe('{"preconditions":{"resourceVersion":"9"},"propagationPolicy":"Background"}');
    expect(pinObjectBody('{"preconditions":null}', '9', 'preconditions', true)).toBe('{"preconditions":{"resourceVersion":"9"}}');
    expect(pinObjectBody('{"preconditions":{"uid":"u"}}', '9', 'preconditions', true)).toBe('{"preconditions":{"resourceVersion":"9","uid":"u"}}');
    expect(pinObjectBody('{"preconditions":{"resourceVersion":"8"}}', '9', 'preconditions', true)).toBeUndefined();
    // In a merge patch, metadata: null removes metadata; it is not "unset".
    expect(() => pinObjectBody('{"metadata":null}', '9')).toThrow(/cannot be pinned/);
  });

  it('appends one add operation to a JSON patch', () => {
    const op = '{"op":"add","path":"/metadata/resourceVersion","value":"42"}';
    expect(pinJsonPatch('[{"op":"remove","path":"/a"}]\n', '42')).toBe(`[{"op":"remove","path":"/a"},${op}]\n`);
    expect(pinJsonPatch(' [ ] ', '42')).toBe(` [ ${op}] `);
    expect(JSON.parse(pinJsonPatch('[{"op":"test","path":"/x","value":"]"}]', '42'))).toHaveLength(2);
  });
});
