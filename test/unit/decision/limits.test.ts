import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefusedRecordLimiter, boundRefused, clientKey, type SuppressedEvent } from '../../../src/decision/limits.js';
import { DecisionLog, type DecisionEvent } from '../../../src/decision/log.js';

function refused(addr: string, over: Partial<DecisionEvent> = {}): DecisionEvent {
  return {
    type: 'writegate/decision', decision_id: 'd', timestamp: new Date(0).toISOString(), path: 'p', input: undefined,
    labels: {}, upstream: 'k8s', method: 'GET', url: '/nope', operation: undefined, summary: '',
    caller: { username: '', remote_addr: addr }, mode: 'enforce', outcome: 'error', engine: 'none',
    reasons: [], warnings: [], error: { code: 'WG_ERR_NOT_FOUND', message: 'no upstream' }, upstream_status: null, latency_ms: 0,
    ...over,
  };
}

describe('boundRefused', () => {
  it('regression F13: a denied 2 MiB input keeps its structure and small fields; the bulk becomes {truncated, bytes, sha256}', () => {
    const big = { big: 'x'.repeat(2 * 1024 * 1024) };
    const input = { request: { operation: 'CREATE', name: 'web', userInfo: { username: 'alice' }, object: { data: big } } };
    const e = boundRefused(refused('10.0.0.1', { input, outcome: 'denied', reasons: ['no owner label'], error: undefined }), 4096);
    const bigJson = JSON.stringify(big.big);
    expect(e.input).toEqual({ request: { operation: 'CREATE', name: 'web', userInfo: { username: 'alice' }, object: { data: {
      big: { truncated: true, bytes: bigJson.length, sha256: createHash('sha256').update(bigJson).digest('hex') },
    } } } });
    expect(e).toMatchObject({ decision_id: 'd', outcome: 'denied', reasons: ['no owner label'], caller: { remote_addr: '10.0.0.1' } });
    expect(JSON.stringify(e).length).toBeLessThan(2048);
  });

  it('an input with many large members stays within the budget, summarising what does not fit', () => {
    const input = { request: { operation: 'CREATE', object: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'.repeat(1000)])) } };
    const e = boundRefused(refused('10.0.0.1', { input, outcome: 'denied' }), 4096);
    expect(Buffer.byteLength(JSON.stringify(e.input))).toBeLessThanOrEqual(4096);
    expect((e.input as { request: { operation: string } }).request.operation).toBe('CREATE');
  });

  it('a value that cannot keep its structure within the budget becomes one summary', () => {
    const input = Array.from({ length: 100 }, (_, i) => `item-${i}-${'z'.repeat(100)}`);
    const json = JSON.stringify(input);
    const e = boundRefused(refused('10.0.0.1', { input }), 256);
    expect(e.input).toEqual({ truncated: true, bytes: json.length, sha256: createHash('sha256').update(json).digest('hex') });
  });

  it('keeps a small input as it is', () => {
    const input = { request: { name: 'a' } };
    expect(boundRefused(refused('10.0.0.1', { input }), 4096).input).toBe(input);
  });

  it('cuts the strings a client controls: url, error message, reasons, username', () => {
    const e = boundRefused(refused('10.0.0.1', {
      url: `/${'a'.repeat(100_000)}`,
      error: { code: 'WG_ERR_BAD_PATH', message: 'm'.repeat(100_000) },
      reasons: Array.from({ length: 1000 }, () => 'r'.repeat(10_000)),
      warnings: ['short'],
      caller: { username: 'u'.repeat(100_000), remote_addr: '10.0.0.1' },
      result: { deny: Array.from({ length: 1000 }, () => 'r'.repeat(10_000)) },
    }), 4096);
    expect(e.reasons).toHaveLength(9);
    expect(e.reasons.at(-1)).toBe('…[992 more]');
    expect(e.warnings).toEqual(['short']);
    expect(e.error?.code).toBe('WG_ERR_BAD_PATH');
    expect((e.result as { deny: { truncated: boolean } }).deny.truncated).toBe(true);
    expect(e.url).toMatch(/…\[100001 chars\]$/);
    expect(JSON.stringify(e).length).toBeLessThan(16 * 1024);
  });
});

describe('clientKey', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s -> %s', (addr, key) => {
    expect(clientKey(addr)).toBe(key);
  });
});

describe('RefusedRecordLimiter', () => {
  it('admits a burst per client, then perSecond, and counts the rest by client, outcome and code', () => {
    let now = 0;
    const limiter = new RefusedRecordLimiter({ inputBytes: 4096, perSecond: 2, burst: 3 }, () => now);
    const admitted = Array.from({ length: 10 }, () => limiter.admit(refused('10.0.0.1')));
    expect(admitted.filter(Boolean)).toHaveLength(3);
    // Another client has its own bucket; the same /64 shares one.
    expect(limiter.admit(refused('10.0.0.2'))).toBe(true);
    expect(limiter.admit(refused('2001:db8::1'))).toBe(true);
    expect(limiter.admit(refused('2001:db8::2'))).toBe(true);
    expect(limiter.admit(refused('2001:db8::3'))).toBe(true);
    expect(limiter.admit(refused('2001:db8::4', { outcome: 'denied', error: undefined }))).toBe(false);
    now += 1000;
    expect([limiter.admit(refused('10.0.0.1')), limiter.admit(refused('10.0.0.1')), limiter.admit(refused('10.0.0.1'))]).toEqual([true, true, false]);
    const summary = limiter.takeSummary({ app: 'writegate' })!;
    expect(summary).toMatchObject({ type: 'writegate/suppressed', suppressed: 9, since: new Date(0).toISOString() });
    expect(summary.clients).toEqual([
      { client: '10.0.0.1', records: 8, outcomes: { error: 8 }, codes: { WG_ERR_NOT_FOUND: 8 } },
      { client: '2001:db8:0:0::/64', records: 1, outcomes: { denied: 1 }, codes: {} },
    ]);
    expect(limiter.takeSummary({})).toBeUndefined();
  });
});

describe('DecisionLog.appendRefused', () => {
  it('regression F13: a flood of refused records writes a bounded number of bytes and one summary with every count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-limits-'));
    const path = join(dir, 'decisions.log');
    const log = new DecisionLog(path, 'test', { refused: { inputBytes: 4096, perSecond: 1, burst: 5 } });
    const big = { blob: 'x'.repeat(1024 * 1024) };
    for (let i = 0; i < 1000; i++) log.appendRefused(refused(`10.0.0.${i % 4}`, { input: big, url: `/${'p'.repeat(50_000)}` }));
    log.close();
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionEvent | SuppressedEvent);
    expect(lines.filter((l) => l.type === 'writegate/decision')).toHaveLength(20);
    const summary = lines.find((l): l is SuppressedEvent => l.type === 'writegate/suppressed')!;
    expect(summary.suppressed).toBe(980);
    expect(summary.clients.map((c) => c.records)).toEqual([245, 245, 245, 245]);
    expect(statSync(path).size).toBeLessThan(20 * 4096);
    expect(log.counters.suppressed).toBe(980);
  });
});
