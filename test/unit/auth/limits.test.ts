import { describe, expect, it } from 'vitest';
import { CallerLimits, callerKey } from '../../../src/auth/limits.js';
import type { GateRequest } from '../../../src/upstreams/types.js';

const req = (over: Partial<GateRequest>): GateRequest => ({ method: 'GET', url: '/', headers: {}, upgrade: false, remoteAddress: '2001:db8:1:2:3:4:5:6', ...over });

describe('callerKey', () => {
  it('is the authenticated user, else a digest of the kind\'s credential headers, else the address (IPv6: its /64)', () => {
    const jane = { username: 'jane', uid: '', groups: [], extra: {}, authenticatedBy: 'token' as const };
    expect(callerKey(req({ caller: jane, headers: { authorization: 'Bearer x' } }), ['authorization'])).toBe('user:jane');
    const a = callerKey(req({ headers: { authorization: 'Bearer x', cookie: 'c' } }), ['authorization', 'cookie']);
    expect(a).toMatch(/^credential:[0-9a-f]{64}$/);
    expect(callerKey(req({ headers: { cookie: 'c', authorization: 'Bearer x' } }), ['cookie', 'authorization'])).toBe(a);
    expect(callerKey(req({ headers: { authorization: 'Bearer y' } }), ['authorization'])).not.toBe(a);
    // A header that is not one of the kind's credentials says nothing about who is calling.
    expect(callerKey(req({ headers: { 'user-agent': 'x' } }), ['authorization'])).toBe('address:2001:db8:1:2::/64');
    // Every anonymous caller is system:anonymous: they are told apart by address.
    expect(callerKey(req({ caller: { ...jane, username: 'system:anonymous', authenticatedBy: 'anonymous' } }), [])).toBe('address:2001:db8:1:2::/64');
  });
});

describe('CallerLimits', () => {
  it('lets a burst through, then refills at rps; callers do not share a bucket', () => {
    let now = 0;
    const limits = new CallerLimits({ rps: 2, burst: 3, concurrent: 100 }, () => now);
    for (let i = 0; i < 3; i++) expect(limits.admit('a')).toHaveProperty('release');
    const over = limits.admit('a');
    expect('refused' in over && over.refused.code).toBe('WG_ERR_RATE_LIMITED');
    expect('refused' in over && over.refused.details.retryAfter).toBe(1);
    expect(limits.admit('b')).toHaveProperty('release');
    now = 500;
    expect(limits.admit('a')).toHaveProperty('release');
    expect(limits.admit('a')).toHaveProperty('refused');
  });

  it('caps requests in flight; a refused request takes no token, and a release is counted once', () => {
    const limits = new CallerLimits({ rps: 1, burst: 3, concurrent: 1 }, () => 0);
    const first = limits.admit('a');
    if (!('release' in first)) throw new Error('refused');
    const second = limits.admit('a');
    expect('refused' in second && second.refused.message).toMatch(/1 requests of this caller in flight/);
    first.release();
    first.release();
    const third = limits.admit('a');
    if (!('release' in third)) throw new Error('refused');
    expect(limits.admit('a')).toHaveProperty('refused');
    third.release();
    expect(limits.admit('a')).toHaveProperty('release');
    expect(limits.admit('a')).toHaveProperty('refused');
  });
});
