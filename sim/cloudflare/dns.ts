/**
 * DNS records: validation, POST/PUT/PATCH/DELETE semantics, list filters and
 * the all-or-none batch, as developers.cloudflare.com/api/resources/dns/
 * subresources/records describes them.
 */
import { isIP } from 'node:net';
import { dnsErrors, recordNotFound } from './envelope.js';
import { isId, newId, now, type DnsRecord, type Zone } from './store.js';

/** The types this simulator validates; Cloudflare has more (CERT, DS, LOC, ...), answered here as invalid. */
const TYPES = new Set(['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT', 'PTR', 'CAA', 'SRV']);
/** Only address and alias records can sit behind Cloudflare's proxy. */
const PROXIABLE = new Set(['A', 'AAAA', 'CNAME']);
/** The fields a client sets; PATCH merges these over the stored record, PUT replaces them all. */
const INPUT_FIELDS = ['type', 'name', 'content', 'ttl', 'proxied', 'comment', 'tags', 'priority', 'data', 'settings'] as const;

/** Documented batch limits per zone plan (dns/manage-dns-records/how-to/batch-record-changes). */
const BATCH_LIMIT = { free: 200, pro: 3500, business: 3500, enterprise: 3500 } as const;

type Body = Record<string, unknown>;

const HOST_LABEL = /^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)$/;

function isHostname(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => HOST_LABEL.test(l));
}

/**
 * The record name as Cloudflare stores it: lowercase, no trailing dot, `@`
 * for the apex, and a name outside the zone taken as relative to it (the
 * dashboard and the API both append the zone name).
 */
function fullName(name: string, zone: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (n === '@' || n === zone) return zone;
  return n.endsWith(`.${zone}`) ? n : `${n}.${zone}`;
}

function asBody(v: unknown): Body {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw dnsErrors.invalidBody();
  return v as Body;
}

/** Optional fields must have their JSON type when present: a string "true" is not a boolean. */
function checkFieldTypes(body: Body): void {
  const optional = (v: unknown, ok: (x: unknown) => boolean) => v === undefined || v === null || ok(v);
  const fine =
    optional(body.proxied, (x) => typeof x === 'boolean') &&
    optional(body.ttl, (x) => typeof x === 'number') &&
    optional(body.comment, (x) => typeof x === 'string') &&
    optional(body.tags, (x) => Array.isArray(x) && x.every((t) => typeof t === 'string')) &&
    optional(body.content, (x) => typeof x === 'string');
  if (!fine) throw dnsErrors.invalidBody();
}

/** The record a body describes, validated for `zone`; `base` keeps id and timestamps on an update. */
function build(body: Body, zone: Zone, base?: DnsRecord): DnsRecord {
  checkFieldTypes(body);
  const type = typeof body.type === 'string' ? body.type.toUpperCase() : '';
  if (!TYPES.has(type)) throw dnsErrors.invalidType();
  if (typeof body.name !== 'string' || !body.name.trim()) throw dnsErrors.invalidName();
  const name = fullName(body.name, zone.name);
  if (!isHostname(name)) throw dnsErrors.invalidName();

  let content = typeof body.content === 'string' ? body.content.trim() : '';
  let priority: number | undefined;
  let data: Record<string, unknown> | undefined;
  switch (type) {
    case 'A':
      if (isIP(content) !== 4) throw content ? dnsErrors.invalidA() : dnsErrors.contentRequired();
      break;
    case 'AAAA':
      if (isIP(content) !== 6) throw content ? dnsErrors.invalidAAAA() : dnsErrors.contentRequired();
      content = content.toLowerCase();
      break;
    case 'CNAME':
    case 'NS':
    case 'PTR':
    case 'MX':
      if (!content) throw dnsErrors.contentRequired();
      if (!isHostname(content.toLowerCase())) throw dnsErrors.invalidTarget(type);
      content = content.toLowerCase().replace(/\.$/, '');
      if (type === 'MX') priority = checkPriority(body.priority);
      break;
    case 'TXT':
      if (!content) throw dnsErrors.contentRequired();
      break;
    case 'CAA':
    case 'SRV': {
      // Structured types: the client sends `data`, Cloudflare derives `content` from it.
      if (body.data === null || typeof body.data !== 'object') throw dnsErrors.contentRequired();
      data = { ...(body.data as Record<string, unknown>) };
      if (type === 'CAA') content = `${Number(data.flags ?? 0)} ${String(data.tag ?? '')} "${String(data.value ?? '')}"`;
      else {
        priority = checkPriority(data.priority);
        content = `${Number(data.weight ?? 0)} ${Number(data.port ?? 0)} ${String(data.target ?? '')}`;
      }
      break;
    }
  }

  const proxied = body.proxied === true;
  if (proxied && !PROXIABLE.has(type)) throw dnsErrors.notProxiable(type);
  const plan = zone.plan.legacy_id;
  // 1 = automatic; otherwise 60..86400, from 30 on Enterprise zones (TTL description in the spec).
  const minTtl = plan === 'enterprise' ? 30 : 60;
  const ttl = body.ttl === undefined || body.ttl === null ? 1 : body.ttl;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || (ttl !== 1 && (ttl < minTtl || ttl > 86400))) throw dnsErrors.invalidTtl(minTtl);

  const tags = Array.isArray(body.tags) ? (body.tags as string[]) : [];
  // Seen: a Free zone answers 9300 "exceeding the quota of 0" for any tag.
  if (plan === 'free' && tags.length > 0) throw dnsErrors.tagQuota(tags.length, 0);
  const comment = typeof body.comment === 'string' ? body.comment : null;

  const t = now();
  const rec: DnsRecord = {
    id: base?.id ?? newId(),
    name,
    type,
    content,
    proxiable: PROXIABLE.has(type),
    proxied,
    ttl,
    settings: body.settings && typeof body.settings === 'object' ? { ...(body.settings as object) } : {},
    meta: {},
    comment,
    tags,
    created_on: base?.created_on ?? t,
    modified_on: t,
  };
  if (priority !== undefined) rec.priority = priority;
  if (data) rec.data = data;
  // `comment_modified_on`/`tags_modified_on` appear once a comment or tags were set (the spec's record response).
  if (comment !== null) rec.comment_modified_on = base && base.comment === comment ? (base.comment_modified_on ?? t) : t;
  if (tags.length) rec.tags_modified_on = base && sameTags(base.tags, tags) ? (base.tags_modified_on ?? t) : t;
  return rec;
}

function sameTags(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function checkPriority(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw dnsErrors.priorityRequired();
  return v;
}

/**
 * Cloudflare refuses a CNAME beside an A, AAAA or CNAME of the same name
 * (81053), an A or AAAA beside a CNAME (81054) and an exact duplicate (81058)
 * (dns/manage-dns-records/troubleshooting/records-with-same-name).
 */
function checkConflicts(records: Map<string, DnsRecord>, rec: DnsRecord): void {
  for (const other of records.values()) {
    if (other.id === rec.id || other.name !== rec.name) continue;
    if (other.type === rec.type && other.content === rec.content && other.priority === rec.priority) throw dnsErrors.identical();
    if (rec.type === 'CNAME' && (other.type === 'A' || other.type === 'AAAA' || other.type === 'CNAME')) throw dnsErrors.hostExists();
    if ((rec.type === 'A' || rec.type === 'AAAA') && other.type === 'CNAME') throw dnsErrors.cnameExists();
  }
}

/** The fields of a stored record that a PATCH body is merged over. */
function inputOf(rec: DnsRecord): Body {
  const out: Body = {};
  for (const f of INPUT_FIELDS) if ((rec as unknown as Body)[f] !== undefined) out[f] = (rec as unknown as Body)[f];
  return out;
}

/** A record id from the path or a batch item: 32 hex digits, and an existing record. */
function existing(records: Map<string, DnsRecord>, id: unknown): DnsRecord {
  const rec = typeof id === 'string' && isId(id) ? records.get(id) : undefined;
  if (!rec) throw recordNotFound();
  return rec;
}

export function createRecord(records: Map<string, DnsRecord>, zone: Zone, body: unknown): DnsRecord {
  const rec = build(asBody(body), zone);
  checkConflicts(records, rec);
  records.set(rec.id, rec);
  return rec;
}

/** PUT: the body is the whole record; anything it leaves out takes its default. */
export function putRecord(records: Map<string, DnsRecord>, zone: Zone, id: string, body: unknown): DnsRecord {
  const old = existing(records, id);
  const rec = build(asBody(body), zone, old);
  checkConflicts(records, rec);
  records.set(rec.id, rec);
  return rec;
}

/** PATCH: the body's fields over the stored ones, then validated as a whole. */
export function patchRecord(records: Map<string, DnsRecord>, zone: Zone, id: string, body: unknown): DnsRecord {
  const old = existing(records, id);
  const patch = asBody(body);
  const merged = { ...inputOf(old), ...patch };
  const rec = build(merged, zone, old);
  checkConflicts(records, rec);
  records.set(rec.id, rec);
  return rec;
}

export function deleteRecord(records: Map<string, DnsRecord>, id: string): DnsRecord {
  const old = existing(records, id);
  records.delete(old.id);
  return old;
}

export interface BatchResult {
  deletes: DnsRecord[];
  patches: DnsRecord[];
  puts: DnsRecord[];
  posts: DnsRecord[];
}

/**
 * POST dns_records/batch. "The operations you specify within the /batch
 * request body are always executed in the following order: Deletes, Patches,
 * Puts, Posts", in one database transaction (API reference, Batch DNS
 * Records). The work is done on a copy that replaces the zone's records only
 * when every operation succeeded, so one failure leaves nothing changed.
 * Unverified: which error a failed batch answers with; this answers the
 * failing operation's own error, as the single-record endpoint would.
 */
export function batch(records: Map<string, DnsRecord>, zone: Zone, body: unknown): { records: Map<string, DnsRecord>; result: BatchResult } {
  const b = asBody(body);
  const lists = { deletes: b.deletes, patches: b.patches, puts: b.puts, posts: b.posts };
  for (const v of Object.values(lists)) if (v !== undefined && !Array.isArray(v)) throw dnsErrors.invalidBody();
  const items = (k: keyof typeof lists) => (lists[k] ?? []) as unknown[];
  const total = items('deletes').length + items('patches').length + items('puts').length + items('posts').length;
  const limit = BATCH_LIMIT[zone.plan.legacy_id];
  if (total > limit) throw dnsErrors.batchTooLarge(limit);

  const work = new Map([...records].map(([id, r]) => [id, structuredClone(r)]));
  const idOf = (item: unknown) => (item && typeof item === 'object' ? (item as Body).id : undefined);
  const withoutId = (item: unknown) => {
    const { id: _id, ...rest } = asBody(item);
    return rest;
  };
  const result: BatchResult = {
    deletes: items('deletes').map((d) => deleteRecord(work, String(idOf(d) ?? ''))),
    patches: items('patches').map((p) => patchRecord(work, zone, String(idOf(p) ?? ''), withoutId(p))),
    puts: items('puts').map((p) => putRecord(work, zone, String(idOf(p) ?? ''), withoutId(p))),
    posts: items('posts').map((p) => createRecord(work, zone, p)),
  };
  return { records: work, result };
}

// --- list filters --------------------------------------------------------------

type Op = 'exact' | 'contains' | 'startswith' | 'endswith';
const OPS: Op[] = ['exact', 'contains', 'startswith', 'endswith'];

function matchOp(value: string, op: Op, want: string): boolean {
  const v = value.toLowerCase();
  const w = want.toLowerCase();
  if (op === 'exact') return v === w;
  if (op === 'contains') return v.includes(w);
  return op === 'startswith' ? v.startsWith(w) : v.endsWith(w);
}

/** `tag.<op>=name:value`: a tag of that name whose value matches. */
function tagMatches(tags: string[], op: Op, want: string): boolean {
  const i = want.indexOf(':');
  const name = i < 0 ? want : want.slice(0, i);
  const value = i < 0 ? '' : want.slice(i + 1);
  return tags.some((t) => {
    const j = t.indexOf(':');
    const tn = j < 0 ? t : t.slice(0, j);
    return tn === name && matchOp(j < 0 ? '' : t.slice(j + 1), op, value);
  });
}

/**
 * The dns_records list filters: `type`, `proxied`, `name`/`content`/`comment`
 * with `.exact|.contains|.startswith|.endswith` (a bare `name=` is exact),
 * `comment.present|absent`, `tag[.op]`, `tag.present|absent`, `search`, and
 * `match=any|all` (all by default) across them; then `order` and `direction`.
 */
export function filterRecords(all: DnsRecord[], q: URLSearchParams, zone: string): DnsRecord[] {
  const tests: ((r: DnsRecord) => boolean)[] = [];
  const type = q.get('type');
  if (type) tests.push((r) => r.type === type.toUpperCase());
  const proxied = q.get('proxied');
  if (proxied !== null) tests.push((r) => r.proxied === (proxied === 'true'));
  for (const field of ['name', 'content', 'comment'] as const) {
    const bare = q.get(field);
    if (bare !== null) {
      const want = field === 'name' ? fullName(bare, zone) : bare;
      tests.push((r) => matchOp(r[field] ?? '', 'exact', want));
    }
    for (const op of OPS) {
      const v = q.get(`${field}.${op}`);
      if (v === null) continue;
      const want = field === 'name' && op === 'exact' ? fullName(v, zone) : v;
      tests.push((r) => r[field] !== null && matchOp(r[field] ?? '', op, want));
    }
  }
  if (q.get('comment.present') !== null) tests.push((r) => r.comment !== null);
  if (q.get('comment.absent') !== null) tests.push((r) => r.comment === null);
  const tag = q.get('tag');
  if (tag !== null) tests.push((r) => tagMatches(r.tags, 'exact', tag));
  for (const op of OPS) {
    const v = q.get(`tag.${op}`);
    if (v !== null) tests.push((r) => tagMatches(r.tags, op, v));
  }
  const present = q.get('tag.present');
  if (present !== null) tests.push((r) => r.tags.some((t) => t.split(':')[0] === present));
  const absent = q.get('tag.absent');
  if (absent !== null) tests.push((r) => !r.tags.some((t) => t.split(':')[0] === absent));
  const search = q.get('search');
  if (search) tests.push((r) => [r.name, r.content, r.comment ?? '', ...r.tags].some((s) => s.toLowerCase().includes(search.toLowerCase())));

  const any = q.get('match') === 'any';
  let out = tests.length === 0 ? all : all.filter((r) => (any ? tests.some((t) => t(r)) : tests.every((t) => t(r))));
  const order = q.get('order');
  if (order === 'type' || order === 'name' || order === 'content' || order === 'ttl' || order === 'proxied') {
    const dir = q.get('direction') === 'desc' ? -1 : 1;
    out = [...out].sort((a, b) => (a[order] < b[order] ? -dir : a[order] > b[order] ? dir : 0));
  }
  return out;
}
