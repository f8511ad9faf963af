import { describe, expect, it } from 'vitest';
import { parseCsv, parseTokenFile, TokenFileError } from '../../../src/auth/token-file.js';

/** The callers of a token file by token (the map is keyed by digest; look them up as the gateway does). */
function callers(text: string): Map<string, unknown> {
  const byDigest = parseTokenFile(text);
  return new Map([...byDigest.values()].map((e) => [e.caller.username, e.caller]));
}

describe('parseCsv: Go encoding/csv with the apiserver\'s settings', () => {
  it('reads quoted fields as RFC 4180 does, with "" for a quote and line breaks inside quotes', () => {
    expect(parseCsv('a,"b,c","d""e"\n"multi\nline",x,y')).toEqual([['a', 'b,c', 'd"e'], ['multi\nline', 'x', 'y']]);
  });

  it('skips empty lines, and takes \\r\\n as a line end', () => {
    expect(parseCsv('\na,b,c\r\n\r\n\nd,e,f\r\n')).toEqual([['a', 'b', 'c'], ['d', 'e', 'f']]);
  });

  it('keeps spaces (no trimming) and a line of spaces is a record of one field', () => {
    expect(parseCsv(' a , b,c\n  \n')).toEqual([[' a ', ' b', 'c'], ['  ']]);
  });

  it.each([
    ['a quote inside an unquoted field', 'tok"en,u,1\n'],
    ['text after a closing quote', '"token"x,u,1\n'],
    ['a quoted field never closed', '"token,u,1\n'],
  ])('refuses %s, as Go does without LazyQuotes', (_why, text) => {
    expect(() => parseCsv(text)).toThrow(TokenFileError);
  });
});

describe('parseTokenFile: the apiserver\'s token file rules', () => {
  it('token,user,uid and groups from the fourth column split on ","; more columns are ignored', () => {
    const c = callers('t1,alice,u-1,"devs,ci"\nt2,bob,u-2\nt3,carol,u-3,admins,ignored,too\n');
    expect(c.get('alice')).toEqual({ username: 'alice', uid: 'u-1', groups: ['devs', 'ci'], extra: {}, authenticatedBy: 'token' });
    expect(c.get('bob')).toMatchObject({ groups: [] });
    expect(c.get('carol')).toMatchObject({ groups: ['admins'] });
  });

  it('an empty fourth column is one group named "" (strings.Split of "")', () => {
    expect(callers('t1,alice,u-1,\n').get('alice')).toMatchObject({ groups: [''] });
  });

  it('skips an empty token, and a token listed twice is the last record\'s', () => {
    const entries = parseTokenFile(',nobody,u-0\nsame,first,u-1\nsame,second,u-2\n');
    expect(entries.size).toBe(1);
    expect([...entries.values()][0]!.caller.username).toBe('second');
  });

  it('refuses the whole file when a record has fewer than three columns', () => {
    expect(() => parseTokenFile('t1,alice,u-1\nt2,bob\n')).toThrow(/at least 3 columns/);
  });

  it('never keeps a token: entries are SHA-256 digests', () => {
    const entries = parseTokenFile('secret-token-value,alice,u-1\n');
    expect(JSON.stringify([...entries.keys()])).not.toContain('secret-token-value');
    expect([...entries.keys()][0]).toMatch(/^[0-9a-f]{64}$/);
  });
});
