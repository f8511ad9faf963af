/**
 * The simulator's database: one table per model, users with object permissions, and API tokens.
 */
import { MODELS, type ModelKey, type ModelSpec } from './models.js';

/** A stored value: a related object is stored as its id, tags as a list of tag ids. */
export type Stored = string | number | boolean | null | number[] | Record<string, never>;

export interface NbRecord {
  id: number;
  /** Timestamps as NetBox stores them (microseconds, UTC): `2026-12-02T10:26:14.123456`. */
  created: string;
  last_updated: string;
  values: Record<string, Stored>;
}

export type Action = 'view' | 'add' | 'change' | 'delete';

export interface NbPermission {
  actions: Action[];
  /** `<app_label>.<model>`, e.g. `dcim.device`. */
  objectTypes: string[];
}

export interface NbUser {
  id: number;
  username: string;
  superuser: boolean;
  permissions: NbPermission[];
  groups: string[];
}

export interface NbToken {
  user: string;
  /** A token with writes disabled may only read (netbox/api/authentication.py TokenPermissions). */
  writeEnabled: boolean;
}

export class NbState {
  readonly tables = new Map<ModelKey, Map<number, NbRecord>>();
  private readonly nextIds = new Map<ModelKey, number>();
  readonly users = new Map<string, NbUser>();
  /** v1 tokens by their 40 characters; v2 tokens as `nbt_<key>.<secret>`. */
  readonly tokens = new Map<string, NbToken>();
  private lastStamp = 0;

  constructor() {
    for (const key of Object.keys(MODELS) as ModelKey[]) {
      this.tables.set(key, new Map());
      this.nextIds.set(key, 1);
    }
  }

  table(model: ModelSpec | ModelKey): Map<number, NbRecord> {
    return this.tables.get(typeof model === 'string' ? model : model.key)!;
  }

  get(model: ModelSpec | ModelKey, id: number): NbRecord | undefined {
    return this.table(model).get(id);
  }

  all(model: ModelSpec | ModelKey): NbRecord[] {
    return [...this.table(model).values()];
  }

  nextId(model: ModelSpec): number {
    const id = this.nextIds.get(model.key)!;
    this.nextIds.set(model.key, id + 1);
    return id;
  }

  /**
   * A timestamp later than every one handed out before: NetBox's ETag is `last_updated`, so two writes in the same
   * microsecond must not give an object the same version twice.
   */
  stamp(): string {
    const micros = Math.max(Date.now() * 1000, this.lastStamp + 1);
    this.lastStamp = micros;
    const iso = new Date(Math.floor(micros / 1000)).toISOString();
    return `${iso.slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  /** A deep copy, for writes that must apply all or none. */
  snapshot(): Map<ModelKey, Map<number, NbRecord>> {
    return new Map([...this.tables].map(([k, t]) => [k, new Map([...t].map(([id, r]) => [id, structuredClone(r)]))]));
  }

  restore(copy: Map<ModelKey, Map<number, NbRecord>>): void {
    for (const [k, t] of copy) this.tables.set(k, t);
  }
}
