/**
 * A NetBox REST API simulator for tests, benchmarks and the demo: NetBox 4.7's routes under its BASE_PATH
 * (`/api/<app>/<model>/[<id>/]` with trailing slashes, `/api/status/`, `/api/authentication-check/`,
 * `/graphql/`), v1 and v2 API tokens and object permissions with NetBox's 403 `{"detail": ...}` answers,
 * limit/offset and cursor pagination with absolute URLs built as Django builds them (X-Forwarded-Host and
 * X-Forwarded-Proto), bulk create, update and delete applied all or none, weak ETags and If-Match, and an
 * in-memory database of a few dcim, ipam and extras models. It shares no code with the gateway (nothing under
 * src/), so a gateway test compares two independent readings of the API. sim/README.md lists what is left out.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { applyFilters } from './filters.js';
import { runGraphql } from './graphql.js';
import { modelAt, MODELS, capfirst, type ModelSpec } from './models.js';
import { compare, display, etagOf, nested, pyType, represent, validate, type Errors, type Json, type UrlBase } from './objects.js';
import { DEFAULT_SEED, type NbSeed } from './seed.js';
import { NbState, type Action, type NbRecord, type NbToken, type NbUser, type Stored } from './store.js';

export const NETBOX_VERSION = '4.7.3';

/** The API version NetBox announces in every API answer (settings.REST_FRAMEWORK_VERSION: major.minor). */
const API_VERSION = NETBOX_VERSION.split('.').slice(0, 2).join('.');

/** PAGINATE_COUNT and MAX_PAGE_SIZE defaults (netbox/config/parameters.py). */
const PAGINATE_COUNT = 50;
const MAX_PAGE_SIZE = 1000;

/** The apps whose routers exist; a model the simulator does not have in one of them is an HTML 404 too. */
const APPS = new Set(['circuits', 'core', 'dcim', 'extras', 'ipam', 'tenancy', 'users', 'virtualization', 'vpn', 'wireless', 'plugins']);

/** HTTP method -> the object permission action it needs (netbox/api/viewsets HTTP_ACTIONS, TokenPermissions). */
const ACTIONS: Record<string, Action> = { GET: 'view', HEAD: 'view', POST: 'add', PUT: 'change', PATCH: 'change', DELETE: 'delete' };

export interface SimRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface NetboxSimOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** NetBox's BASE_PATH: every route is served under `/<basePath>/` (`netbox` or `netbox/`). */
  basePath?: string;
  /** What the simulator starts with; DEFAULT_SEED when absent. */
  seed?: NbSeed;
}

export interface NetboxSim {
  /** The origin and base path, no trailing slash: what pynetbox and a gateway upstream take (`http://127.0.0.1:PORT/netbox`). */
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** `''` or `/<basePath>` */
  basePath: string;
  state: NbState;
  /** Every request received, in order, bodies buffered. */
  requests: SimRequest[];
  clearRequests(): void;
  close(): Promise<void>;
}

/** An answer: a status, headers, and a JSON body (`undefined` for none) or raw HTML. */
interface Answer {
  status: number;
  body?: unknown;
  html?: string;
  headers?: Record<string, string>;
}

class Refusal extends Error {
  constructor(readonly answer: Answer) {
    super(`${answer.status}`);
  }
}

const detail = (status: number, text: string, headers?: Record<string, string>): Refusal => new Refusal({ status, body: { detail: text }, ...(headers ? { headers } : {}) });

const NO_PERMISSION = 'You do not have permission to perform this action.';

/** Django's 404 page (DEBUG off): HTML, not JSON, for any path no route matches. */
const NOT_FOUND_HTML = '<!DOCTYPE html>\n<html lang="en">\n<head><title>Page Not Found</title></head>\n<body><h1>Page Not Found</h1><p>The requested page does not exist.</p></body>\n</html>\n';

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The caller: a user and its token, or nobody. */
interface Caller {
  user: NbUser | undefined;
  token: NbToken | undefined;
}

/**
 * Token authentication as netbox/api/authentication.py TokenAuthentication reads the header: the keyword
 * (case-insensitive) `Token` or `Bearer`, anything else is ignored (the request is anonymous); the token's version
 * comes from the `nbt_` prefix. Failures are 403, never 401: SessionAuthentication comes first in
 * DEFAULT_AUTHENTICATION_CLASSES and has no WWW-Authenticate challenge.
 */
function authenticate(header: string | undefined, state: NbState): Caller | string {
  const parts = (header ?? '').trim().split(/\s+/).filter(Boolean);
  if (!parts.length || !['token', 'bearer'].includes(parts[0]!.toLowerCase())) return { user: undefined, token: undefined };
  if (parts.length !== 2) return 'Invalid authorization header: Must be in the form "Bearer <key>.<token>" or "Token <token>"';
  const value = parts[1]!;
  const version = value.startsWith('nbt_') ? 2 : 1;
  if (version === 2 && !value.includes('.')) {
    return "Invalid authorization header: Could not parse key from v2 token. Did you mean to use 'Token' instead of 'Bearer'?";
  }
  const token = state.tokens.get(value);
  const user = token && state.users.get(token.user);
  if (!token || !user || (version === 1) !== !value.startsWith('nbt_')) return `Invalid v${version} token`;
  return { user, token };
}

function may(user: NbUser, action: Action, model: ModelSpec): boolean {
  return user.superuser || user.permissions.some((p) => p.actions.includes(action) && p.objectTypes.includes(model.objectType));
}

/** `replace_query_param` / `remove_query_param` of Django REST framework: the query rebuilt with its keys sorted. */
function withQuery(base: string, query: URLSearchParams, set: Record<string, string | undefined>): string {
  const q = new URLSearchParams(query);
  for (const [k, v] of Object.entries(set)) {
    q.delete(k);
    if (v !== undefined) q.set(k, v);
  }
  q.sort();
  const text = q.toString();
  return text ? `${base}?${text}` : base;
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v) : undefined;
}

export async function startNetboxSim(opts: NetboxSimOptions = {}): Promise<NetboxSim> {
  const state = new NbState();
  const basePath = opts.basePath ? `/${opts.basePath.replace(/^\/+|\/+$/g, '')}` : '';
  applySeed(state, opts.seed ?? DEFAULT_SEED);
  const requests: SimRequest[] = [];

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    readBody(req)
      .then((body) => {
        requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
        let answer: Answer;
        try {
          answer = handle(req, body);
        } catch (err) {
          if (!(err instanceof Refusal)) throw err;
          answer = err.answer;
        }
        send(req, res, answer);
      })
      .catch((err: unknown) => {
        if (res.headersSent) res.destroy();
        else send(req, res, { status: 500, html: `<h1>Server Error (500)</h1>\n<!-- ${String(err)} -->\n` });
      });
  };

  function send(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
    const headers: Record<string, string | number> = { 'X-Request-ID': randomUUID(), ...answer.headers };
    let text = '';
    if (answer.html !== undefined) {
      headers['Content-Type'] = 'text/html; charset=utf-8';
      text = answer.html;
    } else if (answer.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['API-Version'] = API_VERSION;
      text = JSON.stringify(answer.body);
    }
    if (answer.status !== 204 && answer.status !== 304) headers['Content-Length'] = Buffer.byteLength(text);
    res.writeHead(answer.status, headers);
    res.end(req.method === 'HEAD' || answer.status === 204 ? undefined : text);
  }

  /**
   * Where the client reached NetBox: Django's request.build_absolute_uri() with NetBox's USE_X_FORWARDED_HOST
   * and SECURE_PROXY_SSL_HEADER (X-Forwarded-Proto: https); the first X-Forwarded-Host value, else Host.
   */
  function urlBase(req: IncomingMessage): UrlBase {
    const forwardedHost = req.headers['x-forwarded-host'];
    const host = (typeof forwardedHost === 'string' ? forwardedHost.split(',')[0]!.trim() : undefined) || req.headers.host || 'localhost';
    const proto = req.headers['x-forwarded-proto'] === 'https' || 'encrypted' in req.socket ? 'https' : 'http';
    return { origin: `${proto}://${host}`, basePath };
  }

  function handle(req: IncomingMessage, raw: Buffer): Answer {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return { status: 400, html: '<h1>Bad Request (400)</h1>' };
    }
    if (basePath && path !== basePath && !path.startsWith(`${basePath}/`)) return { status: 404, html: NOT_FOUND_HTML };
    const rel = path.slice(basePath.length) || '/';
    const route = routeOf(rel);
    if (!route) {
      // Django's APPEND_SLASH (CommonMiddleware): a path that resolves with a "/" more is redirected there, for
      // every method (only DEBUG refuses to redirect a POST, PUT or PATCH).
      if (!rel.endsWith('/') && routeOf(`${rel}/`)) return { status: 301, headers: { Location: `${url.pathname}/${url.search}` } };
      return { status: 404, html: NOT_FOUND_HTML };
    }
    const base = urlBase(req);
    const auth = authenticate(req.headers.authorization, state);
    if (route.kind === 'graphql') return graphql(method, raw, req, auth);
    if (typeof auth === 'string') throw detail(403, auth);
    if (!auth.user) throw detail(403, 'Authentication credentials were not provided.');
    const caller = { user: auth.user, token: auth.token };
    if (route.kind === 'root' || route.kind === 'status' || route.kind === 'authcheck') {
      if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') throw detail(405, `Method "${method}" not allowed.`);
      if (route.kind === 'status') return { status: 200, body: status() };
      if (route.kind === 'authcheck') return { status: 200, body: userOf(base, caller.user) };
      return { status: 200, body: Object.fromEntries([...APPS].map((a) => [a, `${base.origin}${basePath}/api/${a}/`]).concat([['status', `${base.origin}${basePath}/api/status/`]])) };
    }
    const { model, id } = route;
    if (method === 'OPTIONS') return { status: 200, body: { name: `${capfirst(model.verboseName)} ${id === undefined ? 'List' : 'Instance'}`, renders: ['application/json'], parses: ['application/json', 'multipart/form-data'] } };
    const action = ACTIONS[method];
    if (!action) throw detail(405, `Method "${method}" not allowed.`);
    if (id !== undefined && method === 'POST') throw detail(405, 'Method "POST" not allowed.');
    // A token with writes disabled may not write; the user needs the model's permission for the action.
    if (action !== 'view' && caller.token && !caller.token.writeEnabled) throw detail(403, NO_PERMISSION);
    if (!may(caller.user, action, model)) throw detail(403, NO_PERMISSION);
    if (method === 'GET' || method === 'HEAD') return id === undefined ? list(model, base, url.searchParams) : retrieve(model, base, id, url.searchParams);
    const body = parse(req, raw);
    if (id === undefined) {
      if (method === 'POST') return Array.isArray(body) ? bulkCreate(model, base, body) : create(model, base, body);
      if (!Array.isArray(body)) throw new Refusal({ status: 400, body: { non_field_errors: [`Expected a list of items but got type "${pyType(body)}".`] } });
      return method === 'DELETE' ? bulkDelete(model, body) : bulkUpdate(model, base, body, method === 'PATCH');
    }
    const rec = state.get(model, id);
    if (!rec) throw notFound(model);
    checkIfMatch(req, rec);
    if (method === 'DELETE') {
      remove(model, [rec]);
      return { status: 204 };
    }
    const result = validate(state, model, body, rec, method === 'PATCH');
    if ('errors' in result) throw new Refusal({ status: 400, body: result.errors });
    rec.values = result.values;
    rec.last_updated = state.stamp();
    return { status: 200, body: represent(state, base, model, rec), headers: { ETag: etagOf(rec) } };
  }

  type Route = { kind: 'root' } | { kind: 'status' } | { kind: 'authcheck' } | { kind: 'graphql' } | { kind: 'object'; model: ModelSpec; id: number | undefined };

  /** The route `rel` (under the base path) names, as NetBox's URL patterns and DRF routers resolve it. */
  function routeOf(rel: string): Route | undefined {
    if (rel === '/api/') return { kind: 'root' };
    if (rel === '/api/status/') return { kind: 'status' };
    if (rel === '/api/authentication-check/') return { kind: 'authcheck' };
    if (rel === '/graphql/') return { kind: 'graphql' };
    const m = /^\/api\/([^/]+)\/([^/]+)\/(?:([^/.]+)\/)?$/.exec(rel);
    if (!m || !APPS.has(m[1]!)) return undefined;
    const model = modelAt(m[1]!, m[2]!);
    if (!model) return undefined;
    // DRF's lookup `[^/.]+` routes any pk; get_object() answers 404 for one that is not an integer (Django's
    // IntegerField reads "012" as 12).
    if (m[3] === undefined) return { kind: 'object', model, id: undefined };
    return { kind: 'object', model, id: /^\d+$/.test(m[3]) ? Number(m[3]) : -1 };
  }

  function notFound(model: ModelSpec): Refusal {
    return detail(404, `No ${capfirst(model.verboseName)} matches the given query.`);
  }

  /** If-Match on a single update or delete (RFC 9110 §13.1.1; NetBox ETagMixin._validate_etag): 412 with the current ETag. */
  function checkIfMatch(req: IncomingMessage, rec: NbRecord): void {
    const header = req.headers['if-match'];
    if (!header || header === '*') return;
    const current = etagOf(rec);
    if (!header.split(',').map((e) => e.trim()).includes(current)) throw detail(412, 'Precondition failed.', { ETag: current });
  }

  /**
   * The request body as Django REST framework's JSONParser reads it: 415 for another media type, 400 for bad JSON;
   * an empty body is `{}` (a DELETE carries none).
   */
  function parse(req: IncomingMessage, raw: Buffer): Json {
    if (raw.length === 0) return {};
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && !type.endsWith('+json')) throw detail(415, `Unsupported media type "${req.headers['content-type'] ?? ''}" in request.`);
    try {
      return JSON.parse(raw.toString('utf8')) as Json;
    } catch (err) {
      throw detail(400, `JSON parse error - ${(err as Error).message}`);
    }
  }

  function list(model: ModelSpec, base: UrlBase, query: URLSearchParams): Answer {
    const filtered = applyFilters(state, model, query, state.all(model));
    if (!Array.isArray(filtered)) throw new Refusal({ status: 400, body: filtered });
    const sorted = filtered.sort(compare(model));
    const self = `${base.origin}${basePath}/api/${model.key}/`;
    // netbox/api/pagination.py NetBoxPagination.get_limit: the default page, or ?limit up to MAX_PAGE_SIZE (0 = the maximum).
    const asked = intParam(query, 'limit');
    const limit = asked === undefined ? PAGINATE_COUNT : asked === 0 ? MAX_PAGE_SIZE : Math.min(asked, MAX_PAGE_SIZE);
    const brief = Boolean(query.get('brief'));
    const show = (r: NbRecord): Json => (brief ? nested(state, base, model, r) : represent(state, base, model, r));
    if (query.has('start')) {
      // Cursor pagination: pk >= start, by pk, no count, forward only.
      const start = intParam(query, 'start');
      if (start === undefined) throw new Refusal({ status: 400, body: ["Invalid 'start' parameter: must be a non-negative integer."] });
      if (query.has('offset')) throw new Refusal({ status: 400, body: ["'start' and 'offset' are mutually exclusive."] });
      const page = sorted.filter((r) => r.id >= start).sort((a, b) => a.id - b.id).slice(0, limit);
      const next = page.length < limit ? null : withQuery(self, query, { start: String(page[page.length - 1]!.id + 1), limit: String(limit), offset: undefined });
      return { status: 200, body: { count: null, next, previous: null, results: page.map(show) } };
    }
    const offset = intParam(query, 'offset') ?? 0;
    const count = sorted.length;
    const page = sorted.slice(offset, offset + limit);
    // Django REST framework's LimitOffsetPagination links.
    const next = offset + limit >= count ? null : withQuery(self, query, { limit: String(limit), offset: String(offset + limit) });
    const previous = offset <= 0 ? null : withQuery(self, query, { limit: String(limit), offset: offset - limit <= 0 ? undefined : String(offset - limit) });
    return { status: 200, body: { count, next, previous, results: page.map(show) } };
  }

  function retrieve(model: ModelSpec, base: UrlBase, id: number, query: URLSearchParams): Answer {
    const rec = state.get(model, id);
    if (!rec) throw notFound(model);
    return { status: 200, body: query.get('brief') ? nested(state, base, model, rec) : represent(state, base, model, rec), headers: { ETag: etagOf(rec) } };
  }

  function insert(model: ModelSpec, values: Record<string, Stored>): NbRecord {
    const stamp = state.stamp();
    const rec: NbRecord = { id: state.nextId(model), created: stamp, last_updated: stamp, values };
    state.table(model).set(rec.id, rec);
    return rec;
  }

  function create(model: ModelSpec, base: UrlBase, body: Json): Answer {
    const result = validate(state, model, body, undefined, false);
    if ('errors' in result) throw new Refusal({ status: 400, body: result.errors });
    const rec = insert(model, result.values);
    return { status: 201, body: represent(state, base, model, rec), headers: { ETag: etagOf(rec) } };
  }

  /**
   * Runs `write` on the database and keeps its changes only if it returns without a refusal: NetBox applies a bulk
   * write in one transaction (transaction.atomic), all or none.
   */
  function atomically<T>(write: () => T): T {
    const before = state.snapshot();
    try {
      return write();
    } catch (err) {
      state.restore(before);
      throw err;
    }
  }

  /** A list body on POST: every element is validated; any error answers 400 with one entry per element (`{}` when valid). */
  function bulkCreate(model: ModelSpec, base: UrlBase, body: Json[]): Answer {
    return atomically(() => {
      const errors: Errors[] = [];
      const created: NbRecord[] = [];
      for (const el of body) {
        const result = validate(state, model, el, undefined, false);
        if ('errors' in result) errors.push(result.errors);
        else {
          errors.push({});
          created.push(insert(model, result.values));
        }
      }
      if (errors.some((e) => Object.keys(e).length)) throw new Refusal({ status: 400, body: errors });
      return { status: 201, body: created.sort((a, b) => a.id - b.id).map((r) => represent(state, base, model, r)) };
    });
  }

  /** BulkOperationSerializer: each element needs an integer `id` (`12`, `"12"`); errors answer one entry per element. */
  function bulkIds(body: Json[]): number[] {
    const errors = body.map((el): Errors => {
      if (typeof el !== 'object' || el === null || Array.isArray(el)) return { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] };
      if (!('id' in el)) return { id: ['This field is required.'] };
      const id = el.id;
      if ((typeof id === 'number' && Number.isInteger(id)) || (typeof id === 'string' && /^\s*\d+\s*$/.test(id))) return {};
      return { id: ['A valid integer is required.'] };
    });
    if (errors.some((e) => Object.keys(e).length)) throw new Refusal({ status: 400, body: errors });
    return body.map((el) => Number((el as { id: Json }).id));
  }

  /**
   * PUT or PATCH of the list endpoint: the objects named by `id` (ids that name no object are skipped, as the
   * queryset filter skips them) are updated in the model's order; the first invalid one answers 400 with its errors
   * and nothing is stored.
   */
  function bulkUpdate(model: ModelSpec, base: UrlBase, body: Json[], partial: boolean): Answer {
    const ids = bulkIds(body);
    const data = new Map(ids.map((id, i) => [id, body[i]!]));
    return atomically(() => {
      const targets = state.all(model).filter((r) => data.has(r.id)).sort(compare(model));
      for (const rec of targets) {
        const result = validate(state, model, data.get(rec.id)!, rec, partial);
        if ('errors' in result) throw new Refusal({ status: 400, body: result.errors });
        rec.values = result.values;
        rec.last_updated = state.stamp();
      }
      return { status: 200, body: targets.map((r) => represent(state, base, model, r)) };
    });
  }

  function bulkDelete(model: ModelSpec, body: Json[]): Answer {
    const ids = new Set(bulkIds(body));
    return atomically(() => {
      remove(model, state.all(model).filter((r) => ids.has(r.id)));
      return { status: 204 };
    });
  }

  /**
   * Deletes objects as Django's collector does: a PROTECT relation from another object refuses the delete with 409
   * and the objects that depend on it (NetBoxModelViewSet.dispatch); SET_NULL relations are cleared; tags are
   * taken off the objects that carry them.
   */
  function remove(model: ModelSpec, recs: NbRecord[]): void {
    const ids = new Set(recs.map((r) => r.id));
    const dependents: string[] = [];
    for (const other of Object.values(MODELS)) {
      for (const [field, spec] of Object.entries(other.fields)) {
        if (spec.kind !== 'fk' || spec.model !== model.key || spec.onDelete !== 'protect') continue;
        for (const r of state.all(other)) if (ids.has(r.values[field] as number) && !(other === model && ids.has(r.id))) dependents.push(`${display(state, other, r)} (${r.id})`);
      }
    }
    if (dependents.length) throw detail(409, `Unable to delete object. ${dependents.length} dependent objects were found: ${dependents.join(', ')}`);
    for (const other of Object.values(MODELS)) {
      for (const r of state.all(other)) {
        for (const [field, spec] of Object.entries(other.fields)) {
          if (spec.kind === 'fk' && spec.model === model.key && ids.has(r.values[field] as number)) r.values[field] = null;
          if (spec.kind === 'tags' && model.key === 'extras/tags') r.values[field] = (r.values[field] as number[]).filter((t) => !ids.has(t));
        }
      }
    }
    for (const id of ids) state.table(model).delete(id);
  }

  /** GET /api/status/ (netbox/api/views.py StatusView). */
  function status(): Record<string, Json> {
    return {
      'django-version': '6.1',
      hostname: 'netbox-sim',
      installed_apps: {},
      'netbox-version': NETBOX_VERSION,
      'netbox-full-version': `${NETBOX_VERSION}-Community`,
      plugins: {},
      'python-version': '3.12.1',
      'rq-workers-running': 0,
    };
  }

  /** The caller as GET /api/authentication-check/ answers it (users.api UserSerializer). */
  function userOf(base: UrlBase, user: NbUser): Record<string, Json> {
    return {
      id: user.id,
      url: `${base.origin}${basePath}/api/users/users/${user.id}/`,
      display_url: `${base.origin}${basePath}/users/users/${user.id}/`,
      display: user.username,
      username: user.username,
      first_name: '',
      last_name: '',
      email: '',
      is_active: true,
      date_joined: '2026-01-01T00:00:00Z',
      last_login: null,
      groups: user.groups.map((name, i) => ({ id: i + 1, url: `${base.origin}${basePath}/api/users/groups/${i + 1}/`, display: name, name, description: '' })),
      permissions: [],
    };
  }

  /**
   * POST /graphql/ (netbox/graphql/views.py NetBoxGraphQLView): a token failure is a plain-text 403 with DRF's
   * message, no credentials a plain-text 403 "No credentials provided."; the document is run with every queryset
   * restricted to what the user may view.
   */
  function graphql(method: string, raw: Buffer, req: IncomingMessage, auth: Caller | string): Answer {
    if (typeof auth === 'string') return { status: 403, html: auth };
    if (!auth.user) return { status: 403, html: 'No credentials provided.' };
    if (method !== 'POST') return { status: 405, html: '' };
    const user = auth.user;
    let request: Json;
    try {
      request = parse(req, raw);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      return { status: 400, body: { data: null, errors: [{ message: 'Unable to parse request body as JSON' }] } };
    }
    const doc = typeof request === 'object' && request !== null && !Array.isArray(request) ? request : {};
    return { status: 200, body: runGraphql(state, doc, (m) => (may(user, 'view', m) ? state.all(m) : [])) };
  }

  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${opts.tls ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${port}`;
  return {
    url: `${origin}${basePath}`,
    origin,
    basePath,
    state,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Fills a fresh database: users, tokens, then each model's objects in order, validated as writes are. */
function applySeed(state: NbState, seed: NbSeed): void {
  seed.users.forEach((u, i) => state.users.set(u.username, { id: i + 1, username: u.username, superuser: u.superuser ?? false, permissions: u.permissions ?? [], groups: u.groups ?? [] }));
  for (const [token, spec] of Object.entries(seed.tokens)) state.tokens.set(token, { user: spec.user, writeEnabled: spec.writeEnabled ?? true });
  for (const [key, objects] of Object.entries(seed.objects) as [keyof typeof MODELS, Record<string, Json>[]][]) {
    const model = MODELS[key];
    for (const body of objects) {
      const result = validate(state, model, body, undefined, false);
      if ('errors' in result) throw new Error(`netbox sim seed: ${key} ${JSON.stringify(body)}: ${JSON.stringify(result.errors)}`);
      const stamp = state.stamp();
      const rec: NbRecord = { id: state.nextId(model), created: stamp, last_updated: stamp, values: result.values };
      state.table(model).set(rec.id, rec);
    }
  }
}

