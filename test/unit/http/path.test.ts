import { describe, expect, it } from 'vitest';
import { decodeRequestPath, forwardedTarget, splitUrl } from '../../../src/http/path.js';

const ORIGIN = 'https://127.0.0.1:6443';

describe('splitUrl: only request targets every later hop reads the same way', () => {
  it.each([
    ['/api/v1/namespaces/production#/pods/x', 'fragment in the path'],
    ['/api/v1/namespaces/default/pods/x?dryRun=All#', 'fragment in the query'],
    ['/api/v1/namespaces/default/pods/x;y', '";" in the path'],
    ['/api/v1/namespaces/default/pods?dryRun=All;x=1', '";" in the query'],
    ["/api/v1/namespaces/default/pods?a='", '"\'" in the query'],
    ['/api/v1/namespaces/default/pods/a b', 'space'],
    ['/api/v1/namespaces/default/pods/\u00e9', 'non-ASCII'],
    ['/api/v1/namespaces/default/pods/x"', 'double quote'],
    ['/api/v1/namespaces/default/pods/x<', '"<"'],
    ['/api/v1/namespaces/default/pods/x>', '">"'],
    ['/api/v1/namespaces/default/pods/x{', '"{"'],
    ['/api/v1/namespaces/default/pods/x`', 'backtick'],
    ['/api/v1/namespaces/default/pods/x|', '"|"'],
    ['/api/v1/namespaces/default/pods/x^', '"^"'],
    ['/api/v1/namespaces/default/pods/x[0]', 'brackets'],
    ['/api/v1/namespaces/default/pods/x%zz', 'malformed escape'],
    ['/api/v1/namespaces/default/pods/x%4', 'truncated escape'],
    ['/api/v1/namespaces/default/pods?x=%', 'bare percent in the query'],
    ['/api/v1/namespaces/default/pods?', 'empty query'],
    ['http://evil/api/v1/namespaces', 'absolute form'],
    ['*', 'asterisk form'],
    ['api/v1/namespaces', 'no leading slash'],
    ['', 'empty target'],
  ])('refuses %s (%s)', (target) => {
    expect(() => splitUrl(target)).toThrow(expect.objectContaining({ code: 'WG_ERR_BAD_PATH' }));
  });

  it('splits an ordinary target at the first "?"', () => {
    expect(splitUrl('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&limit=500')).toEqual({
      rawPath: '/api/v1/namespaces/default/pods', rawQuery: 'labelSelector=app%3Dweb&limit=500',
    });
    expect(splitUrl('/api/v1/pods?a=b?c')).toEqual({ rawPath: '/api/v1/pods', rawQuery: 'a=b?c' });
    expect(splitUrl('/api/v1/pods')).toEqual({ rawPath: '/api/v1/pods', rawQuery: '' });
  });
});

describe('forwardedTarget: what a WHATWG-URL forwarder sends', () => {
  it('says when a target would leave the origin', () => {
    expect(forwardedTarget(ORIGIN, '//evil.example/api')).toBe('');
  });

  it('drops a fragment (the F1 attack), so the gateway compares before forwarding', () => {
    expect(forwardedTarget(ORIGIN, '/api/v1/namespaces/production#/pods/x')).toBe('/api/v1/namespaces/production');
  });

  it('sends every target the gateway accepts byte for byte (randomised over printable ASCII)', () => {
    // Printable ASCII: every byte that could appear in a target Node's parser accepts.
    const alphabet = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
    let seed = 8;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let target = '/';
      const length = 1 + random(12);
      for (let j = 0; j < length; j++) target += alphabet[random(alphabet.length)];
      let ok = true;
      try {
        decodeRequestPath(splitUrl(target).rawPath);
      } catch {
        ok = false;
      }
      if (!ok) continue;
      accepted++;
      expect(forwardedTarget(ORIGIN, target), target).toBe(target);
      expect(forwardedTarget(ORIGIN, `/base${target}`), target).toBe(`/base${target}`);
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
