import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';

const upstreams = [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' }];

function keys(raw: Record<string, unknown>): string[] {
  try {
    parseConfig({ ...raw, upstreams });
  } catch (err) {
    return (err as { details: { issues: Array<{ key: string }> } }).details.issues.map((i) => i.key);
  }
  return [];
}

describe('limits and decisionLog keys', () => {
  it('default to bounded values: timeouts of at most 60 s, a body budget, rotation', () => {
    const cfg = parseConfig({ upstreams });
    expect(cfg.limits).toEqual({
      bodyBytes: 3 * 1024 * 1024, headersTimeoutMs: 30_000, bodyTimeoutMs: 60_000, maxConnections: 4096,
      inflightBodyBytes: 64 * 1024 * 1024, inflightBodyBytesPerClient: 16 * 1024 * 1024, streamsPerClient: 256,
    });
    expect(cfg.decisionLog).toMatchObject({ maxBytes: 100 * 1024 * 1024, keep: 5, refusedInputBytes: 4096, refusedPerSecond: 5, refusedBurst: 20 });
  });

  it('keeps the defaults of the keys a partial block leaves out', () => {
    const cfg = parseConfig({ upstreams, limits: { bodyTimeoutMs: 10_000, headersTimeoutMs: 5_000 }, decisionLog: { keep: 2 } });
    expect(cfg.limits).toMatchObject({ bodyBytes: 3 * 1024 * 1024, bodyTimeoutMs: 10_000, headersTimeoutMs: 5_000, streamsPerClient: 256 });
    expect(cfg.decisionLog).toMatchObject({ keep: 2, maxBytes: 100 * 1024 * 1024 });
  });

  it.each([
    [{ limits: { headersTimeoutMs: 30_000, bodyTimeoutMs: 10_000 } }, 'limits.headersTimeoutMs'],
    [{ limits: { bodyBytes: 10, inflightBodyBytes: 5, inflightBodyBytesPerClient: 10 } }, 'limits.inflightBodyBytes'],
    [{ limits: { bodyBytes: 1024, inflightBodyBytesPerClient: 512 } }, 'limits.inflightBodyBytesPerClient'],
    [{ decisionLog: { keep: 0 } }, 'decisionLog.keep'],
    [{ decisionLog: { maxBytes: 0 } }, 'decisionLog.maxBytes'],
    [{ limits: { streamsPerClient: 0 } }, 'limits.streamsPerClient'],
  ])('refuses %j (%s)', (raw, key) => {
    expect(keys(raw)).toContain(key);
  });
});
