/**
 * The simulator's own PATCH handling, written apart from the gateway's (src/upstreams/kubernetes/patch.ts) so that
 * a test through the gateway compares two readings of the patch types, not one with itself. Libraries where there
 * are good ones: RFC 6902 by fast-json-patch, RFC 7386 by json-merge-patch; strategic merge by hand, from the
 * description in kubernetes/community contributors/devel/sig-api-machinery/strategic-merge-patch.md.
 *
 * Simplifications (a real apiserver reads merge keys from Go struct tags, and tracks field managers for apply):
 * merge keys come from the list's field name (MERGE_KEYS); server-side apply is "create when absent, else a
 * strategic merge of the applied configuration".
 */
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import jsonMergePatch from 'json-merge-patch';
import { parse as parseYaml } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Why a patch failed, as the apiserver answers it: 400 malformed, 415 unknown type, 422 not applicable. */
export class SimPatchError extends Error {
  constructor(readonly status: 400 | 415 | 422, message: string) {
    super(message);
  }
}

/** Merge keys of the lists of the built-in types, by field name (k8s.io/api `patchMergeKey` tags). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name', volumes: 'name',
  volumeMounts: 'mountPath', volumeDevices: 'devicePath', imagePullSecrets: 'name', hostAliases: 'ip',
  conditions: 'type', ownerReferences: 'uid', resourceClaims: 'name', schedulingGates: 'name',
};

/** Lists of scalars with patchStrategy "merge": a patch adds to them (ObjectMeta.finalizers). */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `ports` lists merge by containerPort in a container and by port in a Service. */
function mergeKeyOf(field: string, current: Json[], patch: Json[]): string | undefined {
  if (field === 'ports') return [...current, ...patch].some((p) => isObject(p) && 'containerPort' in p) ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

function withoutDirectives(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('$')));
}

function strategicMergeObject(current: JsonObject, patch: JsonObject): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return withoutDirectives(patch);
  const out: JsonObject = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete out[key];
      continue;
    }
    const before = out[key];
    if (isObject(before) && isObject(value)) {
      const merged = strategicMergeObject(before, value);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(before) && Array.isArray(value)) {
      out[key] = mergeList(key, before, value);
    } else {
      out[key] = isObject(value) ? strategicMergeObject({}, value) ?? {} : value;
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/') && Array.isArray(value)) {
      const list = key.slice('$deleteFromPrimitiveList/'.length);
      const gone = new Set(value.map((v) => JSON.stringify(v)));
      if (Array.isArray(out[list])) out[list] = (out[list] as Json[]).filter((v) => !gone.has(JSON.stringify(v)));
    }
    if (key.startsWith('$setElementOrder/') && Array.isArray(value) && Array.isArray(out[key.slice('$setElementOrder/'.length)])) {
      const list = key.slice('$setElementOrder/'.length);
      out[list] = ordered(list, out[list] as Json[], value);
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const key of Object.keys(out)) if (!keep.has(key)) delete out[key];
  }
  return out;
}

/** A list's elements in the order `$setElementOrder` gives; elements it does not name keep their place after them. */
function ordered(field: string, list: Json[], order: Json[]): Json[] {
  const key = mergeKeyOf(field, list, []);
  const id = (v: Json): string => JSON.stringify(key && isObject(v) ? v[key] : v);
  const rank = new Map(order.map((v, i) => [id(v), i]));
  return list
    .map((v, i) => ({ v, r: rank.get(id(v)) ?? order.length + i }))
    .sort((a, b) => a.r - b.r)
    .map(({ v }) => v);
}

function mergeList(field: string, current: Json[], patch: Json[]): Json[] {
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return patch.filter((p) => !(isObject(p) && p.$patch === 'replace'));
  if (MERGED_SCALAR_LISTS.has(field)) {
    const seen = new Set(current.map((v) => JSON.stringify(v)));
    return [...current, ...patch.filter((v) => !seen.has(JSON.stringify(v)))];
  }
  const key = mergeKeyOf(field, current, patch);
  if (!key) return patch.map((p) => (isObject(p) ? withoutDirectives(p) : p));
  const out = current.slice();
  const at = new Map<string, number>();
  out.forEach((v, i) => { if (isObject(v)) at.set(JSON.stringify(v[key]), i); });
  const deleted = new Set<number>();
  for (const p of patch) {
    if (!isObject(p)) continue;
    const i = at.get(JSON.stringify(p[key]));
    if (p.$patch === 'delete') {
      if (i !== undefined) deleted.add(i);
      continue;
    }
    if (i === undefined) {
      at.set(JSON.stringify(p[key]), out.length);
      out.push(strategicMergeObject({}, p) ?? {});
    } else {
      out[i] = strategicMergeObject(out[i] as JsonObject, p) ?? {};
    }
  }
  return out.filter((_, i) => !deleted.has(i));
}

function parseJson(body: Buffer): Json {
  try {
    return JSON.parse(body.toString('utf8')) as Json;
  } catch {
    throw new SimPatchError(400, 'the body of the request could not be decoded as JSON');
  }
}

/**
 * RFC 6902, except that `replace` of a missing object member adds it, as the apiserver's evanphx/json-patch (v4)
 * does.
 */
function jsonPatch(current: object, ops: Json): object {
  if (!Array.isArray(ops)) throw new SimPatchError(400, 'a json patch is an array of operations');
  let doc = structuredClone(current) as object;
  for (const raw of ops) {
    let op = raw as unknown as Operation;
    if (op.op === 'replace' && fastJsonPatch.getValueByPointer(doc, op.path) === undefined) op = { ...op, op: 'add' } as Operation;
    try {
      doc = fastJsonPatch.applyOperation(doc, op, true, true, true).newDocument as object;
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      throw new SimPatchError(name === 'TEST_OPERATION_FAILED' || name === 'OPERATION_PATH_UNRESOLVABLE' || name === 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX' || name === 'OPERATION_VALUE_OUT_OF_BOUNDS' ? 422 : 400, `json patch: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return doc;
}

/** The object a PATCH makes of `current` (undefined: no such object, which only an apply patch creates). */
export function simPatch(current: object | undefined, body: Buffer, contentType: string): object {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type === 'application/apply-patch+yaml') {
    let applied: unknown;
    try {
      applied = parseYaml(body.toString('utf8'), { version: '1.1', merge: true });
    } catch {
      throw new SimPatchError(400, 'the body of the request could not be decoded as YAML');
    }
    if (!isObject(applied)) throw new SimPatchError(400, 'an apply patch is an object');
    return current === undefined ? applied : strategicMergeObject(current as JsonObject, applied) ?? {};
  }
  if (!['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'].includes(type)) {
    throw new SimPatchError(415, `unsupported patch type ${type}`);
  }
  if (current === undefined) throw new SimPatchError(422, 'no object to patch');
  const patch = parseJson(body);
  if (type === 'application/json-patch+json') return jsonPatch(current, patch);
  if (!isObject(patch)) throw new SimPatchError(400, 'a merge patch is a JSON object');
  if (type === 'application/merge-patch+json') return jsonMergePatch.apply(structuredClone(current), patch) as object;
  return strategicMergeObject(current as JsonObject, patch) ?? {};
}
