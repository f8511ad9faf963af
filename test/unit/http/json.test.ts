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
  it('allows the same key in sibling objects', () => {
    expect(parseJsonStrict('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });
  it('refuses malformed JSON with WG_ERR_MALFORMED_BODY', () => {
    expect(() => parseJsonStrict('{"a":')).toThrow(expect.objectContaining({ code: 'WG_ERR_MALFORMED_BODY' }));
  });
});
