/**
 * What a Cloudflare write does to the objects it names: the current object (`oldObject`, read from Cloudflare with
 * the caller's credentials) and the resulting one (`object`), as policies/README.md defines them for this kind.
 * Cloudflare's API v4 has no precondition a write could carry (no version or If-Match on these endpoints), so a
 * write is not pinned to the version judged: a concurrent write in between can change what it acts on.
 */
import { WritegateError } from '../../errors.js';
import type { UpstreamClient } from '../client.js';
import type { CfTarget } from './paths.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One write as the policy sees it: a single request, or one element of a batch. */
export interface CfWrite {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  method: string;
  name: string;
  body: Json;
  object: Json;
  oldObject: Json;
}

/** Reads objects from Cloudflare as the caller. */
export class CurrentReader {
  constructor(private readonly upstream: UpstreamClient, private readonly creds: Record<string, string | string[]>) {}

  /**
   * The `result` of `GET rawPath`. With `absent` given, a 404 (the object does not exist) is `absent`: the write is
   * judged without a current object, and Cloudflare answers it, or creates what is missing (a phase entrypoint).
   * Any other read Cloudflare refuses (a zone or ruleset that does not exist, a credential that is invalid or may
   * not read it) refuses the write with Cloudflare's own answer, relayed as it is: the write would meet the same
   * refusal, or act on an object the policy was not shown. A paged list is refused: one page is not the current
   * state of a collection.
   */
  async read(rawPath: string, absent?: Json): Promise<Json> {
    const res = await this.upstream.request('GET', rawPath, { ...this.creds, accept: 'application/json' });
    if (res.status === 404 && absent !== undefined) return absent;
    if (res.status !== 200) {
      throw new WritegateError('WG_ERR_RESOLVE_FAILED', `reading the current object (GET ${rawPath}) answered ${res.status}`, {
        details: { upstreamResponse: { status: res.status, headers: res.headers, body: res.body } },
      });
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(res.body.toString('utf8'));
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${rawPath} answered something other than JSON`, { cause: err });
    }
    if (!isObject(envelope) || envelope.success !== true || !('result' in envelope)) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${rawPath} answered without a successful Cloudflare envelope`);
    }
    const info = envelope.result_info;
    if (isObject(info) && typeof info.total_pages === 'number' && info.total_pages > 1) {
      throw new WritegateError('WG_ERR_BAD_REQUEST', `the current state of ${rawPath} is a list of ${info.total_pages} pages; write to its objects one by one`);
    }
    return envelope.result ?? null;
  }
}

/**
 * A PATCH body over the current object. Cloudflare's PATCH endpoints change the fields the body names and keep the
 * others (API reference, "Update DNS Record": "Update an existing DNS record"; the PUT variant "Overwrite"); a
 * nested object in the body replaces the stored one whole, as those endpoints document no deeper merge.
 */
function patched(current: Json, body: Json): Json {
  if (!isObject(current) || !isObject(body)) {
    throw new WritegateError('WG_ERR_BAD_REQUEST', 'a PATCH is judged as its body over the current object, and one of them is not a JSON object');
  }
  return { ...current, ...body };
}

/**
 * The object an update leaves: for a PATCH the body over the current object, for a PUT the body (Cloudflare
 * replaces the object: API reference, "Overwrite DNS Record"). Without a current object (Cloudflare answered 404,
 * and will answer the write the same way) a PATCH is its body alone. A body that is not a JSON object leaves no
 * object the policy could be shown as one: null.
 */
export function afterUpdate(method: string, current: Json, body: Json): Json {
  if (method === 'PATCH' && current !== null) return patched(current, body);
  return isObject(body) ? body : null;
}

/**
 * Field names in DNS record and ruleset bodies are ASCII snake_case in Cloudflare's API. Any other name is refused:
 * a decoder that matches names without regard to case (Go's encoding/json folds them, Unicode included, so `ſ`
 * U+017F matches `s`) would read `"TTL": 30` as the ttl, or `"ruleſ": []` as the rules, that the policy saw
 * absent.
 */
export function assertFieldNames(value: Json, where: string, depth = 1): void {
  if (depth < 0) return;
  if (Array.isArray(value)) {
    for (const v of value) assertFieldNames(v, where, depth);
    return;
  }
  if (!isObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (!/^[a-z0-9_]+$/.test(k)) throw new WritegateError('WG_ERR_BAD_REQUEST', `${where}: the field name ${JSON.stringify(k)} is not lower-case ASCII snake_case, as Cloudflare's field names are`);
    assertFieldNames(v, where, depth - 1);
  }
}

/** What a ruleset becomes: the stored one without what Cloudflare recomputes on every write. */
function rulesetBase(old: Json): JsonObject {
  if (!isObject(old)) return {};
  const { version: _v, last_updated: _l, ...rest } = old;
  return rest;
}

function rulesOf(ruleset: Json): Json[] {
  return isObject(ruleset) && Array.isArray(ruleset.rules) ? ruleset.rules : [];
}

const ruleId = (r: Json): Json => (isObject(r) ? r.id ?? null : null);

/**
 * Where a rule goes: `position` `{before: id}`, `{after: id}` or `{index: n}` (1-based), else the end (API
 * reference, "Create a zone ruleset rule" / "Update a zone ruleset rule"). A position that names no rule of the
 * ruleset, or an index outside it, is refused (Cloudflare answers it with an error).
 */
function placed(rules: Json[], rule: JsonObject, position: Json | undefined, fallback: number): Json[] {
  let at = fallback;
  if (position !== undefined) {
    if (!isObject(position) || Object.keys(position).length !== 1) throw new WritegateError('WG_ERR_BAD_REQUEST', 'a rule position is one of {before}, {after} or {index}');
    const anchor = (id: Json): number => {
      const i = rules.findIndex((r) => ruleId(r) === id);
      if (i === -1) throw new WritegateError('WG_ERR_BAD_REQUEST', 'the rule position names a rule the ruleset does not have');
      return i;
    };
    if ('before' in position) at = anchor(position.before!);
    else if ('after' in position) at = anchor(position.after!) + 1;
    else if (typeof position.index === 'number' && Number.isInteger(position.index) && position.index >= 1 && position.index <= rules.length + 1) at = position.index - 1;
    else throw new WritegateError('WG_ERR_BAD_REQUEST', 'a rule position is one of {before}, {after} or {index} (1 to the number of rules plus one)');
  }
  return [...rules.slice(0, at), rule, ...rules.slice(at)];
}

/**
 * A write to one rule (POST rulesets/<id>/rules, PATCH or DELETE rulesets/<id>/rules/<rule id>) as the ruleset it
 * leaves: `object` is the ruleset with the rule added, changed or removed, `oldObject` the ruleset as it is. A PATCH
 * is read as the body's fields over the rule (policies/README.md; the simulator reads it so too). Unverified against
 * Cloudflare: whether it replaces the rule instead, which would reset the fields the body leaves out.
 */
export function rulesetAfterRuleWrite(method: string, target: CfTarget, old: Json, body: Json): Json {
  const rules = rulesOf(old);
  const base = rulesetBase(old);
  if (method === 'POST') {
    if (!isObject(body)) throw new WritegateError('WG_ERR_BAD_REQUEST', 'a rule is a JSON object');
    const { position, ...rule } = body;
    return { ...base, rules: placed(rules, rule, position, rules.length) };
  }
  const index = rules.findIndex((r) => ruleId(r) === target.rule);
  if (index === -1) throw new WritegateError('WG_ERR_BAD_REQUEST', `the ruleset has no rule ${target.rule ?? ''}`);
  const without = [...rules.slice(0, index), ...rules.slice(index + 1)];
  if (method === 'DELETE') return { ...base, rules: without };
  if (method !== 'PATCH') throw new WritegateError('WG_ERR_BAD_REQUEST', `${method} on a ruleset rule`);
  if (!isObject(body)) throw new WritegateError('WG_ERR_BAD_REQUEST', 'a rule is a JSON object');
  const { position, ...change } = body;
  const rule = { ...(rules[index] as JsonObject), ...change };
  return { ...base, rules: position === undefined ? [...without.slice(0, index), rule, ...without.slice(index)] : placed(without, rule, position, index) };
}

/**
 * A PUT of a ruleset or a phase entrypoint: it replaces the rules (and what else the body gives), keeps the rest.
 * The body must list the rules: what Cloudflare makes of a PUT without them (keep them, or none) is not documented,
 * and the policy must see exactly the rule list that will be stored.
 */
export function rulesetAfterPut(old: Json, body: Json, phase: string | undefined): Json {
  if (!isObject(body) || !Array.isArray(body.rules)) throw new WritegateError('WG_ERR_BAD_REQUEST', 'a ruleset PUT replaces every rule, so its body is a JSON object listing them in "rules"');
  return { ...rulesetBase(old), ...(phase !== undefined && !isObject(old) ? { phase } : {}), ...body };
}

/** The batch lists in the order Cloudflare applies them: "Deletes, Patches, Puts, Posts" (API reference, Batch DNS Records). */
const BATCH_LISTS = [['deletes', 'DELETE'], ['patches', 'PATCH'], ['puts', 'PUT'], ['posts', 'POST']] as const;

/** A record id that can be put in a path as it is. */
const RECORD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Runs `f` over `xs` with at most `limit` calls at once, keeping the order. */
async function mapLimited<T, R>(xs: T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(xs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await f(xs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, xs.length) }, worker));
  return out;
}

/**
 * The writes of `POST dns_records/batch`, one per element, in Cloudflare's order. Every key of the body must be one
 * of the four lists, spelled exactly (a decoder that ignores case would take `Posts` for `posts`). A record named by
 * more than one element is refused: the later element would act on what the earlier one leaves, not on what is
 * stored and shown to the policy.
 */
export async function batchWrites(body: Json, recordsPath: string, reader: CurrentReader): Promise<CfWrite[]> {
  if (!isObject(body)) throw new WritegateError('WG_ERR_BAD_REQUEST', 'a DNS batch is a JSON object of deletes, patches, puts and posts');
  const known = new Set<string>(BATCH_LISTS.map(([k]) => k));
  for (const k of Object.keys(body)) {
    if (!known.has(k)) throw new WritegateError('WG_ERR_BAD_REQUEST', `a DNS batch holds only deletes, patches, puts and posts, not "${k}"`);
  }
  const pending: Array<{ method: string; element: JsonObject; id: string }> = [];
  const seen = new Set<string>();
  for (const [list, method] of BATCH_LISTS) {
    const elements = body[list];
    if (elements === undefined || elements === null) continue;
    if (!Array.isArray(elements)) throw new WritegateError('WG_ERR_BAD_REQUEST', `the batch's ${list} is not a list`);
    for (const element of elements) {
      if (!isObject(element)) throw new WritegateError('WG_ERR_BAD_REQUEST', `an element of the batch's ${list} is not a JSON object`);
      assertFieldNames(element, `an element of the batch's ${list}`, 1);
      let id = '';
      if (method !== 'POST') {
        if (typeof element.id !== 'string' || !RECORD_ID.test(element.id)) throw new WritegateError('WG_ERR_BAD_REQUEST', `an element of the batch's ${list} has no record id`);
        id = element.id;
        if (seen.has(id.toLowerCase())) throw new WritegateError('WG_ERR_BAD_REQUEST', `the batch names record ${id} more than once`);
        seen.add(id.toLowerCase());
      }
      pending.push({ method, element, id });
    }
  }
  // Eight reads at a time: a batch of thousands must not open thousands of connections upstream.
  return mapLimited(pending, 8, async ({ method, element, id }): Promise<CfWrite> => {
    if (method === 'POST') return { operation: 'CREATE', method, name: '', body: element, object: element, oldObject: null };
    // A record Cloudflare says does not exist is `oldObject: null`; Cloudflare then fails the whole batch itself.
    const old = await reader.read(`${recordsPath}/${id}`, null);
    if (!isObject(old) && old !== null) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${recordsPath}/${id} answered a record that is not a JSON object`);
    if (method === 'DELETE') return { operation: 'DELETE', method, name: id, body: element, object: null, oldObject: old };
    return { operation: 'UPDATE', method, name: id, body: element, object: afterUpdate(method, old, element), oldObject: old };
  });
}
