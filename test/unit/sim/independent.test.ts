import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../src/opa/binary.js';
import { applyKubePatch } from '../../../src/upstreams/kubernetes/patch.js';
import { decodeKubeProtobuf, encodeKubeProtobuf } from '../../../src/upstreams/kubernetes/protobuf.js';
import { simPatch } from '../../../sim/kubernetes/patch.js';
import { canEncode, decodeProtobuf, encodeProtobuf } from '../../../sim/kubernetes/protobuf.js';

const SMP = 'application/strategic-merge-patch+json';
const deployment = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web', team: 'a' }, finalizers: ['x'] },
  spec: { template: { spec: {
    containers: [
      { name: 'a', image: 'a:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }] },
      { name: 'b', image: 'b:1' },
    ],
    volumes: [{ name: 'v', emptyDir: {} }],
  } } },
};

/** Patches the gateway resolves locally and the simulator stores: both readings must agree. */
const PATCHES: Array<[string, string, unknown]> = [
  ['merge: a label set and one removed', 'application/merge-patch+json', { metadata: { labels: { team: null, tier: 'x' } } }],
  ['json: replace, add, remove', 'application/json-patch+json', [
    { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'a:2' },
    { op: 'add', path: '/metadata/labels/new', value: 'y' },
    { op: 'remove', path: '/spec/template/spec/volumes/0' },
  ]],
  ['json: replace of a missing member adds it, as the apiserver does', 'application/json-patch+json', [{ op: 'replace', path: '/metadata/annotations', value: { a: 'b' } }]],
  ['smp: containers merged by name, env by name, a new container appended', SMP, { spec: { template: { spec: { containers: [
    { name: 'b', image: 'b:2' }, { name: 'a', env: [{ name: 'B', value: '3' }] }, { name: 'c', image: 'c:1' },
  ] } } } }],
  ['smp: $patch delete of a container, $deleteFromPrimitiveList, finalizers merged', SMP, {
    metadata: { finalizers: ['y'], '$deleteFromPrimitiveList/finalizers': ['x'] },
    spec: { template: { spec: { containers: [{ name: 'a', $patch: 'delete' }] } } },
  }],
  ['smp: $setElementOrder reorders, $patch replace on a map', SMP, { spec: { template: { spec: {
    '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'a', image: 'a:3' }],
    volumes: [{ name: 'v', emptyDir: { $patch: 'replace', medium: 'Memory' } }],
  } } } }],
  ['smp: $retainKeys keeps only the listed keys (a volume changing its source)', SMP, { spec: { template: { spec: { volumes: [
    { name: 'v', $retainKeys: ['name', 'configMap'], configMap: { name: 'cm' } },
  ] } } } }],
];

describe('the simulator reads patches and protobuf on its own, and agrees with the gateway', () => {
  it.each(PATCHES)('%s', (_name, type, patch) => {
    const body = Buffer.from(JSON.stringify(patch));
    expect(simPatch(structuredClone(deployment), body, type)).toEqual(applyKubePatch(structuredClone(deployment), body, type));
  });

  it('protobuf written by the gateway\'s encoder is read by the simulator\'s decoder, and back', () => {
    const cm = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'default', uid: 'u-1', resourceVersion: '7', creationTimestamp: '2026-01-02T03:04:05Z', labels: { a: 'b' }, annotations: { n: 'é' } },
      data: { k: 'v', empty: '' }, binaryData: { b: Buffer.from([0, 1, 255]).toString('base64') }, immutable: true,
    };
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'Opaque', data: { p: Buffer.from('pw').toString('base64') } };
    for (const obj of [cm, secret]) {
      expect(decodeProtobuf(encodeKubeProtobuf(obj))).toEqual(obj);
      expect(canEncode(obj)).toBe(true);
      expect(decodeKubeProtobuf(encodeProtobuf(obj))).toEqual(obj);
    }
  });

  it('encodes only what it can write whole, so the server answers JSON otherwise', () => {
    expect(canEncode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', ownerReferences: [] } })).toBe(false);
    expect(canEncode({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} })).toBe(false);
  });

  it('imports nothing from the gateway (src/)', () => {
    const root = join(projectRoot(), 'sim');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(readFileSync(join(root, f), 'utf8'), f).not.toMatch(/from '(\.\.\/)+src\//);
  });
});
