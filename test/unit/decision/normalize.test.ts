import { describe, expect, it } from 'vitest';
import { normalizeDecision } from '../../../src/decision/normalize.js';

describe('normalizeDecision', () => {
  it.each([
    [true, true, { allowed: true }],
    [true, false, { allowed: false }],
    [true, { allow: true, deny: [], warn: [] }, { allowed: true }],
    [true, { deny: [] }, { allowed: true }],
    [true, { allow: false }, { allowed: false }],
    [true, { allow: true, deny: ['nope'] }, { allowed: false, deny: [{ msg: 'nope' }] }],
    [true, { deny: [{ msg: 'a', rule: 'r' }], warn: ['w'] }, { allowed: false, deny: [{ msg: 'a', rule: 'r' }], warn: [{ msg: 'w' }] }],
    [false, undefined, { allowed: false, problem: 'undefined' }],
    [true, 'yes', { allowed: false, problem: 'malformed' }],
    [true, ['a'], { allowed: false, problem: 'malformed' }],
    [true, { allow: 'true' }, { allowed: false, problem: 'malformed' }],
    [true, { deny: 7 }, { allowed: false, problem: 'malformed' }],
  ])('defined=%s result=%j', (defined, result, expected) => {
    expect(normalizeDecision(defined, result)).toMatchObject(expected);
  });
});
