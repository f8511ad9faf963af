/**
 * In-memory object store with a single resourceVersion counter (as etcd's revision
 * is for a real apiserver) and a watch event log.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { parseResourcePath } from './paths.js';
import { apiVersionOf, findByKind, objectPath, type ResourceDef } from './resources.js';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [field: string]: unknown;
};

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  def: ResourceDef;
  object: KubeObject;
  resourceVersion: number;
}

/** How many events a watch with an older resourceVersion can replay. */
const EVENT_LOG_SIZE = 1000;

export function rfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function keyOf(def: ResourceDef, namespace: string | undefined, name: string): string {
  return `${def.group}/${def.plural}/${def.namespaced ? (namespace ?? '') : ''}/${name}`;
}

export class KubeStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly log: StoreEvent[] = [];
  private rv = 1;
  readonly events = new EventEmitter().setMaxListeners(0);

  /** The current (latest) resourceVersion, as a list's metadata.resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** The resourceVersion the next write will get; dry runs report it without taking it. */
  peekNextResourceVersion(): string {
    return String(this.rv + 1);
  }

  find(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(keyOf(def, namespace, name));
    return obj && structuredClone(obj);
  }

  list(def: ResourceDef, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.objects.values()) {
      if (obj.apiVersion !== apiVersionOf(def) || obj.kind !== def.kind) continue;
      if (def.namespaced && namespace && obj.metadata.namespace !== namespace) continue;
      out.push(structuredClone(obj));
    }
    return out.sort((a, b) =>
      `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`),
    );
  }

  /** Stores an object whose metadata the caller completed; assigns the next resourceVersion. */
  write(def: ResourceDef, obj: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject {
    this.rv += 1;
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(this.rv);
    this.objects.set(keyOf(def, stored.metadata.namespace, stored.metadata.name ?? ''), stored);
    this.emit({ type, def, object: stored, resourceVersion: this.rv });
    return structuredClone(stored);
  }

  remove(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = keyOf(def, namespace, name);
    const obj = this.objects.get(key);
    if (!obj) return undefined;
    this.objects.delete(key);
    this.rv += 1;
    // A DELETED event carries the last state with the deletion's resourceVersion.
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit({ type: 'DELETED', def, object: gone, resourceVersion: this.rv });
    return structuredClone(obj);
  }

  /** Events newer than `resourceVersion`, or undefined when the log no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] | undefined {
    const first = this.log[0];
    if (first && first.resourceVersion > resourceVersion + 1 && this.log.length >= EVENT_LOG_SIZE) return undefined;
    return this.log.filter((e) => e.resourceVersion > resourceVersion);
  }

  private emit(event: StoreEvent): void {
    this.log.push(event);
    if (this.log.length > EVENT_LOG_SIZE) this.log.shift();
    this.events.emit('event', event);
  }

  // -------------------------------------------------------------------------
  // Convenience access for tests, benchmarks and the demo.

  /** The object at an API path such as `/apis/apps/v1/namespaces/default/deployments/web`. */
  get(apiPath: string): KubeObject | undefined {
    const parsed = parseResourcePath(apiPath);
    if (!parsed.ok || parsed.path.name === undefined) return undefined;
    return this.find(parsed.path.def, parsed.path.namespace, parsed.path.name);
  }

  /** Seeds or overwrites an object; fills uid and creationTimestamp when missing. */
  put(obj: KubeObject): KubeObject {
    const def = findByKind(obj.apiVersion, obj.kind);
    if (!def) throw new Error(`the simulator does not serve ${obj.apiVersion} ${obj.kind}`);
    const name = obj.metadata.name;
    if (!name) throw new Error('metadata.name is required');
    const existing = this.find(def, obj.metadata.namespace, name);
    const next = structuredClone(obj);
    next.metadata.uid ??= existing?.metadata.uid ?? randomUUID();
    next.metadata.creationTimestamp ??= existing?.metadata.creationTimestamp ?? rfc3339();
    if (!def.namespaced) delete next.metadata.namespace;
    return this.write(def, next, existing ? 'MODIFIED' : 'ADDED');
  }

  /** Removes the object at an API path; returns it. */
  delete(apiPath: string): KubeObject | undefined {
    const parsed = parseResourcePath(apiPath);
    if (!parsed.ok || parsed.path.name === undefined) return undefined;
    return this.remove(parsed.path.def, parsed.path.namespace, parsed.path.name);
  }

  /** API path of a stored object. */
  pathOf(obj: KubeObject): string {
    const def = findByKind(obj.apiVersion, obj.kind);
    if (!def) throw new Error(`the simulator does not serve ${obj.apiVersion} ${obj.kind}`);
    return objectPath(def, obj.metadata.namespace, obj.metadata.name);
  }
}
