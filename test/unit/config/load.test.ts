import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { ofKind } from '../../../src/config/schema.js';
import { KINDS } from '../../../src/upstreams/registry.js';

const valid = {
  upstreams: [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' }],
};

describe('parseConfig', () => {
  it('fills defaults and freezes the result', () => {
    const cfg = parseConfig(valid, '/etc/writegate');
    expect(cfg.upstreams[0]!.mode).toBe('enforce');
    expect(cfg.upstreams[0]!.failOpen).toBe(false);
    expect(ofKind(cfg.upstreams[0]!, 'kubernetes').kubernetes).toEqual({ resolve: 'dryrun', dryRunWrites: true });
    expect(cfg.upstreams[0]!.identity).toBe('selfsubjectreview');
    expect(cfg.opa.timeoutMs).toBe(2000);
    expect(cfg.decisionLog.path).toBe('/etc/writegate/decisions.log');
    expect(Object.isFrozen(cfg.upstreams[0])).toBe(true);
  });

  it('reports every problem with its key, value and reason', () => {
    let issues: Array<{ key: string; value: unknown; why: string }> = [];
    try {
      parseConfig({
        listen: { port: 99999 },
        opa: { timeoutMs: -1 },
        upstreams: [
          { name: 'Bad Name', kind: 'mainframe', prefix: 'k8s/', target: 'ftp://x', policy: 'a..b', mode: 'yolo' },
          { ...valid.upstreams[0], unknownKey: true },
          { ...valid.upstreams[0], prefix: '/k8s/sub' },
        ],
      });
    } catch (err) {
      expect((err as { code: string }).code).toBe('WG_ERR_CONFIG_INVALID');
      issues = (err as { details: { issues: typeof issues } }).details.issues;
    }
    const keys = issues.map((i) => i.key);
    for (const key of ['listen.port', 'opa.timeoutMs', 'upstreams.0.name', 'upstreams.0.kind', 'upstreams.0.prefix', 'upstreams.0.target', 'upstreams.0.policy', 'upstreams.0.mode', 'upstreams.1']) {
      expect(keys).toContain(key);
    }
    expect(issues.find((i) => i.key === 'listen.port')?.value).toBe(99999);
    expect(issues.find((i) => i.key === 'upstreams.0.mode')?.value).toBe('yolo');
  });

  it('reads an upstream as a union on kind: the options block is its own kind\'s, defaulted when left out', () => {
    const other = KINDS.find((k) => k.name !== 'kubernetes')!.name;
    const issues = (raw: unknown): string[] => {
      try {
        parseConfig(raw);
        return [];
      } catch (err) {
        return (err as { details: { issues: Array<{ key: string; why: string }> } }).details.issues.map((i) => `${i.key}: ${i.why}`);
      }
    };
    expect(issues({ upstreams: [{ ...valid.upstreams[0], kind: other, kubernetes: { resolve: 'local' } }] }))
      .toContain(`upstreams.0.kubernetes: options of kind kubernetes on an upstream of kind ${other}`);
    expect(issues({ upstreams: [{ ...valid.upstreams[0], kubernetes: { resolve: 'sideways' } }] })).toEqual([expect.stringMatching(/^upstreams\.0\.kubernetes\.resolve: /)]);
    const cfg = parseConfig({ upstreams: [{ ...valid.upstreams[0], name: 'other', prefix: '/other', kind: other }] });
    expect(Object.keys(cfg.upstreams[0]!)).toContain(other);
    expect(Object.keys(cfg.upstreams[0]!)).not.toContain('kubernetes');
  });

  it('refuses duplicate names and overlapping prefixes', () => {
    expect(() => parseConfig({ upstreams: [valid.upstreams[0], { ...valid.upstreams[0], prefix: '/k8s/a' }] })).toThrow(/duplicate upstream name.*overlaps|overlaps.*duplicate/s);
  });
});
