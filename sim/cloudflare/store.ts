/**
 * The simulator's in-memory state: accounts, zones and what hangs off them.
 * Shapes follow the objects the v4 API answers with (the SDK's response types
 * in `cloudflare@7`, resources/{accounts,zones,dns,rulesets,...}).
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** Cloudflare identifiers: 32 lowercase hex digits ("Identifier", maxLength 32, in the spec). */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

export const isId = (s: string): boolean => /^[0-9a-f]{32}$/.test(s);

/** Access application ids are UUIDs, not 32-hex identifiers. */
export const newUuid = (): string => randomUUID();

export const now = (): string => new Date().toISOString();

export type Plan = 'free' | 'pro' | 'business' | 'enterprise';

export interface Account {
  id: string;
  name: string;
  type: 'standard' | 'enterprise';
  settings: { enforce_twofactor: boolean; api_access_enabled: boolean | null; abuse_contact_email: string | null };
  created_on: string;
}

export interface Zone {
  id: string;
  name: string;
  status: 'initializing' | 'pending' | 'active' | 'moved';
  paused: boolean;
  type: 'full' | 'partial' | 'secondary' | 'internal';
  development_mode: number;
  name_servers: string[];
  original_name_servers: string[] | null;
  original_registrar: string | null;
  original_dnshost: string | null;
  vanity_name_servers: string[];
  created_on: string;
  modified_on: string;
  activated_on: string | null;
  meta: { step: number; custom_certificate_quota: number; page_rule_quota: number; phishing_detected: boolean };
  owner: { id: string | null; type: 'user' | 'organization'; email: string | null };
  account: { id: string; name: string };
  permissions: string[];
  plan: { id: string; name: string; price: number; currency: string; frequency: string; is_subscribed: boolean; can_subscribe: boolean; legacy_id: Plan; legacy_discount: boolean; externally_managed: boolean };
}

export interface DnsRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  proxiable: boolean;
  proxied: boolean;
  ttl: number;
  settings: Record<string, unknown>;
  meta: Record<string, unknown>;
  comment: string | null;
  tags: string[];
  created_on: string;
  modified_on: string;
  comment_modified_on?: string;
  tags_modified_on?: string;
  priority?: number;
  data?: Record<string, unknown>;
}

export interface RulesetRule {
  id: string;
  version: string;
  action: string;
  expression: string;
  description: string;
  enabled: boolean;
  last_updated: string;
  ref: string;
  action_parameters?: Record<string, unknown>;
  logging?: { enabled: boolean };
  [key: string]: unknown;
}

export interface Ruleset {
  id: string;
  name: string;
  description: string;
  kind: 'managed' | 'custom' | 'root' | 'zone';
  phase: string;
  version: string;
  last_updated: string;
  rules: RulesetRule[];
}

export interface FirewallRule {
  id: string;
  paused: boolean;
  description: string;
  action: string | Record<string, unknown>;
  priority?: number;
  products?: string[];
  ref?: string;
  filter: { id: string; expression: string; paused: boolean; description: string; ref?: string };
  created_on: string;
  modified_on: string;
}

export interface PageRule {
  id: string;
  targets: { target: 'url'; constraint: { operator: string; value: string } }[];
  actions: { id: string; value?: unknown }[];
  priority: number;
  status: 'active' | 'disabled';
  created_on: string;
  modified_on: string;
}

export interface AccessApp {
  id: string;
  uid: string;
  aud: string;
  name: string;
  domain: string;
  type: string;
  session_duration: string;
  created_at: string;
  updated_at: string;
  [key: string]: unknown;
}

export interface WorkerRoute {
  id: string;
  pattern: string;
  script: string;
}

/** `zones/<id>` or `accounts/<id>`: rulesets and Access apps live under either. */
export type Scope = `${'zones' | 'accounts'}/${string}`;

/** Everything the simulator holds; tests read and change it directly. */
export class CfState {
  readonly accounts = new Map<string, Account>();
  readonly zones = new Map<string, Zone>();
  /** zone id -> record id -> record, in creation order. */
  readonly records = new Map<string, Map<string, DnsRecord>>();
  /** scope -> ruleset id -> ruleset. */
  readonly rulesets = new Map<Scope, Map<string, Ruleset>>();
  readonly firewallRules = new Map<string, Map<string, FirewallRule>>();
  readonly pageRules = new Map<string, Map<string, PageRule>>();
  readonly accessApps = new Map<Scope, Map<string, AccessApp>>();
  readonly workerRoutes = new Map<string, Map<string, WorkerRoute>>();

  zoneByName(name: string): Zone | undefined {
    for (const z of this.zones.values()) if (z.name === name) return z;
    return undefined;
  }

  /** A zone by id or by name. */
  zone(idOrName: string): Zone | undefined {
    return this.zones.get(idOrName) ?? this.zoneByName(idOrName);
  }

  /** The records of a zone (by id or name), in creation order. */
  dnsRecords(zone: string): DnsRecord[] {
    const z = this.zone(zone);
    return z ? [...(this.records.get(z.id)?.values() ?? [])] : [];
  }

  /** The ruleset of a phase's entrypoint in a scope, if one was created. */
  entrypoint(scope: Scope, phase: string): Ruleset | undefined {
    for (const rs of this.rulesets.get(scope)?.values() ?? []) if (rs.phase === phase && (rs.kind === 'zone' || rs.kind === 'root')) return rs;
    return undefined;
  }

  /** The map of `key` in `table`, created empty on first use. */
  static bucket<K, V>(table: Map<K, Map<string, V>>, key: K): Map<string, V> {
    let m = table.get(key);
    if (!m) {
      m = new Map();
      table.set(key, m);
    }
    return m;
  }
}
