import { describe, expect, it } from 'vitest';
import { CallerLimits, callerKey } from '../../../src/auth/limits.js';
import type { GateRequest } from '../../../src/upstreams/types.js';

const req = (over: Partial<GateRequest>): GateRequest => ({ method: 'GET', url: '/', headers: {}, upgrade: false, remoteAddress: '2001:db8:1:2:3:4:5:6', ...over });

describe('callerKey', () => {
  const jane = { username: 'jane', uid: '', groups: [], extra: {}, authenticatedBy: 'token' as const };

  it('is the verified user, else the address (IPv6: its /64)', () => {
    expect(callerKey(req({ caller: jane, headers: { authorization: 'Bearer x' } }))).toBe('user:jane');
    expect(callerKey(req({ headers: { 'user-agent': 'x' } }))).toBe('address:2001:db8:1:2::/64');
    // Every anonymous caller is system:anonymous: they are told apart by address.
    expect(callerKey(req({ caller: { ...jane, username: 'system:anonymous', authenticatedBy: 'anonymous' } }))).toBe('address:2001:db8:1:2::/64');
  });

  it('never keys by a credential the gateway did not verify: made-up values mint no buckets that evict real callers\'', () => {
    // A SigV4 Authorization differs on every request, and a client may send any token it likes.
    const keys = new Set(['AWS4-HMAC-SHA256 Credential=A/x, Signature=1', 'AWS4-HMAC-SHA256 Credential=A/x, Signature=2', 'Bearer made-up']
      .map((authorization) => callerKey(req({ headers: { authorization, cookie: authorization } }))));
    expect([...keys]).toEqual(['address:2001:db8:1:2::/64']);
    const limits = new CallerLimits({ rps: 0.001, burst: 2, concurrent: 100 }, () => 0);
    expect(limits.admit(callerKey(req({ caller: jane })))).toHaveProperty('release');
    for (let i = 0; i < 5; i++) limits.admit(callerKey(req({ headers: { authorization: `Bearer made-up-${i}` } })));
    // The made-up tokens shared one bucket, spent after two; jane's still holds the one token she left.
    expect(limits.admit(callerKey(req({ headers: { authorization: 'Bearer made-up-6' } })))).toHaveProperty('refused');
    expect(limits.admit(callerKey(req({ caller: jane })))).toHaveProperty('release');
    expect(limits.admit(callerKey(req({ caller: jane })))).toHaveProperty('refused');
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

  it('check takes nothing; charge spends a token after the fact, refilled at rps like any other', () => {
    let now = 0;
    const limits = new CallerLimits({ rps: 1, burst: 2, concurrent: 1 }, () => now);
    expect(limits.check('address:a')).toBeUndefined();
    expect(limits.check('address:a')).toBeUndefined();
    limits.charge('address:a');
    limits.charge('address:a');
    const refused = limits.check('address:a');
    expect(refused?.code).toBe('WG_ERR_RATE_LIMITED');
    expect(refused?.details.retryAfter).toBe(1);
    expect(limits.admit('address:a')).toHaveProperty('refused');
    // Charged requests are not in flight: once refilled, the address may have one in flight again.
    now = 1000;
    expect(limits.check('address:a')).toBeUndefined();
    expect(limits.admit('address:a')).toHaveProperty('release');
  });
});
