/**
 * What a fresh simulator holds. The default seed has fixed ids so tests,
 * examples and the demo can name them: one account, the zone example.com on
 * the Enterprise plan (tags allowed, TTLs from 30 s), a few records (one
 * tagged `protected`), and a managed-rules entrypoint that executes the
 * Cloudflare Managed Ruleset.
 */
import { createRecord } from './dns.js';
import { putEntrypoint } from './rulesets.js';
import { CfState, newId, now, type Account, type Plan, type Zone } from './store.js';

export interface SeedRecord {
  type: string;
  name: string;
  content?: string;
  ttl?: number;
  proxied?: boolean;
  comment?: string;
  tags?: string[];
  priority?: number;
  data?: Record<string, unknown>;
}

export interface SeedZone {
  id?: string;
  name: string;
  /** Account id or name; the first account when absent. */
  account?: string;
  plan?: Plan;
  records?: SeedRecord[];
  /** Phase -> rules of the zone's entrypoint ruleset for that phase. */
  entrypoints?: Record<string, Record<string, unknown>[]>;
}

export interface CfSeed {
  accounts: { id?: string; name: string }[];
  zones: SeedZone[];
}

export const SEED_IDS = {
  account: '01a7362d577a6c3019a474fd6f485823',
  zone: '023e105f4ecef8ad9ca31a8372d0c353',
} as const;

/** The id of the Cloudflare Managed Ruleset (developers.cloudflare.com/waf/managed-rules/reference/cloudflare-managed-ruleset). */
export const CLOUDFLARE_MANAGED_RULESET = 'efb7b8c949ac4650a09736fc376e9aee';

export const DEFAULT_SEED: CfSeed = {
  accounts: [{ id: SEED_IDS.account, name: 'Example Account' }],
  zones: [
    {
      id: SEED_IDS.zone,
      name: 'example.com',
      plan: 'enterprise',
      records: [
        { type: 'A', name: '@', content: '192.0.2.1', proxied: true },
        { type: 'CNAME', name: 'www', content: 'example.com', proxied: true },
        { type: 'A', name: 'mail', content: '192.0.2.10', ttl: 3600 },
        { type: 'MX', name: '@', content: 'mail.example.com', priority: 10, ttl: 3600 },
        { type: 'TXT', name: '@', content: 'v=spf1 mx -all', ttl: 3600 },
        { type: 'A', name: 'api', content: '192.0.2.20', proxied: true, comment: 'public API', tags: ['protected:true', 'owner:platform'] },
      ],
      entrypoints: {
        http_request_firewall_managed: [
          {
            action: 'execute',
            expression: 'true',
            description: 'Execute the Cloudflare Managed Ruleset',
            action_parameters: { id: CLOUDFLARE_MANAGED_RULESET },
          },
        ],
      },
    },
  ],
};

const PLAN_NAMES: Record<Plan, string> = { free: 'Free Website', pro: 'Pro Website', business: 'Business Website', enterprise: 'Enterprise Website' };

/** Page rule quota by plan (developers.cloudflare.com/rules/page-rules: 3 / 20 / 50 / 125). */
const PAGE_RULE_QUOTA: Record<Plan, number> = { free: 3, pro: 20, business: 50, enterprise: 125 };

export function newAccount(name: string, id = newId()): Account {
  return {
    id,
    name,
    type: 'standard',
    settings: { enforce_twofactor: false, api_access_enabled: null, abuse_contact_email: null },
    created_on: now(),
  };
}

export function newZone(name: string, account: Account, opts: { id?: string; plan?: Plan; type?: Zone['type']; status?: Zone['status'] } = {}): Zone {
  const plan = opts.plan ?? 'free';
  const t = now();
  const status = opts.status ?? 'active';
  return {
    id: opts.id ?? newId(),
    name,
    status,
    paused: false,
    type: opts.type ?? 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    vanity_name_servers: [],
    created_on: t,
    modified_on: t,
    activated_on: status === 'active' ? t : null,
    meta: { step: 2, custom_certificate_quota: 0, page_rule_quota: PAGE_RULE_QUOTA[plan], phishing_detected: false },
    owner: { id: null, type: 'user', email: null },
    account: { id: account.id, name: account.name },
    permissions: ['#zone:read', '#zone:edit', '#dns_records:read', '#dns_records:edit'],
    plan: {
      id: newId(),
      name: PLAN_NAMES[plan],
      price: 0,
      currency: 'USD',
      frequency: '',
      is_subscribed: true,
      can_subscribe: false,
      legacy_id: plan,
      legacy_discount: false,
      externally_managed: false,
    },
  };
}

export function applySeed(state: CfState, seed: CfSeed): void {
  for (const a of seed.accounts) {
    const account = newAccount(a.name, a.id);
    state.accounts.set(account.id, account);
  }
  for (const z of seed.zones) {
    const account = [...state.accounts.values()].find((a) => z.account === undefined || a.id === z.account || a.name === z.account);
    if (!account) throw new Error(`seed: zone ${z.name} names no known account`);
    const zone = newZone(z.name, account, { ...(z.id ? { id: z.id } : {}), ...(z.plan ? { plan: z.plan } : {}) });
    state.zones.set(zone.id, zone);
    const records = CfState.bucket(state.records, zone.id);
    for (const r of z.records ?? []) createRecord(records, zone, r);
    for (const [phase, rules] of Object.entries(z.entrypoints ?? {})) putEntrypoint(state, `zones/${zone.id}`, phase, { rules });
  }
}
