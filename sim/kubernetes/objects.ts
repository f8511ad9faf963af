/**
 * Write semantics of the registry (k8s.io/apiserver/pkg/registry/generic/registry
 * store.go + the per-type strategies, reduced): create, update, patch, delete,
 * the status and scale subresources, and `dryRun=All`, which runs the same code
 * and returns exactly what would be stored without storing it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SimPatchError, simPatch } from './patch.js';
import { apiVersionOf, findByKind, RESOURCES, type ResourceDef } from './resources.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  patchNotApplicable,
  unprocessable,
  unsupportedPatchType,
} from './status.js';
import { rfc3339, type KubeObject, type KubeStore } from './store.js';

const NAMESPACES = findByKind('v1', 'Namespace')!;

/**
 * Kinds whose registry strategy maintains metadata.generation (PrepareForCreate
 * sets 1, PrepareForUpdate bumps it on spec changes); ConfigMap, Secret and the
 * like leave it unset.
 */
const GENERATION_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'Ingress']);

function hasStatusSubresource(def: ResourceDef): boolean {
  return def.subresources?.some((s) => s.name === 'status') ?? false;
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return JSON.stringify(rest);
}

function randomSuffix(): string {
  // generateName suffixes are 5 characters from a consonant/digit alphabet (apiserver names.SimpleNameGenerator).
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Why `name` is not a valid object name, or undefined when it is: Namespaces
 * are RFC 1123 labels, Services RFC 1035 labels, everything else here RFC 1123
 * subdomains (apimachinery validation.IsDNS1123Label / IsDNS1035Label /
 * IsDNS1123Subdomain; the messages are theirs).
 */
function nameProblem(def: ResourceDef, name: string): string | undefined {
  if (def.kind === 'Namespace') {
    if (name.includes('.')) return 'must not contain dots';
    if (name.length > 63) return 'must be no more than 63 characters';
    if (!DNS1123_LABEL.test(name)) {
      return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
    return undefined;
  }
  if (def.kind === 'Service') {
    if (name.length > 63) return 'must be no more than 63 characters';
    if (!DNS1035_LABEL.test(name)) {
      return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    }
    return undefined;
  }
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return undefined;
}

/** Server-side defaults the simulator models. */
function applyDefaults(def: ResourceDef, obj: KubeObject): void {
  const spec = (obj.spec ??= {}) as Record<string, unknown>;
  switch (`${def.group}/${def.kind}`) {
    case '/Namespace': {
      spec.finalizers ??= ['kubernetes'];
      obj.status = { phase: 'Active', ...((obj.status as object) ?? {}) };
      const labels = (obj.metadata.labels ??= {}) as Record<string, string>;
      labels['kubernetes.io/metadata.name'] = obj.metadata.name!;
      break;
    }
    case 'apps/Deployment':
    case 'apps/StatefulSet':
    case 'apps/ReplicaSet':
      spec.replicas ??= 1;
      break;
    case '/Secret': {
      delete obj.spec;
      // stringData is write-only: merged into data (base64) on write.
      const stringData = obj.stringData as Record<string, string> | undefined;
      if (stringData) {
        const data = (obj.data ??= {}) as Record<string, string>;
        for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
        delete obj.stringData;
      }
      obj.type ??= 'Opaque';
      break;
    }
    case '/ConfigMap':
    case '/ServiceAccount':
    case '/Event':
    case 'rbac.authorization.k8s.io/Role':
    case 'rbac.authorization.k8s.io/ClusterRole':
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      // Types without a spec.
      if (Object.keys(spec).length === 0) delete obj.spec;
      break;
    default:
      break;
  }
}

/** Which part of an object a write may change: all of it, its status or (pods) its ephemeral containers. */
type Part = 'main' | 'status' | 'ephemeralcontainers';

type Containers = { name?: unknown }[];

/**
 * The ephemeral containers subresource changes only spec.ephemeralContainers, and only by adding to it
 * (pkg/registry/core/pod EphemeralContainersStrategy; validation.ValidatePodEphemeralContainersUpdate refuses
 * changing or removing one, in the message used here).
 */
function ephemeralContainersUpdate(current: KubeObject, input: KubeObject): Containers {
  const before = ((current.spec as { ephemeralContainers?: Containers } | undefined)?.ephemeralContainers ?? []);
  const after = ((input.spec as { ephemeralContainers?: Containers } | undefined)?.ephemeralContainers ?? []);
  before.forEach((old, i) => {
    const kept = after.find((c) => c.name === old.name);
    if (!kept || JSON.stringify(kept) !== JSON.stringify(old)) {
      throw invalid({ kind: 'Pod', group: '' }, current.metadata.name ?? '', `spec.ephemeralContainers[${i}]`,
        `Forbidden: existing ephemeral containers ${JSON.stringify(old.name)} may not be changed`, 'FieldValueInvalid');
    }
  });
  return after;
}

export interface WriteResult {
  object: KubeObject;
  /** 201 for creates, 200 otherwise. */
  code: 200 | 201;
}

export class Registry {
  constructor(private readonly store: KubeStore) {}

  private requireNamespace(def: ResourceDef, namespace: string | undefined): void {
    if (!def.namespaced) return;
    if (!namespace) throw badRequest('a namespace is required for a namespaced resource');
    if (!this.store.find(NAMESPACES, undefined, namespace)) throw notFound(NAMESPACES, namespace);
  }

  private checkTypeAndNamespace(def: ResourceDef, namespace: string | undefined, obj: KubeObject): void {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw badRequest('the body must be an object');
    if (obj.kind && obj.kind !== def.kind) throw badRequest(`the kind of the provided object (${obj.kind}) does not match the resource (${def.kind})`);
    if (obj.apiVersion && obj.apiVersion !== apiVersionOf(def)) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`);
    }
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    obj.metadata = (obj.metadata ?? {}) as KubeObject['metadata'];
    if (def.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace;
    } else {
      delete obj.metadata.namespace;
    }
  }

  create(def: ResourceDef, namespace: string | undefined, input: KubeObject, dryRun: boolean): WriteResult {
    this.checkTypeAndNamespace(def, namespace, input);
    const obj = structuredClone(input);
    const meta = obj.metadata;
    if (!meta.name && typeof meta.generateName === 'string' && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (!meta.name) throw invalid(def, '', 'metadata.name', 'Required value: name or generateName is required');
    const problem = nameProblem(def, meta.name);
    if (problem) throw invalid(def, meta.name, 'metadata.name', `Invalid value: ${JSON.stringify(meta.name)}: ${problem}`, 'FieldValueInvalid');
    this.requireNamespace(def, namespace);
    if (this.store.find(def, namespace, meta.name)) throw alreadyExists(def, meta.name);
    // Server-owned metadata is reset on create (ObjectMeta strategy FillObjectMetaSystemFields).
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339();
    if (GENERATION_KINDS.has(def.kind)) meta.generation = 1;
    else delete meta.generation;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    if (hasStatusSubresource(def) && def.kind !== 'Namespace') obj.status = def.kind === 'Pod' ? { phase: 'Pending' } : {};
    applyDefaults(def, obj);
    if (dryRun) return { object: obj, code: 201 };
    return { object: this.store.write(def, obj, 'ADDED'), code: 201 };
  }

  update(def: ResourceDef, namespace: string | undefined, name: string, input: KubeObject, dryRun: boolean): WriteResult {
    const current = this.store.find(def, namespace, name);
    if (!current) throw notFound(def, name);
    return this.replace(def, namespace, name, current, input, dryRun, 'main');
  }

  private replace(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    current: KubeObject,
    input: KubeObject,
    dryRun: boolean,
    part: Part,
  ): WriteResult {
    this.checkTypeAndNamespace(def, namespace, input);
    const obj = structuredClone(input);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw conflict(def, name);
    let next: KubeObject;
    if (part === 'status') {
      // The status subresource changes only .status (and metadata the user owns is ignored).
      next = { ...current, status: obj.status };
    } else if (part === 'ephemeralcontainers') {
      next = { ...current, spec: { ...((current.spec as object) ?? {}), ephemeralContainers: ephemeralContainersUpdate(current, obj) } };
    } else {
      next = { ...obj, metadata: { ...obj.metadata, name } };
      if (hasStatusSubresource(def) && def.kind !== 'Namespace') next.status = current.status;
    }
    next.metadata.uid = current.metadata.uid;
    next.metadata.creationTimestamp = current.metadata.creationTimestamp;
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (GENERATION_KINDS.has(def.kind)) {
      next.metadata.generation = Number(current.metadata.generation ?? 1) + (specOf(next) !== specOf(current) ? 1 : 0);
    } else delete next.metadata.generation;
    applyDefaults(def, next);
    if (dryRun) return { object: next, code: 200 };
    return { object: this.store.write(def, next, 'MODIFIED'), code: 200 };
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    body: Buffer,
    contentType: string,
    dryRun: boolean,
    part: Part = 'main',
  ): WriteResult {
    const current = this.store.find(def, namespace, name);
    const isApply = contentType.toLowerCase().startsWith('application/apply-patch+yaml');
    if (!current && !(isApply && part === 'main')) throw notFound(def, name);
    const patched = runPatch(current, body, contentType) as KubeObject;
    if (!current) {
      patched.metadata = { ...(patched.metadata ?? {}), name };
      return this.create(def, namespace, patched, dryRun);
    }
    return this.replace(def, namespace, name, current, patched, dryRun, part);
  }

  updateStatus(def: ResourceDef, namespace: string | undefined, name: string, input: KubeObject, dryRun: boolean): WriteResult {
    const current = this.store.find(def, namespace, name);
    if (!current) throw notFound(def, name);
    return this.replace(def, namespace, name, current, input, dryRun, 'status');
  }

  updateEphemeralContainers(def: ResourceDef, namespace: string | undefined, name: string, input: KubeObject, dryRun: boolean): WriteResult {
    const current = this.store.find(def, namespace, name);
    if (!current) throw notFound(def, name);
    return this.replace(def, namespace, name, current, input, dryRun, 'ephemeralcontainers');
  }

  delete(def: ResourceDef, namespace: string | undefined, name: string, dryRun: boolean): KubeObject {
    const current = this.store.find(def, namespace, name);
    if (!current) throw notFound(def, name);
    if (dryRun) return current;
    if (def.kind === 'Namespace') {
      // Namespace deletion removes the namespace's contents (the namespace controller's job).
      for (const other of RESOURCES) {
        if (!other.namespaced || other.virtual) continue;
        for (const o of this.store.list(other, name)) this.store.remove(other, name, o.metadata.name!);
      }
    }
    return this.store.remove(def, namespace, name)!;
  }

  // -- scale subresource (autoscaling/v1 Scale) --------------------------------

  scaleOf(obj: KubeObject): KubeObject {
    const spec = (obj.spec ?? {}) as Record<string, unknown>;
    const selector = (spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
    return {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: spec.replicas ?? 1 },
      status: {
        replicas: Number((obj.status as Record<string, unknown> | undefined)?.replicas ?? 0),
        selector: Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(','),
      },
    };
  }

  getScale(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const current = this.store.find(def, namespace, name);
    if (!current) throw notFound(def, name);
    return this.scaleOf(current);
  }

  /** PUT (scale object) or PATCH (body + content type) on …/scale. */
  writeScale(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    change: { scale: KubeObject } | { body: Buffer; contentType: string },
    dryRun: boolean,
  ): KubeObject {
    const current = this.store.find(def, namespace, name);
    if (!current) throw notFound(def, name);
    const before = this.scaleOf(current);
    const scale = 'scale' in change ? change.scale : (runPatch(before, change.body, change.contentType) as KubeObject);
    const rv = scale.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(def, name);
    const replicas = (scale.spec as Record<string, unknown> | undefined)?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw unprocessable(`Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    }
    const next = { ...current, spec: { ...((current.spec as object) ?? {}), replicas } };
    const { object } = this.replace(def, namespace, name, current, next, dryRun, 'main');
    return this.scaleOf(object);
  }
}

function runPatch(current: object | undefined, body: Buffer, contentType: string): object {
  try {
    return simPatch(current, body, contentType);
  } catch (err) {
    if (!(err instanceof SimPatchError)) throw err;
    if (err.status === 415) throw unsupportedPatchType();
    if (err.status === 422) throw patchNotApplicable();
    throw badRequest(err.message);
  }
}
