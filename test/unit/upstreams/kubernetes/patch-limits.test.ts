/**
 * F12 (issue 8): a 221 KiB strategic merge patch blocked the event loop for 10 s (nested scans and a sort whose
 * comparator scanned the order list: O(n² log n)). The merge now works by maps keyed by merge key, counts its work,
 * and refuses with WG_PATCH_TOO_LARGE (413) past `PatchLimits`. No wall time is asserted: the tests assert the
 * results, that the attack completes within a step budget linear in its size, and the refusals.
 */
import { describe, expect, it } from 'vitest';
import {
  applyKubePatch,
  MAX_JSON_PATCH_COPY_BYTES,
  MAX_JSON_PATCH_OPERATIONS,
  PATCH_LIMITS,
} from '../../../../src/upstreams/kubernetes/patch.js';

const SMP = 'application/strategic-merge-patch+json';
const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

// ---------------------------------------------------------------------------------------------------------------
// The implementation this one replaced (src/upstreams/kubernetes/patch.ts at 2baa782), kept as the oracle that
// the new one must agree with on ordinary patches, with the one behaviour corrected since (an empty list, below).

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function mergeKeyFor(listName: string, elements: Json[]): string | undefined {
  switch (listName) {
    case 'containers': case 'initContainers': case 'ephemeralContainers': case 'volumes': case 'env':
    case 'imagePullSecrets': case 'secrets':
      return 'name';
    case 'ports':
      return elements.some((e) => isObject(e) && 'containerPort' in e) ? 'containerPort' : 'port';
    case 'volumeMounts': return 'mountPath';
    case 'volumeDevices': return 'devicePath';
    case 'hostAliases': return 'ip';
    case 'ownerReferences': return 'uid';
    case 'conditions': return 'type';
    case 'topologySpreadConstraints': return 'topologyKey';
    default: return undefined;
  }
}

class ReferenceError extends Error {}
const refInvalid = (m: string): never => { throw new ReferenceError(m); };

function refMerge(original: Json | undefined, patch: JsonObject): Json | undefined {
  const directive = patch.$patch;
  if (directive !== undefined && directive !== 'replace' && directive !== 'delete' && directive !== 'merge') refInvalid('directive');
  if (directive === 'delete') return undefined;
  const base: JsonObject = directive === 'replace' || !isObject(original) ? {} : { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const list = key.slice('$deleteFromPrimitiveList/'.length);
      if (!Array.isArray(value)) refInvalid('delete list');
      const current = base[list];
      if (Array.isArray(current)) base[list] = current.filter((v) => !(value as Json[]).some((d) => JSON.stringify(d) === JSON.stringify(v)));
      continue;
    }
    if (value === null) delete base[key];
    else if (Array.isArray(value)) base[key] = refMergeList(key, base[key], value);
    else if (isObject(value)) {
      const merged = refMerge(base[key], value);
      if (merged === undefined) delete base[key];
      else base[key] = merged;
    } else base[key] = value;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith('$setElementOrder/')) continue;
    const list = key.slice('$setElementOrder/'.length);
    if (!Array.isArray(order)) refInvalid('order');
    const current = base[list];
    if (Array.isArray(current)) base[list] = refReorder(list, current, order as Json[]);
  }
  if (patch.$retainKeys !== undefined) {
    const retain = patch.$retainKeys;
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) refInvalid('retain');
    for (const key of Object.keys(base)) if (!(retain as string[]).includes(key)) delete base[key];
  }
  return base;
}

function refMergeList(name: string, original: Json | undefined, patch: Json[]): Json[] {
  const current = Array.isArray(original) ? original : [];
  const marker = (e: Json) => isObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1;
  if (patch.some(marker)) return patch.filter((e) => !marker(e));
  // The one change made on purpose since: an empty patch list keeps a list the apiserver merges (mergeSlice).
  if (patch.length === 0 && (name === 'finalizers' || mergeKeyFor(name, current) !== undefined)) return current;
  if (patch.every((e) => !isObject(e))) {
    if (name !== 'finalizers') return patch;
    const out = [...current];
    for (const v of patch) if (!out.some((c) => JSON.stringify(c) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const key = mergeKeyFor(name, patch);
  if (key === undefined) return patch.map((e) => (isObject(e) ? (refMerge(undefined, e) as Json) : e));
  const out = current.map((e) => (isObject(e) ? { ...e } : e));
  for (const element of patch) {
    if (!isObject(element)) refInvalid('mixed');
    const el = element as JsonObject;
    if (!(key in el)) refInvalid('no key');
    const at = out.findIndex((e) => isObject(e) && JSON.stringify(e[key]) === JSON.stringify(el[key]));
    if (el.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    const merged = refMerge(at >= 0 ? out[at] : undefined, el);
    if (merged === undefined) continue;
    if (at >= 0) out[at] = merged;
    else out.push(merged);
  }
  return out;
}

function refReorder(name: string, list: Json[], order: Json[]): Json[] {
  if (order.every((e) => !isObject(e))) {
    const rank = (v: Json) => order.findIndex((o) => JSON.stringify(o) === JSON.stringify(v));
    return [...list.filter((v) => rank(v) >= 0).sort((a, b) => rank(a) - rank(b)), ...list.filter((v) => rank(v) < 0)];
  }
  const key = mergeKeyFor(name, order);
  if (key === undefined) return list;
  const rank = (v: Json) => (isObject(v) ? order.findIndex((o) => isObject(o) && JSON.stringify(o[key]) === JSON.stringify(v[key])) : -1);
  return [...list.filter((v) => rank(v) >= 0).sort((a, b) => rank(a) - rank(b)), ...list.filter((v) => rank(v) < 0)];
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded random documents and patches over the lists and directives the merge treats specially.

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed: number) {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const NAMES = ['a', 'b', 'c', 'd'];
  const FIELDS = ['image', 'value', 'x', 'y'];
  const KEYED = ['containers', 'env', 'volumes', 'ports'];
  const PRIMITIVE_LISTS = ['finalizers', 'args'];

  const element = (list: string, forPatch: boolean): Json => {
    const key = list === 'ports' ? pick(['containerPort', 'port']) : 'name';
    const e: JsonObject = { [key]: list === 'ports' ? pick([80, 443, 8080]) : pick(NAMES) };
    for (const f of FIELDS) if (chance(0.4)) e[f] = forPatch && chance(0.2) ? null : pick(['1', '2', 3, true]);
    if (list === 'containers' && chance(0.3)) e.env = list_('env', forPatch);
    if (forPatch && chance(0.1)) e.$patch = pick(['delete', 'replace', 'merge']);
    return e;
  };
  function list_(name: string, forPatch: boolean): Json[] {
    const n = int(5);
    const out: Json[] = [];
    for (let i = 0; i < n; i++) out.push(PRIMITIVE_LISTS.includes(name) ? pick(['p', 'q', 'r', 1]) : element(name, forPatch));
    if (forPatch && !PRIMITIVE_LISTS.includes(name) && chance(0.08)) out.splice(int(out.length + 1), 0, { $patch: 'replace' });
    return out;
  }
  function object(depth: number, forPatch: boolean): JsonObject {
    const o: JsonObject = {};
    for (const k of [...KEYED, ...PRIMITIVE_LISTS, 'labels', 'spec', 'name', 'replicas']) {
      if (!chance(0.35)) continue;
      if (KEYED.includes(k) || PRIMITIVE_LISTS.includes(k)) o[k] = list_(k, forPatch);
      else if ((k === 'labels' || k === 'spec') && depth > 0) o[k] = object(depth - 1, forPatch);
      else o[k] = forPatch && chance(0.2) ? null : pick(['v', 2, false]);
    }
    if (forPatch) {
      if (chance(0.1)) o.$patch = pick(['replace', 'delete', 'merge']);
      if (chance(0.25)) {
        const l = pick([...KEYED, ...PRIMITIVE_LISTS]);
        o[`$setElementOrder/${l}`] = PRIMITIVE_LISTS.includes(l)
          ? list_(l, false)
          : Array.from({ length: int(5) }, (): Json => (l === 'ports' ? { containerPort: pick([80, 443, 8080]) } : { name: pick(NAMES) }));
      }
      if (chance(0.15)) o['$deleteFromPrimitiveList/finalizers'] = list_('finalizers', false);
      if (chance(0.1)) o.$retainKeys = Array.from({ length: int(4) }, () => pick(['containers', 'labels', 'name', 'spec', 'env']));
    }
    return o;
  }
  return { current: () => object(3, false), patch: () => object(3, true) };
}

function outcome(run: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: run() };
  } catch {
    return { ok: false };
  }
}

describe('strategic merge patch: same results as the implementation it replaced', () => {
  it('agrees with the reference on 5000 random documents and patches, directives included', () => {
    const gen = generator(20261202);
    let applied = 0;
    for (let i = 0; i < 5000; i++) {
      const current = gen.current();
      const patch = gen.patch();
      const before = JSON.stringify(current);
      const expected = outcome(() => refMerge(structuredClone(current), patch));
      const actual = outcome(() => applyKubePatch(current, body(patch), SMP));
      expect(actual.ok, `case ${i}: ${JSON.stringify({ current, patch })}`).toBe(expected.ok);
      if (actual.ok && expected.ok) {
        expect(actual.value, `case ${i}: ${JSON.stringify({ current, patch })}`).toEqual(expected.value);
        applied++;
      }
      expect(JSON.stringify(current)).toBe(before);
    }
    // Most cases apply; the rest are refused by both (a merged list element without its merge key...).
    expect(applied).toBeGreaterThan(3000);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The attack and its relatives, at the size of the body limit.

const containers = (n: number, image: string) => Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image }));

/** The attack's shape: a Deployment with n containers, a patch touching all of them and ordering them in reverse. */
function orderAttack(n: number) {
  const current = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: containers(n, 'a:1') } } } };
  const patch = {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': containers(n, '').map(({ name }) => ({ name })).reverse(),
          containers: containers(n, 'b:2'),
        },
      },
    },
  };
  return { current, patch: body(patch) };
}

describe('strategic merge patch: bounded work', () => {
  it('applies the 3 MiB form of the attack with the default limits, with the right result', () => {
    const { current, patch } = orderAttack(60_000);
    expect(patch.length).toBeGreaterThan(2.5 * 1024 * 1024);
    expect(patch.length).toBeLessThanOrEqual(3 * 1024 * 1024);
    const out = applyKubePatch(current, patch, SMP) as typeof current;
    const list = out.spec.template.spec.containers;
    expect(list).toHaveLength(60_000);
    expect(list[0]).toEqual({ name: 'c59999', image: 'b:2' });
    expect(list[59_999]).toEqual({ name: 'c0', image: 'b:2' });
  });

  it('needs a number of steps linear in the size of the patch and the object', () => {
    // A budget of 12 steps per container suffices at every size: a quadratic merge would need n steps each.
    for (const n of [1_000, 8_000, 64_000]) {
      const { current, patch } = orderAttack(n);
      expect(() => applyKubePatch(current, patch, SMP, { maxSteps: 12 * n, maxDepth: 100 }), `n = ${n}`).not.toThrow();
    }
  });

  it('refuses with WG_PATCH_TOO_LARGE (413) a patch that asks for more than the step limit', () => {
    const { current, patch } = orderAttack(1_000);
    expect(() => applyKubePatch(current, patch, SMP, { maxSteps: 1_000, maxDepth: 100 }))
      .toThrow(expect.objectContaining({ code: 'WG_PATCH_TOO_LARGE', status: 413, message: 'the strategic merge patch needs more than 1000 steps to apply' }));
  });

  it('refuses the repeated-merge-key amplification (each element merges again into one big element) within the limit', () => {
    // Every element names container "c0", which carries 20 000 env entries: each one re-indexes the whole env list.
    const env = Array.from({ length: 20_000 }, (_, i) => ({ name: `E${i}`, value: 'v' }));
    const current = { spec: { containers: [{ name: 'c0', image: 'a:1', env }] } };
    const patch = body({ spec: { containers: Array.from({ length: 50_000 }, () => ({ name: 'c0', env: [{ name: 'E0', value: 'w' }] })) } });
    expect(() => applyKubePatch(current, patch, SMP)).toThrow(expect.objectContaining({ code: 'WG_PATCH_TOO_LARGE', status: 413 }));
  });

  it('applies large primitive-list merges and deletions in linear work', () => {
    const n = 100_000;
    const finalizers = Array.from({ length: n }, (_, i) => `f${i}`);
    const current = { metadata: { name: 'x', finalizers } };
    const added = applyKubePatch(current, body({ metadata: { finalizers: finalizers.map((f) => `${f}-new`) } }), SMP, { maxSteps: 6 * n, maxDepth: 100 }) as typeof current;
    expect(added.metadata.finalizers).toHaveLength(2 * n);
    const removed = applyKubePatch(current, body({ metadata: { '$deleteFromPrimitiveList/finalizers': finalizers.slice(0, n - 1) } }), SMP, { maxSteps: 6 * n, maxDepth: 100 }) as typeof current;
    expect(removed.metadata.finalizers).toEqual([`f${n - 1}`]);
    const retained = applyKubePatch({ data: Object.fromEntries(finalizers.map((f) => [f, 'v'])) }, body({ data: { $retainKeys: finalizers.slice(0, 2) } }), SMP, { maxSteps: 6 * n, maxDepth: 100 });
    expect(retained).toEqual({ data: { f0: 'v', f1: 'v' } });
  });

  it('refuses a patch nested deeper than the depth limit, for every patch type, without exhausting the stack', () => {
    const deep = `${'{"a":'.repeat(PATCH_LIMITS.maxDepth + 1)}1${'}'.repeat(PATCH_LIMITS.maxDepth + 1)}`;
    for (const type of [SMP, 'application/merge-patch+json']) {
      expect(() => applyKubePatch({ a: 1 }, Buffer.from(deep), type), type).toThrow(expect.objectContaining({ code: 'WG_PATCH_TOO_LARGE', status: 413 }));
    }
    // The YAML parser refuses flow collections this deep itself.
    expect(() => applyKubePatch({ a: 1 }, Buffer.from(deep), 'application/apply-patch+yaml')).toThrow(expect.objectContaining({ name: 'KubePatchError' }));
    const deepOp = `[{"op":"add","path":"/b","value":${deep}}]`;
    expect(() => applyKubePatch({ a: 1 }, Buffer.from(deepOp), 'application/json-patch+json')).toThrow(expect.objectContaining({ code: 'WG_PATCH_TOO_LARGE' }));
    const fits = `${'{"a":'.repeat(50)}1${'}'.repeat(50)}`;
    expect(applyKubePatch({ a: 1 }, Buffer.from(fits), SMP)).toEqual(JSON.parse(fits));
  });
});

describe('JSON patch: the apiserver limits', () => {
  it(`refuses more than ${MAX_JSON_PATCH_OPERATIONS} operations with 413, as the apiserver does`, () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/a', value: 1 }));
    expect(() => applyKubePatch({ a: 1 }, body(ops), 'application/json-patch+json')).toThrow(expect.objectContaining({
      code: 'WG_PATCH_TOO_LARGE', status: 413, message: `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${MAX_JSON_PATCH_OPERATIONS + 1}`,
    }));
    expect(applyKubePatch({ a: 1 }, body(ops.slice(1)), 'application/json-patch+json')).toEqual({ a: 1 });
  });

  it('refuses copies that would add more than the copy limit (each copy can double the document)', () => {
    const doubling = Array.from({ length: 40 }, () => ({ op: 'copy', from: '/a', path: '/a/-' }));
    expect(() => applyKubePatch({ a: ['x'.repeat(64)] }, body(doubling), 'application/json-patch+json'))
      .toThrow(expect.objectContaining({ code: 'WG_PATCH_TOO_LARGE', message: `the copy operations of this JSON patch would copy more than ${MAX_JSON_PATCH_COPY_BYTES} bytes` }));
    const out = applyKubePatch({ a: ['x'] }, body(doubling.slice(0, 3)), 'application/json-patch+json') as { a: unknown[] };
    expect(out.a).toHaveLength(4);
  });
});

describe('patch errors and prototypes', () => {
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'c3VwZXItc2VjcmV0LXBhc3N3b3Jk' } };

  it('never quotes the object or the patch in an error message (the message reaches the client and the log)', () => {
    const failing = [
      () => applyKubePatch(secret, body([{ op: 'test', path: '/data/password', value: 'aHVudGVyMg==' }]), 'application/json-patch+json'),
      () => applyKubePatch(secret, body([{ op: 'remove', path: '/data/aHVudGVyMg==' }]), 'application/json-patch+json'),
      () => applyKubePatch(secret, body([{ op: 'frobnicate', path: '/data', value: 'aHVudGVyMg==' }]), 'application/json-patch+json'),
      () => applyKubePatch(secret, body('{"data": {"password": "aHVudGVyMg=="'), SMP),
      () => applyKubePatch(secret, body({ data: { $patch: 'aHVudGVyMg==' } }), SMP),
      () => applyKubePatch(secret, body('data:\n  password: "aHVudGVyMg==\n'), 'application/apply-patch+yaml'),
    ];
    for (const run of failing) {
      let message = '';
      try {
        run();
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('aHVudGVyMg');
      expect(message).not.toContain('c3VwZXItc2VjcmV0');
    }
  });

  it('keeps a "__proto__" key of a strategic merge patch an own member, never the prototype of the result', () => {
    const out = applyKubePatch({ metadata: { name: 'web' } }, body('{"metadata": {"__proto__": {"labels": {"owner": "x"}}}}'), SMP) as { metadata: Record<string, unknown> };
    expect(Object.getPrototypeOf(out.metadata)).toBe(Object.prototype);
    expect(out.metadata.labels).toBeUndefined();
    expect(Object.hasOwn(out.metadata, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse('{"metadata": {"name": "web", "__proto__": {"labels": {"owner": "x"}}}}'));
  });
});
