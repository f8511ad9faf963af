import { describe, expect, it } from 'vitest';
import {
  canEncodeKubeProtobuf,
  decodeKubeProtobuf,
  encodeKubeProtobuf,
  fullyDecodedKinds,
  inspectKubeProtobuf,
  isKubeProtobuf,
} from '../../../../src/upstreams/kubernetes/protobuf.js';

// Bodies captured from kubectl v1.32.5 against the simulator (sim.requests).
// `kubectl create configmap x --from-literal=a=b`
const KUBECTL_CONFIGMAP = 'azhzAAoPCgJ2MRIJQ29uZmlnTWFwEhsKEQoBeBIAGgAiACoAMgA4AEIAEgYKAWESAWIaACIA';
// `kubectl create secret generic s1 --from-literal=p=q`
const KUBECTL_SECRET = 'azhzAAoMCgJ2MRIGU2VjcmV0Eh4KEgoCczESABoAIgAqADIAOABCABIGCgFwEgFxGgAaACIA';
// `kubectl create deployment d1 --image=nginx`
const KUBECTL_DEPLOYMENT =
  'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EqcBCh0KAmQxEgAaACIAKgAyADgAQgBaCQoDYXBwEgJkMRJ4CAESCwoJCgNhcHASAmQxGl8KGwoAEgAaACIAKgAyADgAQgBaCQoDYXBwEgJkMRJAEiIKBW5naW54EgVuZ2lueCoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA';

describe('decodeKubeProtobuf on real kubectl 1.32 bodies', () => {
  it('decodes a ConfigMap completely', () => {
    const r = inspectKubeProtobuf(Buffer.from(KUBECTL_CONFIGMAP, 'base64'));
    expect(r.object).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } });
    expect(r.complete).toBe(true);
  });

  it('decodes a Secret with data as base64', () => {
    const r = inspectKubeProtobuf(Buffer.from(KUBECTL_SECRET, 'base64'));
    expect(r.object).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, data: { p: Buffer.from('q').toString('base64') } });
    expect(r.complete).toBe(true);
  });

  it('decodes replicas, selector and containers of a Deployment and reports what it skipped', () => {
    const r = inspectKubeProtobuf(Buffer.from(KUBECTL_DEPLOYMENT, 'base64'));
    expect(r.object).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd1', labels: { app: 'd1' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'd1' } },
        template: { metadata: { labels: { app: 'd1' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
      },
    });
    // spec.strategy (field 4) is not decoded.
    expect(r.complete).toBe(false);
    expect(r.skipped).toContain('spec#4');
  });
});

describe('encodeKubeProtobuf / decodeKubeProtobuf round trip', () => {
  it('round-trips every field of a ConfigMap, including metadata and binaryData', () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'cfg',
        generateName: 'cfg-',
        namespace: 'prod',
        uid: '3f1e',
        resourceVersion: '42',
        creationTimestamp: '2024-05-06T07:08:09Z',
        labels: { app: 'web', tier: '' },
        annotations: { note: 'ünïcode' },
        finalizers: ['a/b', 'c/d'],
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }],
      },
      data: { 'app.conf': 'x=1\n' },
      binaryData: { blob: Buffer.from([0, 255, 7]).toString('base64') },
      immutable: true,
    };
    const buf = encodeKubeProtobuf(cm);
    expect(isKubeProtobuf(buf)).toBe(true);
    const r = inspectKubeProtobuf(buf);
    expect(r.object).toEqual(cm);
    expect(r.complete).toBe(true);
  });

  it('round-trips a Secret and a Namespace', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'd' }, type: 'kubernetes.io/tls', data: { 'tls.key': 'AAEC' }, stringData: { x: 'y' }, immutable: false };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(secret))).toEqual(secret);
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(ns))).toEqual(ns);
  });

  it('keeps an explicit replicas: 0 (a pointer field) but drops zero generation', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w', generation: 0 }, spec: { replicas: 0 } };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(d))).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w' }, spec: { replicas: 0 } });
  });

  it('decodes apiVersion, kind and metadata of kinds it has no schema for', () => {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'n', labels: { a: 'b' } }, rules: [{ verbs: ['get'] }] };
    const r = inspectKubeProtobuf(encodeKubeProtobuf(role));
    expect(r.object).toEqual({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'n', labels: { a: 'b' } } });
    expect(canEncodeKubeProtobuf('rbac.authorization.k8s.io/v1', 'Role')).toBe(false);
  });

  it('reports unknown fields of a fully decoded kind as skipped', () => {
    // Append field 9 (an unknown string) to the raw ConfigMap and rebuild the envelope by hand.
    const raw = Buffer.concat([Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x78]), Buffer.from([0x4a, 0x02, 0x68, 0x69])]);
    const typeMeta = Buffer.from([0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, ...Buffer.from('ConfigMap')]);
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, typeMeta.length]), typeMeta, Buffer.from([0x12, raw.length]), raw]);
    const r = inspectKubeProtobuf(body);
    expect(r.object.metadata).toEqual({ name: 'x' });
    expect(r.complete).toBe(false);
    expect(r.skipped).toEqual(['#9']);
  });

  it('lists the fully decoded kinds', () => {
    expect([...fullyDecodedKinds].sort()).toEqual(['v1/ConfigMap', 'v1/Namespace', 'v1/Secret']);
  });
});

describe('malformed input', () => {
  it('rejects a body without the magic prefix', () => {
    expect(() => decodeKubeProtobuf(Buffer.from('{"kind":"ConfigMap"}'))).toThrow(expect.objectContaining({ code: 'WG_PROTOBUF_INVALID' }));
  });

  it('rejects a truncated body', () => {
    const buf = Buffer.from(KUBECTL_CONFIGMAP, 'base64');
    expect(() => decodeKubeProtobuf(buf.subarray(0, buf.length - 12))).toThrow(expect.objectContaining({ code: 'WG_PROTOBUF_INVALID' }));
  });
});
