import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WritegateError, errorCatalogue, isWritegateError } from '../../src/errors.js';
import { projectRoot } from '../../src/opa/binary.js';

describe('error catalogue', () => {
  const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');

  it.each(Object.entries(errorCatalogue))('%s is documented in the README with its status and fix', (code, entry) => {
    expect(code).toMatch(/^WG_ERR_[A-Z_]+$/);
    expect(entry.fix.length).toBeGreaterThan(20);
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    expect(row, `README row for ${code}`).toBeDefined();
    expect(row).toContain(`| ${entry.status} |`);
    expect(row).toContain(entry.fix);
  });

  it('documents no code the catalogue lacks', () => {
    const documented = [...readme.matchAll(/^\| `(WG_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(errorCatalogue).sort());
  });

  it('errors carry code and status, keep their cause, and are recognised by code', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new WritegateError('WG_ERR_OPA_UNAVAILABLE', 'http://127.0.0.1:8181', { cause });
    expect(e).toMatchObject({ code: 'WG_ERR_OPA_UNAVAILABLE', status: 503, cause });
    expect(e.message).toBe('policy engine unavailable: http://127.0.0.1:8181');
    expect(isWritegateError(e)).toBe(true);
    expect(isWritegateError({ code: 'WG_ERR_OPA_UNAVAILABLE', status: 503 })).toBe(true);
    expect(isWritegateError({ code: 'ECONNREFUSED', status: 503 })).toBe(false);
  });
});
