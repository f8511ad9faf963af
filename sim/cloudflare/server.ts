/**
 * A Cloudflare API v4 simulator for tests, benchmarks and the demo: the real
 * paths under /client/v4, the `{success, errors, messages, result}`
 * envelopes with page/per_page pagination, Cloudflare's authentication
 * schemes and error codes, and an in-memory account with zones, DNS records,
 * rulesets, firewall and page rules, Access applications and Workers routes.
 * It shares no code with the gateway, so a gateway test compares two
 * independent readings of the API. See sim/README.md for what is left out.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { authenticate, authorize, bearerOf, canSee, type CfKey, type CfToken, type Principal } from './auth.js';
import { batch, createRecord, deleteRecord, filterRecords, patchRecord, putRecord } from './dns.js';
import {
  accountRequired,
  authenticationError,
  CfError,
  failure,
  invalidApiToken,
  invalidZoneName,
  malformedJson,
  methodNotAllowed,
  noRoute,
  ok,
  recordNotFound,
  zoneExists,
  type Envelope,
} from './envelope.js';
import * as products from './products.js';
import {
  addRule,
  createRuleset,
  deleteRule,
  deleteRuleset,
  editRule,
  getEntrypoint,
  getRuleset,
  listRulesets,
  PHASES,
  putEntrypoint,
  updateRuleset,
} from './rulesets.js';
import { applySeed, DEFAULT_SEED, newZone, type CfSeed } from './seed.js';
import { CfState, isId, type Scope, type Zone } from './store.js';

export const API_PREFIX = '/client/v4';

/** A token the simulator accepts when no `tokens` are given: 40 characters, as Cloudflare's are. */
export const DEFAULT_TOKEN = 'wgsim-cloudflare-token-0000000000000000a';

/** The id `GET /user/tokens/verify` answers for a token configured without one. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}

export interface SimRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface CloudflareSimOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Serve HTTPS (the Cloudflare terraform provider v4 speaks only https). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** API tokens (40 characters of [A-Za-z0-9_-]); `{[DEFAULT_TOKEN]: ...}` when absent. */
  tokens?: Record<string, Partial<CfToken>>;
  /** Global API keys for the X-Auth-Email / X-Auth-Key scheme. */
  keys?: CfKey[];
  /** What the simulator starts with; DEFAULT_SEED when absent, nothing with `false`. */
  seed?: CfSeed | false;
}

export interface CloudflareSim {
  /** The server's origin, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** The API base URL to give a client: `${url}/client/v4`. */
  apiUrl: string;
  state: CfState;
  /** Every request received, in order, bodies buffered. */
  requests: SimRequest[];
  clearRequests(): void;
  close(): Promise<void>;
}

interface Ctx {
  method: string;
  /** The path as the client sent it, for the 7003 message. */
  fullPath: string;
  query: URLSearchParams;
  principal: Principal;
  json(): unknown;
}

/** An answer; no body is a 204. */
type Answer = { status: number; body?: Envelope | Pick<Envelope, 'success' | 'errors'> };

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** page/per_page with Cloudflare's defaults and bounds per endpoint. */
interface Paging {
  def: number;
  min: number;
  max: number;
}

/** Zones and accounts: per_page 5..50, default 20 (API reference, List Zones / List Accounts). */
const ZONES_PAGING: Paging = { def: 20, min: 5, max: 50 };
/** DNS records: default 100 (API reference, List DNS Records); the upper bound is ours. */
const DNS_PAGING: Paging = { def: 100, min: 5, max: 5_000_000 };
/** Firewall rules: per_page 5..100, default 25 (API reference, List firewall rules). */
const FIREWALL_PAGING: Paging = { def: 25, min: 5, max: 100 };
/** Access applications: unverified bounds. */
const ACCESS_PAGING: Paging = { def: 25, min: 1, max: 1000 };

/**
 * One page of `items` and its `result_info`. A page past the end is empty,
 * not an error: the SDK's auto-pager asks for the next page until one comes
 * back empty (cloudflare@7 core/pagination.ts, V4PagePaginationArray).
 * Unverified: whether Cloudflare clamps an out-of-range per_page or refuses it;
 * this clamps. `total_pages` is 1 for an empty list, as Cloudflare answers.
 */
function paginate<T>(items: T[], q: URLSearchParams, rule: Paging): Envelope {
  const int = (v: string | null) => (v !== null && /^\d+$/.test(v) ? Number(v) : undefined);
  const page = Math.max(1, int(q.get('page')) ?? 1);
  const perPage = Math.min(rule.max, Math.max(rule.min, int(q.get('per_page')) ?? rule.def));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    ...ok(slice),
    result_info: { page, per_page: perPage, count: slice.length, total_count: items.length, total_pages: Math.max(1, Math.ceil(items.length / perPage)) },
  };
}

/**
 * The zones list `name` filter: a name, or `<operator>:<value>` with the
 * operators of the API reference (List Zones): equal, not_equal, starts_with,
 * ends_with, contains, and the `_case_sensitive` variants of the last three.
 */
function zoneNameTest(filter: string): (z: { name: string }) => boolean {
  const m = /^(equal|not_equal|starts_with|ends_with|contains)(_case_sensitive)?:(.*)$/.exec(filter);
  if (!m) return (z) => z.name === filter.toLowerCase();
  const [, op, sensitive, raw] = m;
  const fold = (v: string) => (sensitive ? v : v.toLowerCase());
  const want = fold(raw!);
  switch (op) {
    case 'equal':
      return (z) => fold(z.name) === want;
    case 'not_equal':
      return (z) => fold(z.name) !== want;
    case 'starts_with':
      return (z) => fold(z.name).startsWith(want);
    case 'ends_with':
      return (z) => fold(z.name).endsWith(want);
    default:
      return (z) => fold(z.name).includes(want);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store, no-cache, must-revalidate, post-check=0, pre-check=0',
    // Every Cloudflare answer carries a ray id; clients log it.
    'cf-ray': `${randomBytes(8).toString('hex')}-SIM`,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const okAnswer = (result: unknown, status = 200): Answer => ({ status, body: ok(result) });

interface CollectionOptions {
  /** Listed in pages with result_info; listed whole without. */
  paging?: Paging;
  /** POST takes an array of objects (or one) and answers with the array. */
  createMany?: boolean;
  /** The route serves PATCH. */
  patch?: boolean;
  /** Item ids are UUIDs rather than 32 hex digits. */
  uuidIds?: boolean;
  createStatus?: number;
  deleteStatus?: number;
}

export async function startCloudflareSim(opts: CloudflareSimOptions = {}): Promise<CloudflareSim> {
  const state = new CfState();
  if (opts.seed !== false) applySeed(state, opts.seed ?? DEFAULT_SEED);
  // A token's id is 32 hex digits of its own, derived from it so that tests can predict it.
  const tokens = new Map<string, CfToken>(
    Object.entries(opts.tokens ?? { [DEFAULT_TOKEN]: {} }).map(([t, spec]) => [t, { ...spec, id: spec.id ?? tokenId(t) }]),
  );
  const keys = opts.keys ?? [];
  const requests: SimRequest[] = [];

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    readBody(req)
      .then((body) => {
        requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
        const answer = handle(req, body);
        if (answer?.body) send(res, answer.status, answer.body);
        else if (answer) {
          res.writeHead(answer.status);
          res.end();
        } else {
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end('not found');
        }
      })
      .catch((err: unknown) => {
        if (res.headersSent) res.destroy();
        else if (err instanceof CfError) send(res, err.status, failure(err));
        else send(res, 500, failure(new CfError(500, [{ code: 10001, message: String(err) }])));
      });
  };

  /** The answer to one request; undefined outside /client/v4. Throws CfError for error answers. */
  function handle(req: IncomingMessage, raw: Buffer): Answer | undefined {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) return undefined;
    const method = (req.method ?? 'GET').toUpperCase();
    let segs: string[];
    try {
      segs = url.pathname.slice(API_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw noRoute(url.pathname);
    }

    if (segs.join('/') === 'user/tokens/verify') return verifyToken(req, method);

    const ctx: Ctx = {
      method,
      fullPath: url.pathname,
      query: url.searchParams,
      principal: authenticate(req, tokens, keys),
      json: () => {
        try {
          return raw.length ? JSON.parse(raw.toString('utf8')) : {};
        } catch {
          throw malformedJson();
        }
      },
    };
    const [top, id, ...rest] = segs;
    if (top === 'zones') return id === undefined ? zonesCollection(ctx) : zoneRoutes(ctx, id, rest);
    if (top === 'accounts') return id === undefined ? accountsCollection(ctx) : accountRoutes(ctx, id, rest);
    throw noRoute(ctx.fullPath);
  }

  /**
   * GET /user/tokens/verify: the token's id and status, with the message
   * Cloudflare sends (seen: 10000 "This API Token is valid and active",
   * putyourlightson/craft-cloudflare#88).
   */
  function verifyToken(req: IncomingMessage, method: string): Answer {
    if (method !== 'GET') throw methodNotAllowed(method);
    const token = bearerOf(req);
    const known = token === undefined ? undefined : tokens.get(token);
    if (!known) throw invalidApiToken();
    return {
      status: 200,
      body: {
        ...ok({ id: known.id, status: known.status ?? 'active' }),
        messages: [{ code: 10000, message: 'This API Token is valid and active', type: null }],
      },
    };
  }

  function allow(ctx: Ctx, zone?: Zone): void {
    authorize(ctx.principal, WRITE.has(ctx.method), zone);
  }

  // --- accounts --------------------------------------------------------------------------------

  function accountsCollection(ctx: Ctx): Answer {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx.method);
    allow(ctx);
    const name = ctx.query.get('name');
    const all = [...state.accounts.values()].filter((a) => name === null || a.name.toLowerCase().includes(name.toLowerCase()));
    return { status: 200, body: paginate(all, ctx.query, ZONES_PAGING) };
  }

  /**
   * An id that is not 32 hex digits does not route (400 7003); a well-formed
   * one that names nothing the caller may use is 403 10000, as for an id of
   * someone else's zone or account.
   */
  function unknownId(ctx: Ctx, id: string): CfError {
    return isId(id) ? authenticationError() : noRoute(ctx.fullPath);
  }

  function accountRoutes(ctx: Ctx, id: string, rest: string[]): Answer {
    const account = state.accounts.get(id);
    if (!account) throw unknownId(ctx, id);
    const scope: Scope = `accounts/${account.id}`;
    if (rest.length === 0) {
      allow(ctx);
      if (ctx.method === 'GET') return okAnswer(account);
      if (ctx.method === 'PUT') {
        const body = ctx.json() as { name?: unknown; settings?: unknown };
        if (typeof body.name === 'string' && body.name) account.name = body.name;
        if (body.settings && typeof body.settings === 'object') Object.assign(account.settings, body.settings);
        return okAnswer(account);
      }
      throw methodNotAllowed(ctx.method);
    }
    if (rest[0] === 'rulesets') return rulesetRoutes(ctx, scope, rest.slice(1));
    if (rest[0] === 'access' && rest[1] === 'apps') return accessRoutes(ctx, scope, rest.slice(2));
    throw noRoute(ctx.fullPath);
  }

  // --- zones ------------------------------------------------------------------------------------

  function zonesCollection(ctx: Ctx): Answer {
    allow(ctx);
    if (ctx.method === 'GET') {
      const q = ctx.query;
      const tests: ((z: Zone) => boolean)[] = [];
      const name = q.get('name');
      if (name !== null) tests.push(zoneNameTest(name));
      const status = q.get('status');
      if (status !== null) tests.push((z) => z.status === status);
      const accountId = q.get('account.id');
      if (accountId !== null) tests.push((z) => z.account.id === accountId);
      const accountName = q.get('account.name');
      if (accountName !== null) tests.push((z) => z.account.name === accountName);
      const any = q.get('match') === 'any';
      let zones = [...state.zones.values()].filter((z) => canSee(ctx.principal, z));
      if (tests.length) zones = zones.filter((z) => (any ? tests.some((t) => t(z)) : tests.every((t) => t(z))));
      const order = q.get('order');
      if (order === 'name' || order === 'status' || order === 'account.id' || order === 'account.name') {
        const key = (z: Zone) => (order === 'name' ? z.name : order === 'status' ? z.status : order === 'account.id' ? z.account.id : z.account.name);
        const dir = q.get('direction') === 'desc' ? -1 : 1;
        zones = [...zones].sort((a, b) => dir * key(a).localeCompare(key(b)));
      }
      return { status: 200, body: paginate(zones, q, ZONES_PAGING) };
    }
    if (ctx.method === 'POST') {
      const body = ctx.json() as { name?: unknown; account?: { id?: unknown }; type?: unknown };
      const accountId = body.account?.id;
      if (typeof accountId !== 'string') throw accountRequired();
      const account = state.accounts.get(accountId);
      if (!account) throw authenticationError();
      const name = typeof body.name === 'string' ? body.name.toLowerCase().replace(/\.$/, '') : '';
      if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(name)) throw invalidZoneName(name);
      if (state.zoneByName(name)) throw zoneExists(name);
      const type = body.type === 'partial' || body.type === 'secondary' || body.type === 'internal' ? body.type : 'full';
      // A new zone waits for its name servers to change: `pending` until then (API reference, Create Zone).
      const zone = newZone(name, account, { type, status: 'pending' });
      state.zones.set(zone.id, zone);
      return okAnswer(zone);
    }
    throw methodNotAllowed(ctx.method);
  }

  function zoneRoutes(ctx: Ctx, id: string, rest: string[]): Answer {
    const zone = state.zones.get(id);
    if (!zone) throw unknownId(ctx, id);
    allow(ctx, zone);
    const scope: Scope = `zones/${zone.id}`;
    const [sub, ...more] = rest;
    if (sub === undefined) return zoneItself(ctx, zone);
    if (sub === 'dns_records') return dnsRoutes(ctx, zone, more);
    if (sub === 'rulesets') return rulesetRoutes(ctx, scope, more);
    if (sub === 'firewall' && more[0] === 'rules') return firewallRoutes(ctx, zone, more.slice(1));
    if (sub === 'pagerules') return pageRuleRoutes(ctx, zone, more);
    if (sub === 'access' && more[0] === 'apps') return accessRoutes(ctx, scope, more.slice(1));
    if (sub === 'workers' && more[0] === 'routes') return workerRoutes(ctx, zone, more.slice(1));
    throw noRoute(ctx.fullPath);
  }

  function zoneItself(ctx: Ctx, zone: Zone): Answer {
    if (ctx.method === 'GET') return okAnswer(zone);
    if (ctx.method === 'PATCH') {
      const body = ctx.json() as { paused?: unknown; type?: unknown; vanity_name_servers?: unknown };
      if (typeof body.paused === 'boolean') zone.paused = body.paused;
      if (body.type === 'full' || body.type === 'partial' || body.type === 'secondary' || body.type === 'internal') zone.type = body.type;
      if (Array.isArray(body.vanity_name_servers)) zone.vanity_name_servers = body.vanity_name_servers.map(String);
      zone.modified_on = new Date().toISOString();
      return okAnswer(zone);
    }
    if (ctx.method === 'DELETE') {
      state.zones.delete(zone.id);
      for (const table of [state.records, state.firewallRules, state.pageRules, state.workerRoutes]) table.delete(zone.id);
      state.rulesets.delete(`zones/${zone.id}`);
      state.accessApps.delete(`zones/${zone.id}`);
      return okAnswer({ id: zone.id });
    }
    throw methodNotAllowed(ctx.method);
  }

  // --- DNS records --------------------------------------------------------------------------------

  function dnsRoutes(ctx: Ctx, zone: Zone, rest: string[]): Answer {
    const records = CfState.bucket(state.records, zone.id);
    const [recordId, extra] = rest;
    if (extra !== undefined) throw noRoute(ctx.fullPath);
    if (recordId === undefined) {
      if (ctx.method === 'GET') return { status: 200, body: paginate(filterRecords([...records.values()], ctx.query, zone.name), ctx.query, DNS_PAGING) };
      if (ctx.method === 'POST') return okAnswer(createRecord(records, zone, ctx.json()));
      throw methodNotAllowed(ctx.method);
    }
    if (recordId === 'batch') {
      if (ctx.method !== 'POST') throw methodNotAllowed(ctx.method);
      const done = batch(records, zone, ctx.json());
      state.records.set(zone.id, done.records);
      return okAnswer(done.result);
    }
    // An id that is not 32 hex digits does not route (seen: cloudflare/cloudflare-go#118).
    if (!isId(recordId)) throw noRoute(ctx.fullPath);
    switch (ctx.method) {
      case 'GET': {
        const rec = records.get(recordId);
        if (!rec) throw recordNotFound();
        return okAnswer(rec);
      }
      case 'PUT':
        return okAnswer(putRecord(records, zone, recordId, ctx.json()));
      case 'PATCH':
        return okAnswer(patchRecord(records, zone, recordId, ctx.json()));
      case 'DELETE':
        // A delete answers with the id only (API reference, Delete DNS Record).
        return okAnswer({ id: deleteRecord(records, recordId).id });
      default:
        throw methodNotAllowed(ctx.method);
    }
  }

  // --- rulesets -------------------------------------------------------------------------------------

  function rulesetRoutes(ctx: Ctx, scope: Scope, rest: string[]): Answer {
    const [first, second, third, fourth] = rest;
    if (first === undefined) {
      if (ctx.method === 'GET') return okAnswer(listRulesets(state, scope));
      if (ctx.method === 'POST') return okAnswer(createRuleset(state, scope, asObject(ctx.json())));
      throw methodNotAllowed(ctx.method);
    }
    if (first === 'phases' && second !== undefined && third === 'entrypoint' && fourth === undefined) {
      // An unknown phase is part of a path that does not route.
      if (!PHASES.has(second)) throw noRoute(ctx.fullPath);
      if (ctx.method === 'GET') return okAnswer(getEntrypoint(state, scope, second));
      if (ctx.method === 'PUT') return okAnswer(putEntrypoint(state, scope, second, asObject(ctx.json())));
      throw methodNotAllowed(ctx.method);
    }
    if (!isId(first)) throw noRoute(ctx.fullPath);
    if (second === 'rules' && fourth === undefined) return ruleRoutes(ctx, scope, first, third);
    if (second !== undefined) throw noRoute(ctx.fullPath);
    if (ctx.method === 'GET') return okAnswer(getRuleset(state, scope, first));
    if (ctx.method === 'PUT') return okAnswer(updateRuleset(state, scope, first, asObject(ctx.json())));
    if (ctx.method === 'DELETE') {
      deleteRuleset(state, scope, first);
      // Deleting a ruleset answers 204 with no body (API reference, Delete a ruleset).
      return { status: 204 };
    }
    throw methodNotAllowed(ctx.method);
  }

  /** rulesets/<id>/rules[/<rule id>]: every answer is the whole ruleset (API reference, ruleset rules). */
  function ruleRoutes(ctx: Ctx, scope: Scope, rulesetId: string, ruleId: string | undefined): Answer {
    if (ruleId === undefined) {
      if (ctx.method === 'POST') return okAnswer(addRule(state, scope, rulesetId, asObject(ctx.json())));
      throw methodNotAllowed(ctx.method);
    }
    if (!isId(ruleId)) throw noRoute(ctx.fullPath);
    if (ctx.method === 'PATCH') return okAnswer(editRule(state, scope, rulesetId, ruleId, asObject(ctx.json())));
    if (ctx.method === 'DELETE') return okAnswer(deleteRule(state, scope, rulesetId, ruleId));
    throw methodNotAllowed(ctx.method);
  }

  // --- firewall rules, page rules, Access apps, Workers routes ---------------------------------------------

  /**
   * The routes of a collection: list and create on the collection, get,
   * replace (and merge, where PATCH exists) and delete on an item.
   */
  function collectionRoutes<T extends { id: string }>(ctx: Ctx, rest: string[], col: products.Collection<T>, o: CollectionOptions): Answer {
    const [itemId, extra] = rest;
    if (extra !== undefined) throw noRoute(ctx.fullPath);
    if (itemId === undefined) {
      if (ctx.method === 'GET') return o.paging ? { status: 200, body: paginate([...col.items.values()], ctx.query, o.paging) } : okAnswer([...col.items.values()]);
      if (ctx.method === 'POST') {
        const body = ctx.json();
        return okAnswer(o.createMany ? col.createAll(Array.isArray(body) ? body : [body]) : col.create(body), o.createStatus);
      }
      throw methodNotAllowed(ctx.method);
    }
    if (!(o.uuidIds ? /^[0-9a-f-]{36}$/.test(itemId) : isId(itemId))) throw noRoute(ctx.fullPath);
    if (ctx.method === 'GET') return okAnswer(col.get(itemId));
    if (ctx.method === 'PUT') return okAnswer(col.replace(itemId, ctx.json()));
    if (ctx.method === 'PATCH' && o.patch) return okAnswer(col.merge(itemId, ctx.json()));
    if (ctx.method === 'DELETE') return okAnswer(col.delete(itemId), o.deleteStatus);
    throw methodNotAllowed(ctx.method);
  }

  function firewallRoutes(ctx: Ctx, zone: Zone, rest: string[]): Answer {
    const col = new products.Collection(products.firewallRules, CfState.bucket(state.firewallRules, zone.id));
    // POST answers with the array of created rules; the classic API takes an array, the SDK one rule.
    return collectionRoutes(ctx, rest, col, { paging: FIREWALL_PAGING, createMany: true });
  }

  function pageRuleRoutes(ctx: Ctx, zone: Zone, rest: string[]): Answer {
    const rules = CfState.bucket(state.pageRules, zone.id);
    // Page rules are listed whole, without result_info, highest priority first (the SDK unwraps `result` as an array).
    if (rest.length === 0 && ctx.method === 'GET') return okAnswer([...rules.values()].sort((a, b) => b.priority - a.priority));
    return collectionRoutes(ctx, rest, new products.Collection(products.pageRules, rules), { patch: true });
  }

  function accessRoutes(ctx: Ctx, scope: Scope, rest: string[]): Answer {
    const col = new products.Collection(products.accessApps, CfState.bucket(state.accessApps, scope));
    // Access answers a create with 201 and a delete with 202 (the spec's response codes; unverified here).
    return collectionRoutes(ctx, rest, col, { paging: ACCESS_PAGING, uuidIds: true, createStatus: 201, deleteStatus: 202 });
  }

  function workerRoutes(ctx: Ctx, zone: Zone, rest: string[]): Answer {
    return collectionRoutes(ctx, rest, new products.Collection(products.workerRoutes(zone), CfState.bucket(state.workerRoutes, zone.id)), {});
  }

  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';
  const origin = `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: origin,
    apiUrl: `${origin}${API_PREFIX}`,
    state,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function asObject(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw malformedJson();
  return v as Record<string, unknown>;
}
