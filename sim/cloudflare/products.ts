/**
 * Firewall rules, page rules, Access applications and Workers routes: the
 * create/read/update/delete semantics and object shapes of their v4
 * endpoints (the SDK's response types in cloudflare@7: resources/firewall/
 * rules.ts, page-rules, zero-trust/access/applications, workers/routes.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  accessAppInvalid,
  accessAppNotFound,
  firewallRuleInvalid,
  firewallRuleNotFound,
  pageRuleInvalid,
  pageRuleNotFound,
  workerRouteInvalid,
  workerRouteNotFound,
  type CfError,
} from './envelope.js';
import { newId, newUuid, now, type AccessApp, type FirewallRule, type PageRule, type WorkerRoute, type Zone } from './store.js';

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Body => v !== null && typeof v === 'object' && !Array.isArray(v);

/** How one product validates a body into its object (`old` on an update) and names a missing one. */
export interface Product<T extends { id: string }> {
  build(body: unknown, old: T | undefined, items: Map<string, T>): T;
  notFound(): CfError;
}

/** The create/get/replace/merge/delete semantics these products share, over one scope's objects. */
export class Collection<T extends { id: string }> {
  constructor(
    private readonly product: Product<T>,
    readonly items: Map<string, T>,
  ) {}

  /** Creates every body or none: all are validated before any is stored. */
  createAll(bodies: unknown[]): T[] {
    const created: T[] = [];
    for (const body of bodies) created.push(this.product.build(body, undefined, this.items));
    for (const item of created) this.items.set(item.id, item);
    return created;
  }

  create(body: unknown): T {
    return this.createAll([body])[0]!;
  }

  get(id: string): T {
    const item = this.items.get(id);
    if (item === undefined) throw this.product.notFound();
    return item;
  }

  /** PUT: the body is the whole object. */
  replace(id: string, body: unknown): T {
    const item = this.product.build(body, this.get(id), this.items);
    this.items.set(id, item);
    return item;
  }

  /** PATCH: the body's fields over the stored ones. */
  merge(id: string, body: unknown): T {
    const old = this.get(id);
    return this.replace(id, isObject(body) ? { ...old, ...body } : body);
  }

  /** A delete answers with the id alone. */
  delete(id: string): { id: string } {
    this.get(id);
    this.items.delete(id);
    return { id };
  }
}

// --- firewall rules (deprecated in favour of rulesets; see README) -------------------------------

/** The classic API's actions, plus `simulate` and `ban`, the modes of the SDK's `action: {mode}` object. */
const FIREWALL_ACTIONS = new Set(['block', 'challenge', 'js_challenge', 'managed_challenge', 'allow', 'log', 'bypass', 'simulate', 'ban']);

function buildFirewallRule(body: unknown, old: FirewallRule | undefined): FirewallRule {
  if (!isObject(body)) throw firewallRuleInvalid('a firewall rule must be an object');
  // The classic API takes `action: "block"`; the SDK (cloudflare@7) sends `action: {mode: "block"}`. Both are kept as sent.
  const action = body.action;
  const mode = typeof action === 'string' ? action : isObject(action) ? action.mode : undefined;
  if (typeof mode !== 'string' || !FIREWALL_ACTIONS.has(mode)) throw firewallRuleInvalid(`'${String(mode)}' is not a valid action`);
  const filter = body.filter;
  if (!isObject(filter) || typeof filter.expression !== 'string' || !filter.expression.trim()) {
    throw firewallRuleInvalid('filter.expression is required');
  }
  const t = now();
  const rule: FirewallRule = {
    id: old?.id ?? newId(),
    paused: body.paused === true,
    description: typeof body.description === 'string' ? body.description : '',
    action: typeof action === 'string' ? action : { ...(action as Body) },
    filter: {
      id: typeof filter.id === 'string' ? filter.id : (old?.filter.id ?? newId()),
      expression: filter.expression,
      paused: filter.paused === true,
      description: typeof filter.description === 'string' ? filter.description : '',
      ...(typeof filter.ref === 'string' ? { ref: filter.ref } : {}),
    },
    created_on: old?.created_on ?? t,
    modified_on: t,
  };
  if (typeof body.priority === 'number') rule.priority = body.priority;
  if (Array.isArray(body.products)) rule.products = body.products.map(String);
  if (typeof body.ref === 'string') rule.ref = body.ref;
  return rule;
}

/**
 * Firewall rules. POST answers with an array of the created rules, all or
 * none created; the classic API takes an array, the SDK sends one rule.
 */
export const firewallRules: Product<FirewallRule> = { build: buildFirewallRule, notFound: firewallRuleNotFound };

// --- page rules -------------------------------------------------------------------------------------

function buildPageRule(body: unknown, old: PageRule | undefined): PageRule {
  if (!isObject(body)) throw pageRuleInvalid('a page rule must be an object');
  const targets = body.targets;
  if (
    !Array.isArray(targets) ||
    targets.length === 0 ||
    !targets.every((t) => isObject(t) && t.target === 'url' && isObject(t.constraint) && typeof t.constraint.value === 'string')
  ) {
    throw pageRuleInvalid('Page Rule targets must be a non-empty list of url targets with a constraint value');
  }
  const actions = body.actions;
  if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => isObject(a) && typeof a.id === 'string')) {
    throw pageRuleInvalid('Page Rule actions must be a non-empty list of actions with an id');
  }
  const status = body.status ?? old?.status ?? 'disabled';
  if (status !== 'active' && status !== 'disabled') throw pageRuleInvalid(`'${String(status)}' is not a valid status`);
  const t = now();
  return {
    id: old?.id ?? newId(),
    targets: targets.map((x) => {
      const c = (x as Body).constraint as Body;
      return { target: 'url' as const, constraint: { operator: typeof c.operator === 'string' ? c.operator : 'matches', value: String(c.value) } };
    }),
    actions: actions.map((a) => ({ ...(a as { id: string; value?: unknown }) })),
    priority: typeof body.priority === 'number' ? body.priority : (old?.priority ?? 1),
    status,
    created_on: old?.created_on ?? t,
    modified_on: t,
  };
}

/** Page rules: PUT replaces targets, actions, priority and status; PATCH sends only what changes. */
export const pageRules: Product<PageRule> = { build: buildPageRule, notFound: pageRuleNotFound };

// --- Access applications ----------------------------------------------------------------------------

const APP_TYPES = new Set([
  'self_hosted', 'saas', 'ssh', 'vnc', 'app_launcher', 'warp', 'biso', 'bookmark', 'dash_sso', 'infrastructure', 'rdp', 'mcp',
  'mcp_portal', 'proxy_endpoint',
]);

function buildAccessApp(body: unknown, old: AccessApp | undefined): AccessApp {
  if (!isObject(body)) throw accessAppInvalid('access.api.error.invalid_request');
  const type = body.type ?? old?.type ?? 'self_hosted';
  if (typeof type !== 'string' || !APP_TYPES.has(type)) throw accessAppInvalid(`access.api.error.invalid_app_type: ${String(type)}`);
  const domain = typeof body.domain === 'string' ? body.domain : '';
  // A self-hosted application protects a hostname: it needs one (API reference, Add an Access application).
  if (type === 'self_hosted' && !domain) throw accessAppInvalid('access.api.error.invalid_domain: domain is required for self_hosted applications');
  const t = now();
  const id = old?.id ?? newUuid();
  return {
    ...body,
    id,
    uid: id,
    aud: old?.aud ?? randomBytes(32).toString('hex'),
    name: typeof body.name === 'string' ? body.name : domain,
    domain,
    type,
    session_duration: typeof body.session_duration === 'string' ? body.session_duration : '24h',
    created_at: old?.created_at ?? t,
    updated_at: t,
  };
}

export const accessApps: Product<AccessApp> = { build: buildAccessApp, notFound: accessAppNotFound };

// --- Workers routes ------------------------------------------------------------------------------------

/** A route pattern is a URL pattern on the zone's hostnames, e.g. `example.com/*` or `*.example.com/api/*`. */
function buildWorkerRoute(zone: Zone, body: unknown, old: WorkerRoute | undefined, routes: Map<string, WorkerRoute>): WorkerRoute {
  if (!isObject(body) || typeof body.pattern !== 'string' || !body.pattern) throw workerRouteInvalid('pattern is required');
  const host = body.pattern.replace(/^https?:\/\//, '').split('/')[0]!.replace(/^\*\.?/, '');
  if (host !== zone.name && !host.endsWith(`.${zone.name}`)) throw workerRouteInvalid(`the pattern ${body.pattern} does not match the zone ${zone.name}`);
  for (const r of routes.values()) {
    if (r.pattern === body.pattern && r.id !== old?.id) throw workerRouteInvalid(`a route with the pattern ${body.pattern} already exists`);
  }
  return { id: old?.id ?? newId(), pattern: body.pattern, script: typeof body.script === 'string' ? body.script : '' };
}

/** Workers routes of one zone: a pattern must be on the zone and not already routed. */
export function workerRoutes(zone: Zone): Product<WorkerRoute> {
  return { build: (body, old, routes) => buildWorkerRoute(zone, body, old, routes), notFound: workerRouteNotFound };
}
