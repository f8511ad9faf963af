/**
 * Regression (issue 7, classes 7 and 8): a body whose value the two policy engines would read differently —
 * `1e400` or YAML `.inf` (Infinity in the gateway, null in OPA), an unpaired surrogate escape (the lone unit in
 * the gateway, U+FFFD in OPA) — is refused with 400 WG_ERR_MALFORMED_BODY before either engine sees it: one
 * bounded decision record without the body, nothing forwarded, and no OPA decision. (YAML `.inf`/`.nan` are
 * already refused by the body decoder; they are here so that stays true.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

const MARKER = 'c2VjcmV0LW1hcmtlcg';
const configMap = (name: string, extra: string): string =>
  `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}","namespace":"default"},${extra}}`;

describe('values both engines would read differently are refused at the gate (resolve: local)', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ resolve: 'local', engine: 'residual' }); });
  afterAll(async () => { await s?.close(); });

  const refused: Array<[string, string, string, string]> = [
    ['JSON 1e400', '/api/v1/namespaces/default/configmaps', 'application/json', configMap('inf', `"data":{"k":"${MARKER}"},"binaryData":{},"immutable":false,"x":1e400`)],
    ['JSON -1e400 in an array', '/api/v1/namespaces/default/configmaps', 'application/json', configMap('ninf', `"data":{"k":"${MARKER}"},"x":[1,-1e400]`)],
    ['an unpaired high surrogate in a value', '/api/v1/namespaces/default/configmaps', 'application/json', configMap('high', `"data":{"k":"${MARKER}\\ud800"}`)],
    ['an unpaired low surrogate in a key', '/api/v1/namespaces/default/configmaps', 'application/json', configMap('low', `"data":{"${MARKER}\\udc00":"v"}`)],
    ['a Secret with an unpaired surrogate', '/api/v1/namespaces/default/secrets', 'application/json', `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},"stringData":{"password":"${MARKER}\\udfff"}}`],
    ['YAML .inf', '/api/v1/namespaces/default/configmaps', 'application/yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml-inf\n  namespace: default\ndata:\n  k: ${MARKER}\nx: .inf\n`],
    ['YAML .nan', '/api/v1/namespaces/default/configmaps', 'application/yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml-nan\n  namespace: default\ndata:\n  k: ${MARKER}\nx: .nan\n`],
    ['an integer beyond 2^53', '/api/v1/namespaces/default/configmaps', 'application/json', configMap('big', `"data":{"k":"${MARKER}"},"x":9007199254740993`)],
  ];

  it.each(refused)('%s: 400 WG_ERR_MALFORMED_BODY, one bounded record, nothing forwarded, OPA never asked', async (_name, path, type, body) => {
    s.sim.clearRequests();
    const res = await s.call('POST', path, { body, headers: { 'content-type': type } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ kind: 'Status', code: 400 });
    expect(res.json.message).toContain('request body could not be decoded');
    expect(res.text).not.toContain(MARKER);
    expect(s.sim.requests.filter((r) => r.url.startsWith(path))).toHaveLength(0);
    const id = res.headers['x-decision-id'] as string;
    const records = s.decisions().filter((e) => e.decision_id === id);
    expect(records).toHaveLength(1);
    const record = records[0]!;
    expect(record).toMatchObject({ outcome: 'error', engine: 'none', error: { code: 'WG_ERR_MALFORMED_BODY' } });
    expect(record.input).toBeUndefined();
    // JSON bodies reach the input check (src/decision/input-value.ts); YAML ones stop at the decoder.
    expect(record.error?.message).toContain(type === 'application/json' ? 'the policy input holds' : 'have no JSON form');
    const line = JSON.stringify(record);
    expect(line).not.toContain(MARKER);
    expect(line.length).toBeLessThan(2048);
    expect(s.opaDecisionIds.has(id)).toBe(false);
  });

  it('a body with the same shape and plain values goes through; -0 and __proto__ keys are ordinary values', async () => {
    s.sim.clearRequests();
    const body = configMap('plain', `"data":{"k":"${MARKER}","__proto__":"kept","😀":"é"},"x":-0`);
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body });
    expect(res.status).toBe(201);
    const posts = s.sim.requests.filter((r) => r.url.startsWith('/api/v1/namespaces/default/configmaps'));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body.toString('utf8')).toBe(body);
    const record = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id']);
    expect(record?.outcome).toBe('allowed');
    const object = (record?.input as { request: { object: { data: Record<string, string>; x: number } } }).request.object;
    expect(Object.keys(object.data)).toEqual(['k', '__proto__', '😀']);
    expect(object.x).toBe(0);
  });
});
