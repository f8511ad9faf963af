import { describe, expect, it } from 'vitest';
import { decodeKubeYaml, resolvePlainScalar } from '../../../../src/upstreams/kubernetes/yaml.js';

/** What resolvePlainScalar gives, with go-yaml integers as plain numbers. */
function resolved(text: string): unknown {
  const v = resolvePlainScalar(text);
  return typeof v === 'object' && v !== null ? Number((v as { value: bigint }).value) : v;
}

describe('YAML bodies decoded as kube-apiserver decodes them (go-yaml v2, YAML 1.1)', () => {
  it('resolves YAML 1.1 booleans in exactly the spellings go-yaml v2 accepts (F3: privileged: yes)', () => {
    for (const t of ['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE']) expect(resolved(t), t).toBe(true);
    for (const f of ['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE']) expect(resolved(f), f).toBe(false);
    for (const s of ['yEs', 'oN', 'tRUE', 't', 'f', 'nO']) expect(resolved(s), s).toBe(s);
    expect(decodeKubeYaml('spec:\n  containers:\n  - securityContext: {privileged: yes}\n')).toEqual({ spec: { containers: [{ securityContext: { privileged: true } }] } });
  });

  it('resolves nulls, integers in every base go-yaml reads, floats and timestamps as the apiserver stored them', () => {
    expect(['', '~', 'null', 'Null', 'NULL'].map(resolved)).toEqual([null, null, null, null, null]);
    // Values the real kube-apiserver v1.33 stored for terminationGracePeriodSeconds: 0777 -> 511, 08 -> 8, ...
    expect(['0777', '0x1F', '0X1f', '0b11', '0o17', '+12', '1_000', '08', '1e3', '-0b11', '0b-101'].map(resolved))
      .toEqual([511, 31, 31, 3, 15, 12, 1000, 8, 1000, -3, -5]);
    expect(['.5', '-.5', '+.5e2', '1.5', '1.'].map(resolved)).toEqual([0.5, -0.5, 50, 1.5, 1]);
    // Out of float64 range: strconv.ParseFloat fails, go-yaml keeps the text.
    expect(resolved('1e400')).toBe('1e400');
    // Timestamps decode into interface{} as their own text.
    expect(resolved('2001-12-14')).toBe('2001-12-14');
    expect(['-', '.', '0x', '1.2.3', 'abc'].map(resolved)).toEqual(['-', '.', '0x', '1.2.3', 'abc']);
  });

  it('keeps quoted and block scalars strings, and writes resolved keys the way YAMLToJSON does', () => {
    expect(decodeKubeYaml('a: "yes"\nb: \'0777\'\nc: |\n  on\n')).toEqual({ a: 'yes', b: '0777', c: 'on\n' });
    // ConfigMap data keys as the apiserver stored them: {"1": ..., "31": ..., "true": ...}
    expect(decodeKubeYaml('data:\n  1: one\n  0x1F: h\n  yes: yy\n  "on": quoted\n')).toEqual({ data: { 1: 'one', 31: 'h', true: 'yy', on: 'quoted' } });
  });

  it('follows aliases as go-yaml does', () => {
    expect(decodeKubeYaml('a: &x {k: on}\nb: *x\n')).toEqual({ a: { k: true }, b: { k: true } });
  });

  it('refuses what the gateway would not read exactly as the apiserver: merge keys, tags, repeated resolved keys, non-finite numbers, big integers', () => {
    const refused = (text: string): string => {
      try {
        decodeKubeYaml(text);
      } catch (err) {
        expect((err as { code: string }).code).toBe('WG_ERR_MALFORMED_BODY');
        return (err as Error).message;
      }
      throw new Error(`accepted: ${text}`);
    };
    expect(refused('spec:\n  <<: {hostPath: /}\n')).toMatch(/merge keys/);
    expect(refused('a: !!str 1\n')).toMatch(/tags/);
    expect(refused('y: 1\nyes: 2\n')).toMatch(/repeats/);
    expect(refused('a: 1\na: 2\n')).toMatch(/repeats/);
    expect(refused('a: .inf\n')).toMatch(/\.inf/);
    expect(refused('a: .NaN\n')).toMatch(/\.nan/);
    expect(refused('a: 9007199254740993\n')).toMatch(/2\^53/);
    expect(refused('1.5: a\n')).toMatch(/keys/);
    expect(refused('~: a\n')).toMatch(/keys/);
    expect(refused('[a]: b\n')).toMatch(/keys/);
    expect(refused('18446744073709551615: a\n')).toMatch(/keys/);
    expect(refused('a: 1\n---\nb: 2\n')).toMatch(/one YAML document/);
    expect(refused('%YAML 1.1\n---\na: 1\n')).toMatch(/directives/);
    expect(refused('a: b\u2028c: d\n')).toMatch(/YAML 1\.1/);
  });

  it('F14: a syntax error gives a position, never the text of the body', () => {
    try {
      decodeKubeYaml('apiVersion: v1\nkind: Secret\nstringData:\n  password: hunter2 : x\n');
      throw new Error('accepted');
    } catch (err) {
      expect((err as Error).message).toMatch(/line 4, column \d+/);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});
