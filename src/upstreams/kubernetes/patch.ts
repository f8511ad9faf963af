/**
 * The four Kubernetes PATCH body types, applied to a JSON object the way the
 * apiserver does (k8s.io/apiserver/pkg/endpoints/handlers/patch.go):
 *
 * - `application/json-patch+json`: RFC 6902, via fast-json-patch, with the
 *   apiserver's lenient `replace` of a missing object member (see `asKubeApplies`).
 * - `application/merge-patch+json`: RFC 7386, via json-merge-patch.
 * - `application/strategic-merge-patch+json`: merge patch plus list merging by
 *   merge key and the `$patch`, `$retainKeys`, `$setElementOrder/<list>` and
 *   `$deleteFromPrimitiveList/<list>` directives
 *   (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md).
 *   The real server reads merge keys from the Go struct tags of each type; here the
 *   merge key is chosen by list name for the well-known lists of the built-in
 *   workload types (see `mergeKeyFor`). Lists without a known key are replaced.
 * - `application/apply-patch+yaml` (server-side apply): the body is YAML or JSON.
 *   Approximated as "create when absent, else strategic merge of the applied
 *   configuration over the current object". Field ownership (managedFields),
 *   conflicts between managers and the removal of fields a manager no longer
 *   applies are not modelled.
 */
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import jsonMergePatch from 'json-merge-patch';
import { parse as parseYaml } from 'yaml';

export const PATCH_CONTENT_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;

export type PatchContentType = (typeof PATCH_CONTENT_TYPES)[number];

/**
 * `WG_PATCH_UNSUPPORTED_MEDIA_TYPE` (415): the content type is not a patch type.
 * `WG_PATCH_INVALID` (400): the body is not a well-formed patch of its type.
 * `WG_PATCH_NOT_APPLICABLE` (422): well-formed, but it cannot be applied to the
 * object (a JSON Patch `test` failed, a path does not exist, a non-apply patch of a
 * missing object).
 */
export type KubePatchErrorCode = 'WG_PATCH_UNSUPPORTED_MEDIA_TYPE' | 'WG_PATCH_INVALID' | 'WG_PATCH_NOT_APPLICABLE';

const STATUS_OF: Record<KubePatchErrorCode, number> = {
  WG_PATCH_UNSUPPORTED_MEDIA_TYPE: 415,
  WG_PATCH_INVALID: 400,
  WG_PATCH_NOT_APPLICABLE: 422,
};

export class KubePatchError extends Error {
  readonly status: number;
  constructor(
    readonly code: KubePatchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubePatchError';
    this.status = STATUS_OF[code];
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Strips parameters (`; charset=utf-8`) and case from a Content-Type. */
export function patchMediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export function isPatchContentType(contentType: string): contentType is PatchContentType {
  return (PATCH_CONTENT_TYPES as readonly string[]).includes(patchMediaType(contentType));
}

function parseJson(body: Buffer): Json {
  try {
    return JSON.parse(body.toString('utf8')) as Json;
  } catch (err) {
    throw new KubePatchError('WG_PATCH_INVALID', `patch body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Applies a PATCH body to `current` and returns the new object (never mutates
 * `current`). `current` is undefined when the object does not exist; only an
 * apply patch can then succeed (it creates).
 */
export function applyKubePatch(current: object | undefined, body: Buffer, contentType: string): object {
  const type = patchMediaType(contentType);
  if (!isPatchContentType(type)) {
    throw new KubePatchError(
      'WG_PATCH_UNSUPPORTED_MEDIA_TYPE',
      `the body of the request was in an unknown format - accepted media types include: ${PATCH_CONTENT_TYPES.join(', ')}`,
    );
  }
  if (type === 'application/apply-patch+yaml') {
    let applied: unknown;
    try {
      applied = parseYaml(body.toString('utf8'));
    } catch (err) {
      throw new KubePatchError('WG_PATCH_INVALID', `apply patch is not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!isObject(applied)) throw new KubePatchError('WG_PATCH_INVALID', 'apply patch must be an object');
    if (current === undefined) return structuredClone(applied);
    return strategicMerge(structuredClone(current) as JsonObject, applied) as JsonObject;
  }
  if (current === undefined) throw new KubePatchError('WG_PATCH_NOT_APPLICABLE', 'cannot patch an object that does not exist');
  const patch = parseJson(body);
  switch (type) {
    case 'application/json-patch+json': {
      if (!Array.isArray(patch)) throw new KubePatchError('WG_PATCH_INVALID', 'json patch must be an array of operations');
      const invalid = fastJsonPatch.validate(patch as unknown as Operation[]);
      if (invalid) throw new KubePatchError('WG_PATCH_INVALID', `invalid json patch: ${invalid.message}`, { cause: invalid });
      try {
        let doc = structuredClone(current);
        for (const op of patch as unknown as Operation[]) doc = fastJsonPatch.applyOperation(doc, asKubeApplies(doc, op), true, true).newDocument;
        return doc;
      } catch (err) {
        throw new KubePatchError('WG_PATCH_NOT_APPLICABLE', `json patch could not be applied: ${(err as Error).message}`, { cause: err });
      }
    }
    case 'application/merge-patch+json': {
      if (!isObject(patch)) throw new KubePatchError('WG_PATCH_INVALID', 'merge patch must be a JSON object');
      return jsonMergePatch.apply(structuredClone(current), patch) as object;
    }
    default: {
      if (!isObject(patch)) throw new KubePatchError('WG_PATCH_INVALID', 'strategic merge patch must be a JSON object');
      return strategicMerge(structuredClone(current) as JsonObject, patch) as JsonObject;
    }
  }
}

/**
 * The apiserver applies JSON patches with evanphx/json-patch v4, where a
 * `replace` of a member missing from an existing object adds it (its object
 * container reports no error for a missing key); RFC 6902, and fast-json-patch,
 * refuse that. Such an operation is applied as the `add` it amounts to upstream.
 */
function asKubeApplies(doc: unknown, op: Operation): Operation {
  if (op.op !== 'replace') return op;
  const at = op.path.lastIndexOf('/');
  if (at < 0) return op;
  const key = op.path.slice(at + 1).replace(/~1/g, '/').replace(/~0/g, '~');
  let parent: unknown;
  try {
    parent = fastJsonPatch.getValueByPointer(doc, op.path.slice(0, at));
  } catch {
    return op;
  }
  return isObject(parent) && !Object.prototype.hasOwnProperty.call(parent, key) ? { op: 'add', path: op.path, value: op.value } : op;
}

// ---------------------------------------------------------------------------
// Strategic merge patch

/**
 * Merge keys of the well-known lists (`+patchMergeKey` tags in k8s.io/api core/v1,
 * apps/v1 and meta/v1 types.go). `ports` is keyed by `containerPort` in a Container
 * and by `port` in a ServiceSpec; the elements tell which one applies.
 */
function mergeKeyFor(listName: string, elements: Json[]): string | undefined {
  switch (listName) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'secrets':
      return 'name';
    case 'ports':
      return elements.some((e) => isObject(e) && 'containerPort' in e) ? 'containerPort' : 'port';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'hostAliases':
      return 'ip';
    case 'ownerReferences':
      return 'uid';
    case 'conditions':
      return 'type';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    default:
      return undefined;
  }
}

/** Primitive lists with `+patchStrategy=merge`: patch values are added, not replacing. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';

function invalid(message: string): never {
  throw new KubePatchError('WG_PATCH_INVALID', message);
}

function strategicMerge(original: Json | undefined, patch: JsonObject): Json | undefined {
  const directive = patch.$patch;
  if (directive !== undefined && directive !== 'replace' && directive !== 'delete' && directive !== 'merge') {
    invalid(`unknown patch directive $patch: ${JSON.stringify(directive)}`);
  }
  if (directive === 'delete') return undefined;
  const base: JsonObject = directive === 'replace' || !isObject(original) ? {} : { ...original };

  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVES)) {
      const list = key.slice(DELETE_PRIMITIVES.length);
      if (!Array.isArray(value)) invalid(`${key} must be a list`);
      const current = base[list];
      if (Array.isArray(current)) base[list] = current.filter((v) => !value.some((d) => JSON.stringify(d) === JSON.stringify(v)));
      continue;
    }
    if (value === null) {
      delete base[key];
    } else if (Array.isArray(value)) {
      const merged = mergeList(key, base[key], value);
      if (merged === undefined) delete base[key];
      else base[key] = merged;
    } else if (isObject(value)) {
      const merged = strategicMerge(base[key], value);
      if (merged === undefined) delete base[key];
      else base[key] = merged;
    } else {
      base[key] = value;
    }
  }

  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const list = key.slice(SET_ORDER.length);
    if (!Array.isArray(order)) invalid(`${key} must be a list`);
    const current = base[list];
    if (Array.isArray(current)) base[list] = reorder(list, current, order);
  }

  if (patch.$retainKeys !== undefined) {
    const retain = patch.$retainKeys;
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) invalid('$retainKeys must be a list of strings');
    for (const key of Object.keys(base)) if (!retain.includes(key)) delete base[key];
  }
  return base;
}

function mergeList(name: string, original: Json | undefined, patch: Json[]): Json[] | undefined {
  const current = Array.isArray(original) ? original : [];
  // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
  if (patch.some((e) => isObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1)) {
    return patch.filter((e) => !(isObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1));
  }
  if (patch.every((e) => !isObject(e))) {
    if (!MERGED_PRIMITIVE_LISTS.has(name)) return patch;
    const out = [...current];
    for (const v of patch) if (!out.some((c) => JSON.stringify(c) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const key = mergeKeyFor(name, patch);
  if (key === undefined) {
    // Atomic list (no merge key): the patch replaces it; directives inside are invalid.
    return patch.map((e) => (isObject(e) ? (strategicMerge(undefined, e) as Json) : e));
  }
  const out = current.map((e) => (isObject(e) ? { ...e } : e));
  for (const element of patch) {
    if (!isObject(element)) invalid(`list ${name} mixes objects and primitives`);
    if (!(key in element)) invalid(`an element of list ${name} has no merge key ${key}`);
    const at = out.findIndex((e) => isObject(e) && JSON.stringify(e[key]) === JSON.stringify(element[key]));
    if (element.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    const merged = strategicMerge(at >= 0 ? out[at] : undefined, element);
    if (merged === undefined) continue;
    if (at >= 0) out[at] = merged;
    else out.push(merged);
  }
  return out;
}

/**
 * `$setElementOrder/<list>` fixes the relative order of the listed elements; the
 * elements it does not mention (present only on the server) keep their place
 * after them, as the apiserver's mergeSortedSlice does for the common case.
 */
function reorder(name: string, list: Json[], order: Json[]): Json[] {
  if (order.every((e) => !isObject(e))) {
    const rank = (v: Json) => order.findIndex((o) => JSON.stringify(o) === JSON.stringify(v));
    return [...list.filter((v) => rank(v) >= 0).sort((a, b) => rank(a) - rank(b)), ...list.filter((v) => rank(v) < 0)];
  }
  const key = mergeKeyFor(name, order);
  if (key === undefined) return list;
  const rank = (v: Json) =>
    isObject(v) ? order.findIndex((o) => isObject(o) && JSON.stringify(o[key]) === JSON.stringify(v[key])) : -1;
  return [...list.filter((v) => rank(v) >= 0).sort((a, b) => rank(a) - rank(b)), ...list.filter((v) => rank(v) < 0)];
}
