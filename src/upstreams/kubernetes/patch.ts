/**
 * The four Kubernetes PATCH body types, applied to a JSON object the way the
 * apiserver does (k8s.io/apiserver/pkg/endpoints/handlers/patch.go):
 *
 * - `application/json-patch+json`: RFC 6902, via fast-json-patch, with the
 *   apiserver's lenient `replace` of a missing object member (see `asKubeApplies`).
 * - `application/merge-patch+json`: RFC 7386, as evanphx/json-patch applies it (see `mergeDocs`).
 * - `application/strategic-merge-patch+json`: merge patch plus list merging by
 *   merge key and the `$patch`, `$retainKeys`, `$setElementOrder/<list>` and
 *   `$deleteFromPrimitiveList/<list>` directives
 *   (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md).
 *   The real server reads merge keys from the Go struct tags of each type; here the
 *   merge key is chosen by list name for the well-known lists of the built-in
 *   workload types (see `mergeKeyFor`). Lists without a known key are replaced.
 * - `application/apply-patch+yaml` (server-side apply): the body is YAML or JSON, decoded as the apiserver does.
 *   Approximated as "create when absent, else strategic merge of the applied
 *   configuration over the current object". Field ownership (managedFields),
 *   conflicts between managers and the removal of fields a manager no longer
 *   applies are not modelled.
 */
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { decodeKubeYaml } from './yaml.js';

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
 * `WG_PATCH_TOO_LARGE` (413): applying it would take more work than `PatchLimits`
 * allow (the apiserver answers 413 for its own JSON patch limits too).
 *
 * Messages never quote the patch or the object: they reach the client and the
 * decision log, and either may hold a Secret's data.
 */
export type KubePatchErrorCode = 'WG_PATCH_UNSUPPORTED_MEDIA_TYPE' | 'WG_PATCH_INVALID' | 'WG_PATCH_NOT_APPLICABLE' | 'WG_PATCH_TOO_LARGE';

const STATUS_OF: Record<KubePatchErrorCode, number> = {
  WG_PATCH_UNSUPPORTED_MEDIA_TYPE: 415,
  WG_PATCH_INVALID: 400,
  WG_PATCH_NOT_APPLICABLE: 422,
  WG_PATCH_TOO_LARGE: 413,
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

/**
 * Bounds on the work of applying one patch. A body is at most `limits.bodyBytes`
 * (3 MiB by default), but a strategic merge patch can ask for more work than its
 * size: elements that repeat a merge key merge again and again into the same
 * element. `maxSteps` counts the units of work of a strategic merge (one per map
 * key, list element and directive entry visited, and one per 64 bytes of the values
 * whose identity is compared: merge keys, primitive list items); `maxDepth` bounds the nesting of any patch body, so that
 * applying it cannot exhaust the stack. Real patches stay far below both: a
 * 3 MiB strategic merge patch of realistic shape takes well under a million steps.
 */
export interface PatchLimits {
  maxSteps: number;
  maxDepth: number;
}

export const PATCH_LIMITS: PatchLimits = { maxSteps: 1_000_000, maxDepth: 1_000 };

/** The apiserver refuses JSON patches with more operations (maxJSONPatchOperations, handlers/patch.go; 413). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/**
 * What all `copy` operations of one JSON patch may add (the apiserver's JSONPatchMaxCopyBytes, 3 MiB by default,
 * given to evanphx/json-patch as AccumulatedCopySizeLimit): each copy can double the document.
 */
export const MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024;

function tooLarge(message: string): never {
  throw new KubePatchError('WG_PATCH_TOO_LARGE', message);
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
    // V8's message quotes the text around the error.
    throw new KubePatchError('WG_PATCH_INVALID', 'patch body is not valid JSON', { cause: err });
  }
}

/** Refuses a value nested deeper than `max` (iteratively: the check itself must not exhaust the stack). */
function checkDepth(value: unknown, max: number): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) tooLarge(`the patch is nested deeper than ${max} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
}

/** A tree copy of a JSON document: the strategic merge then works in place, and no two paths share a node. */
function jsonCopy(value: object): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

/**
 * Applies a PATCH body to `current` and returns the new object (never mutates
 * `current`). `current` is undefined when the object does not exist; only an
 * apply patch can then succeed (it creates).
 */
export function applyKubePatch(current: object | undefined, body: Buffer, contentType: string, limits: PatchLimits = PATCH_LIMITS): object {
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
      // YAML 1.1 as the apiserver reads it (sigs.k8s.io/yaml): `privileged: yes` is true there, not "yes".
      applied = decodeKubeYaml(body.toString('utf8'));
    } catch (err) {
      // decodeKubeYaml's messages give a position, never body text.
      throw new KubePatchError('WG_PATCH_INVALID', `apply patch is not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!isObject(applied)) throw new KubePatchError('WG_PATCH_INVALID', 'apply patch must be an object');
    checkDepth(applied, limits.maxDepth);
    if (current === undefined) return structuredClone(applied);
    return strategicMerge(jsonCopy(current), applied, new Budget(limits)) as JsonObject;
  }
  if (current === undefined) throw new KubePatchError('WG_PATCH_NOT_APPLICABLE', 'cannot patch an object that does not exist');
  const patch = parseJson(body);
  checkDepth(patch, limits.maxDepth);
  switch (type) {
    case 'application/json-patch+json':
      return applyJsonPatch(current, patch);
    case 'application/merge-patch+json': {
      if (!isObject(patch)) throw new KubePatchError('WG_PATCH_INVALID', 'merge patch must be a JSON object');
      return mergeDocs(jsonCopy(current), patch);
    }
    default: {
      if (!isObject(patch)) throw new KubePatchError('WG_PATCH_INVALID', 'strategic merge patch must be a JSON object');
      return strategicMerge(jsonCopy(current), patch, new Budget(limits)) as JsonObject;
    }
  }
}

/**
 * RFC 7386 merge patch as the apiserver applies it (evanphx/json-patch v4 MergePatch, merge.go): members are merged
 * into objects in place (the target is a tree copy), a null member deletes, and a value added where there was no
 * object has its null members pruned, in arrays too (pruneNulls). Every key is an ordinary member, `__proto__`,
 * `constructor` and `prototype` included: json-merge-patch, used before, returned at the first such key and so
 * dropped the rest of the patch, which the apiserver applies.
 */
function mergeDocs(doc: JsonObject, patch: JsonObject): JsonObject {
  for (const key of Object.keys(patch)) {
    const value = patch[key]!;
    if (value === null) {
      delete doc[key];
      continue;
    }
    const cur = own(doc, key);
    if (isObject(cur) && isObject(value)) {
      mergeDocs(cur, value);
    } else {
      // merge(): a value replacing an object is kept as sent; one added where no object was is pruned.
      if (!isObject(cur)) pruneNulls(value);
      setOwn(doc, key, value);
    }
  }
  return doc;
}

function pruneNulls(value: Json): void {
  if (Array.isArray(value)) {
    for (const e of value) if (e !== null) pruneNulls(e);
  } else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      const v = value[key]!;
      if (v === null) delete value[key];
      else pruneNulls(v);
    }
  }
}

/** fast-json-patch's messages carry the operation and the whole document; only its error name and index are used. */
function jsonPatchProblem(err: unknown): string {
  const e = err as { name?: unknown; index?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'error';
  return typeof e.index === 'number' ? `operation ${e.index}: ${name}` : name;
}

function applyJsonPatch(current: object, patch: Json): object {
  if (!Array.isArray(patch)) throw new KubePatchError('WG_PATCH_INVALID', 'json patch must be an array of operations');
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    tooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`);
  }
  const operations = patch as unknown as Operation[];
  const invalid = fastJsonPatch.validate(operations);
  if (invalid) throw new KubePatchError('WG_PATCH_INVALID', `invalid json patch: ${jsonPatchProblem(invalid)}`, { cause: invalid });
  let doc: unknown = structuredClone(current);
  let copied = 0;
  try {
    for (const op of operations) {
      if (op.op === 'copy') {
        copied += JSON.stringify(fastJsonPatch.getValueByPointer(doc, op.from) ?? null).length;
        if (copied > MAX_JSON_PATCH_COPY_BYTES) tooLarge(`the copy operations of this JSON patch would copy more than ${MAX_JSON_PATCH_COPY_BYTES} bytes`);
      }
      doc = fastJsonPatch.applyOperation(doc, asKubeApplies(doc, op), true, true).newDocument;
    }
  } catch (err) {
    if (err instanceof KubePatchError) throw err;
    throw new KubePatchError('WG_PATCH_NOT_APPLICABLE', `json patch could not be applied: ${jsonPatchProblem(err)}`, { cause: err });
  }
  return doc as object;
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

/**
 * Counts the work of one strategic merge against `PatchLimits.maxSteps`, and
 * gives list elements and merge-key values their identity: the JSON text, as
 * the comparisons of the previous, quadratic implementation did, now computed
 * once per value and looked up in maps.
 */
class Budget {
  private steps = 0;
  constructor(private readonly limits: PatchLimits) {}

  spend(n: number): void {
    this.steps += n;
    if (this.steps > this.limits.maxSteps) tooLarge(`the strategic merge patch needs more than ${this.limits.maxSteps} steps to apply`);
  }

  /** The JSON text of `v`; a string is `"` and its characters, which only a JSON string text starts with. */
  identity(v: Json | undefined): string | undefined {
    const text = typeof v === 'string' ? `"${v}` : JSON.stringify(v);
    this.spend(1 + (text === undefined ? 0 : text.length >> 6));
    return text;
  }
}

/** An own member: JSON.parse makes `__proto__` an own key, and the inherited accessor must never stand in for it. */
function own(obj: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function setOwn(obj: JsonObject, key: string, value: Json): void {
  // Assigning `__proto__` would replace the prototype, which the residual engine's lookups could then see through.
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

function isReplaceMarker(e: Json): boolean {
  return isObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1;
}

/**
 * Merges `patch` into `original` in place: `original` is part of the tree copy
 * made by applyKubePatch or was built here, so nothing outside sees the change.
 */
function strategicMerge(original: Json | undefined, patch: JsonObject, budget: Budget): Json | undefined {
  const directive = own(patch, '$patch');
  if (directive !== undefined && directive !== 'replace' && directive !== 'delete' && directive !== 'merge') {
    invalid('unknown patch directive in $patch (expected replace, delete or merge)');
  }
  if (directive === 'delete') return undefined;
  const base: JsonObject = directive === 'replace' || !isObject(original) ? {} : original;
  const keys = Object.keys(patch);
  budget.spend(keys.length);

  for (const key of keys) {
    const value = patch[key]!;
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVES)) {
      const list = key.slice(DELETE_PRIMITIVES.length);
      if (!Array.isArray(value)) invalid(`${DELETE_PRIMITIVES}${list} must be a list`);
      const current = own(base, list);
      if (Array.isArray(current)) {
        const drop = new Set(value.map((v) => budget.identity(v)));
        setOwn(base, list, current.filter((v) => !drop.has(budget.identity(v))));
      }
      continue;
    }
    if (value === null) {
      delete base[key];
    } else if (Array.isArray(value)) {
      setOwn(base, key, mergeList(key, own(base, key), value, budget));
    } else if (isObject(value)) {
      const merged = strategicMerge(own(base, key), value, budget);
      if (merged === undefined) delete base[key];
      else setOwn(base, key, merged);
    } else {
      setOwn(base, key, value);
    }
  }

  for (const key of keys) {
    if (!key.startsWith(SET_ORDER)) continue;
    const list = key.slice(SET_ORDER.length);
    const order = patch[key]!;
    if (!Array.isArray(order)) invalid(`${SET_ORDER}${list} must be a list`);
    const current = own(base, list);
    if (Array.isArray(current)) setOwn(base, list, reorder(list, current, order, budget));
  }

  const retain = own(patch, '$retainKeys');
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) invalid('$retainKeys must be a list of strings');
    const kept = new Set<Json>(retain);
    const present = Object.keys(base);
    budget.spend(retain.length + present.length);
    for (const key of present) if (!kept.has(key)) delete base[key];
  }
  return base;
}

function mergeList(name: string, original: Json | undefined, patch: Json[], budget: Budget): Json[] {
  const current = Array.isArray(original) ? original : [];
  budget.spend(patch.length);
  // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
  if (patch.some(isReplaceMarker)) return patch.filter((e) => !isReplaceMarker(e));
  // An empty patch list merges nothing into a list the apiserver merges (mergeSlice returns the original when the
  // patch is empty, k8s.io/apimachinery strategicpatch/patch.go); only an atomic list is replaced by it.
  if (patch.length === 0 && (MERGED_PRIMITIVE_LISTS.has(name) || mergeKeyFor(name, current) !== undefined)) return current;
  if (patch.every((e) => !isObject(e))) {
    if (!MERGED_PRIMITIVE_LISTS.has(name)) return patch;
    budget.spend(current.length);
    const out = [...current];
    const seen = new Set(out.map((v) => budget.identity(v)));
    for (const v of patch) {
      const id = budget.identity(v);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(v);
    }
    return out;
  }
  const key = mergeKeyFor(name, patch);
  if (key === undefined) {
    // Atomic list (no merge key): the patch replaces it; directives inside are invalid.
    return patch.map((e) => (isObject(e) ? (strategicMerge(undefined, e, budget) as Json) : e));
  }
  // Each patch element merges into the first remaining element with its merge key, or is appended. `slots` keeps
  // the positions and `removed` the deletions; `first` maps a key to its first remaining slot, `last` to its last
  // slot, and `next` chains the slots of one key in order.
  budget.spend(current.length);
  const slots: Json[] = current;
  const removed: boolean[] = [];
  const first = new Map<string | undefined, number>();
  const last = new Map<string | undefined, number>();
  const next: number[] = [];
  const remember = (i: number): void => {
    const e = slots[i]!;
    if (!isObject(e) || !Object.hasOwn(e, key)) return;
    const id = budget.identity(e[key]);
    const tail = last.get(id);
    if (tail === undefined) first.set(id, i);
    else next[tail] = i;
    last.set(id, i);
  };
  for (let i = 0; i < slots.length; i++) remember(i);
  for (const element of patch) {
    if (!isObject(element)) invalid(`list ${name} mixes objects and primitives`);
    if (!Object.hasOwn(element, key)) invalid(`an element of list ${name} has no merge key ${key}`);
    const id = budget.identity(element[key]);
    const at = first.get(id) ?? -1;
    if (element.$patch === 'delete') {
      if (at >= 0) {
        removed[at] = true;
        const after = next[at];
        if (after === undefined) {
          first.delete(id);
          last.delete(id);
        } else first.set(id, after);
      }
      continue;
    }
    const merged = strategicMerge(at >= 0 ? slots[at] : undefined, element, budget);
    if (merged === undefined) continue;
    if (at >= 0) {
      slots[at] = merged;
    } else {
      slots.push(merged);
      remember(slots.length - 1);
    }
  }
  return removed.length === 0 ? slots : slots.filter((_, i) => !removed[i]);
}

/**
 * `$setElementOrder/<list>` fixes the relative order of the listed elements; the
 * elements it does not mention (present only on the server) keep their place
 * after them, as the apiserver's mergeSortedSlice does for the common case.
 * Each element's rank is the first position of its identity in the order.
 */
function reorder(name: string, list: Json[], order: Json[], budget: Budget): Json[] {
  budget.spend(list.length + order.length);
  const primitive = order.every((e) => !isObject(e));
  const key = primitive ? undefined : mergeKeyFor(name, order);
  if (!primitive && key === undefined) return list;
  const identity = (v: Json): string | undefined => (key === undefined ? budget.identity(v) : budget.identity(own(v as JsonObject, key)));
  const rank = new Map<string | undefined, number>();
  order.forEach((o, i) => {
    if (!primitive && !isObject(o)) return;
    const id = identity(o);
    if (!rank.has(id)) rank.set(id, i);
  });
  const ranks: number[] = [];
  const ranked: number[] = [];
  const rest: Json[] = [];
  list.forEach((v, i) => {
    const r = primitive || isObject(v) ? rank.get(identity(v)) : undefined;
    if (r === undefined) {
      rest.push(v);
    } else {
      ranks[i] = r;
      ranked.push(i);
    }
  });
  // Equal ranks keep their list order, as the stable filter-then-sort this replaces did.
  ranked.sort((a, b) => ranks[a]! - ranks[b]! || a - b);
  return [...ranked.map((i) => list[i]!), ...rest];
}
