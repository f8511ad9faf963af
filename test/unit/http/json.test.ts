import { describe, expect, it } from 'vitest';
import { parseJsonStrict } from '../../../src/http/json.js';

describe('parseJsonStrict', () => {
  it('parses ordinary JSON', () => {
    expect(parseJsonStrict('{"a":[1,{"b":"x\\"}"}],"c":{"a":1}}')).toEqual({ a: [1, { b: 'x"}' }], c: { a: 1 } });
  });
  it.each([
    '{"a":1,"a":2}',
    '{"spec":{"containers":[{"name":"x","securityContext":{"privileged":false,"privileged":true}}]}}',
    '{"a":1,"\\u0061":2}',
  ])('refuses duplicate keys: %s', (text) => {
    expect(() => parseJsonStrict(text)).toThrow(/duplicate key/);
  });
  it('refuses keys that are one key as Go reads them (an unpaired surrogate is U+FFFD there)', () => {
    for (const text of ['{"a\\ud800":1,"a\\udc00":2}', '{"a\\ud800":1,"a\\ufffd":2}', '{"x":{"\\udfff":1,"\\ud800":2}}']) {
      expect(() => parseJsonStrict(text), text).toThrow(/duplicate key in a JSON object at position \d+/);
    }
    expect(Object.keys(parseJsonStrict('{"a\\ud83d\\ude00":1,"a\\ufffd":2}') as object)).toHaveLength(2);
  });
  it('keeps __proto__ an own key and never quotes the text in its messages', () => {
    const v = parseJsonStrict('{"__proto__":{"polluted":true},"b":1}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__', 'b']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(v.polluted).toBeUndefined();
    for (const text of ['{"password":"hunter2","password":"hunter2"}', '{"password":"hunter2",}', '{"password":hunter2}']) {
      expect(() => parseJsonStrict(text)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
    }
  });
  it('allows the same key in sibling objects', () => {
    expect(parseJsonStrict('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });
  it('refuses malformed JSON with WG_ERR_MALFORMED_BODY', () => {
    expect(() => parseJsonStrict('{"a":')).toThrow(expect.objectContaining({ code: 'WG_ERR_MALFORMED_BODY' }));
  });
});
