/**
 * Rulesets and phase entrypoints (developers.cloudflare.com/ruleset-engine/
 * rulesets-api). A zone or account has at most one entrypoint ruleset per
 * phase (kind `zone` or `root`); `PUT .../rulesets/phases/<phase>/entrypoint`
 * replaces its whole rule list, creating the entrypoint on first use, and
 * every update bumps the ruleset's `version`.
 */
import { rulesetInvalid, rulesetNotFound } from './envelope.js';
import { CfState, newId, now, type Ruleset, type RulesetRule, type Scope } from './store.js';

/** The 24 phases of the SDK's `Phase` type (cloudflare@7 resources/rulesets/rulesets.ts). */
export const PHASES = new Set([
  'ddos_l4', 'ddos_l7', 'http_config_settings', 'http_custom_errors', 'http_log_custom_fields', 'http_ratelimit',
  'http_request_cache_settings', 'http_request_dynamic_redirect', 'http_request_firewall_custom',
  'http_request_firewall_managed', 'http_request_late_transform', 'http_request_origin', 'http_request_redirect',
  'http_request_sanitize', 'http_request_sbfm', 'http_request_transform', 'http_response_cache_settings',
  'http_response_compression', 'http_response_firewall_managed', 'http_response_headers_transform', 'magic_transit',
  'magic_transit_ids_managed', 'magic_transit_managed', 'magic_transit_ratelimit',
]);

/** Rule actions of the rulesets API. */
const ACTIONS = new Set([
  'block', 'challenge', 'compress_response', 'ddos_dynamic', 'execute', 'force_connection_close', 'js_challenge', 'log',
  'log_custom_field', 'managed_challenge', 'redirect', 'rewrite', 'route', 'score', 'serve_error', 'set_cache_control',
  'set_cache_settings', 'set_cache_tags', 'set_config', 'skip',
]);

type Body = Record<string, unknown>;

/**
 * The rules of a request body, each validated and given an id. A rule that
 * names the `id` of a rule already in the ruleset keeps it (that is how the
 * API updates a rule in place); a new rule gets a fresh id and version "1".
 */
function buildRules(body: Body, old: RulesetRule[]): RulesetRule[] {
  if (!Array.isArray(body.rules)) throw rulesetInvalid("'rules' must be an array", '/rules');
  const t = now();
  return body.rules.map((raw: unknown, i: number) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw rulesetInvalid('a rule must be an object', `/rules/${i}`);
    const r = raw as Body;
    if (typeof r.action !== 'string' || !ACTIONS.has(r.action)) throw rulesetInvalid(`'${String(r.action)}' is not a valid value for action`, `/rules/${i}/action`);
    if (typeof r.expression !== 'string' || !r.expression.trim()) throw rulesetInvalid('the expression must be a non-empty string', `/rules/${i}/expression`);
    const prev = typeof r.id === 'string' ? old.find((o) => o.id === r.id) : undefined;
    const id = prev?.id ?? newId();
    const rule: RulesetRule = {
      ...r,
      id,
      version: prev ? String(Number(prev.version) + 1) : '1',
      action: r.action,
      expression: r.expression,
      description: typeof r.description === 'string' ? r.description : '',
      enabled: r.enabled !== false,
      last_updated: t,
      ref: typeof r.ref === 'string' ? r.ref : id,
    };
    return rule;
  });
}

/** The listing shape: a ruleset without its rules. */
function summary(rs: Ruleset): Omit<Ruleset, 'rules'> {
  const { rules: _rules, ...rest } = rs;
  return rest;
}

export function listRulesets(state: CfState, scope: Scope): Omit<Ruleset, 'rules'>[] {
  return [...(state.rulesets.get(scope)?.values() ?? [])].map(summary);
}

export function getRuleset(state: CfState, scope: Scope, id: string): Ruleset {
  const rs = state.rulesets.get(scope)?.get(id);
  if (!rs) throw rulesetNotFound(`ruleset ${id}`);
  return rs;
}

export function getEntrypoint(state: CfState, scope: Scope, phase: string): Ruleset {
  const rs = state.entrypoint(scope, phase);
  if (!rs) throw rulesetNotFound(`entrypoint ruleset in the ${phase} phase`);
  return rs;
}

/** What a PUT on an entrypoint may carry; the phase and kind come from the path. */
const ENTRYPOINT_FIELDS = new Set(['name', 'description', 'rules']);

/**
 * PUT entrypoint: the body's `rules` become the whole rule list. Other
 * top-level fields are refused (seen: "invalid JSON: unknown field kind" with
 * 400, EvotecIT/CodeGlyphX#155; the error code is unverified).
 */
export function putEntrypoint(state: CfState, scope: Scope, phase: string, body: Body): Ruleset {
  const unknown = Object.keys(body).find((k) => !ENTRYPOINT_FIELDS.has(k));
  if (unknown !== undefined) throw rulesetInvalid(`invalid JSON: unknown field ${unknown}`, `/${unknown}`);
  const existing = state.entrypoint(scope, phase);
  const rules = buildRules(body, existing?.rules ?? []);
  const rs: Ruleset = {
    id: existing?.id ?? newId(),
    name: typeof body.name === 'string' ? body.name : (existing?.name ?? 'default'),
    description: typeof body.description === 'string' ? body.description : (existing?.description ?? ''),
    kind: scope.startsWith('zones/') ? 'zone' : 'root',
    phase,
    version: existing ? String(Number(existing.version) + 1) : '1',
    last_updated: now(),
    rules,
  };
  CfState.bucket(state.rulesets, scope).set(rs.id, rs);
  return rs;
}

/** POST rulesets: a new ruleset; a second entrypoint for a phase is refused. */
export function createRuleset(state: CfState, scope: Scope, body: Body): Ruleset {
  if (typeof body.name !== 'string' || !body.name) throw rulesetInvalid("'name' is required", '/name');
  if (typeof body.phase !== 'string' || !PHASES.has(body.phase)) throw rulesetInvalid(`'${String(body.phase)}' is not a valid value for phase`, '/phase');
  const kind = body.kind;
  if (kind !== 'custom' && kind !== 'zone' && kind !== 'root') throw rulesetInvalid(`'${String(kind)}' is not a valid value for kind`, '/kind');
  if ((kind === 'zone' || kind === 'root') && state.entrypoint(scope, body.phase)) {
    throw rulesetInvalid(`a ruleset of kind ${kind} already exists for the ${body.phase} phase`, '/kind');
  }
  const rs: Ruleset = {
    id: newId(),
    name: body.name,
    description: typeof body.description === 'string' ? body.description : '',
    kind,
    phase: body.phase,
    version: '1',
    last_updated: now(),
    rules: buildRules({ rules: body.rules ?? [] }, []),
  };
  CfState.bucket(state.rulesets, scope).set(rs.id, rs);
  return rs;
}

/** PUT rulesets/<id>: like the entrypoint PUT, the rule list is replaced whole. */
export function updateRuleset(state: CfState, scope: Scope, id: string, body: Body): Ruleset {
  const old = getRuleset(state, scope, id);
  const rs: Ruleset = {
    ...old,
    name: typeof body.name === 'string' ? body.name : old.name,
    description: typeof body.description === 'string' ? body.description : old.description,
    version: String(Number(old.version) + 1),
    last_updated: now(),
    rules: buildRules(body, old.rules),
  };
  CfState.bucket(state.rulesets, scope).set(rs.id, rs);
  return rs;
}

/**
 * Where a rule goes: `position` `{before: id}`, `{after: id}` or `{index: n}`
 * (1-based), else `fallback` (API reference, "Create a zone ruleset rule" /
 * "Update a zone ruleset rule"). A position naming no rule is refused.
 */
function place(rules: RulesetRule[], rule: RulesetRule, position: unknown, fallback: number): RulesetRule[] {
  let at = fallback;
  if (position !== undefined) {
    const p = position as Body;
    const anchor = (id: unknown) => {
      const i = rules.findIndex((r) => r.id === id);
      if (i < 0) throw rulesetInvalid(`the position names rule ${String(id)}, which the ruleset does not have`, '/position');
      return i;
    };
    if (p === null || typeof p !== 'object' || Object.keys(p).length !== 1) throw rulesetInvalid('a position is one of before, after or index', '/position');
    if ('before' in p) at = anchor(p.before);
    else if ('after' in p) at = anchor(p.after) + 1;
    else if (typeof p.index === 'number' && Number.isInteger(p.index) && p.index >= 1 && p.index <= rules.length + 1) at = p.index - 1;
    else throw rulesetInvalid('a position is one of before, after or index (1 to the number of rules plus one)', '/position');
  }
  return [...rules.slice(0, at), rule, ...rules.slice(at)];
}

/** The ruleset with new rules: a new version, as every write to a ruleset makes. */
function withRules(state: CfState, scope: Scope, old: Ruleset, rules: RulesetRule[]): Ruleset {
  const rs: Ruleset = { ...old, version: String(Number(old.version) + 1), last_updated: now(), rules };
  CfState.bucket(state.rulesets, scope).set(rs.id, rs);
  return rs;
}

function ruleIndex(rs: Ruleset, ruleId: string): number {
  const i = rs.rules.findIndex((r) => r.id === ruleId);
  if (i < 0) throw rulesetNotFound(`rule ${ruleId} in ruleset ${rs.id}`);
  return i;
}

/** POST rulesets/<id>/rules: one rule added (at the end unless `position` says where); answers the whole ruleset. */
export function addRule(state: CfState, scope: Scope, rulesetId: string, body: Body): Ruleset {
  const old = getRuleset(state, scope, rulesetId);
  const { position, ...raw } = body;
  const [rule] = buildRules({ rules: [raw] }, []);
  return withRules(state, scope, old, place(old.rules, rule!, position, old.rules.length));
}

/**
 * PATCH rulesets/<id>/rules/<rule id>: the body's fields over the rule, which
 * stays where it is unless `position` moves it. Unverified: that Cloudflare
 * merges rather than replaces the rule.
 */
export function editRule(state: CfState, scope: Scope, rulesetId: string, ruleId: string, body: Body): Ruleset {
  const old = getRuleset(state, scope, rulesetId);
  const i = ruleIndex(old, ruleId);
  const { position, ...change } = body;
  const [rule] = buildRules({ rules: [{ ...old.rules[i], ...change, id: ruleId }] }, old.rules);
  const without = [...old.rules.slice(0, i), ...old.rules.slice(i + 1)];
  return withRules(state, scope, old, place(without, rule!, position, i));
}

/** DELETE rulesets/<id>/rules/<rule id>: answers the ruleset without the rule. */
export function deleteRule(state: CfState, scope: Scope, rulesetId: string, ruleId: string): Ruleset {
  const old = getRuleset(state, scope, rulesetId);
  const i = ruleIndex(old, ruleId);
  return withRules(state, scope, old, [...old.rules.slice(0, i), ...old.rules.slice(i + 1)]);
}

export function deleteRuleset(state: CfState, scope: Scope, id: string): void {
  getRuleset(state, scope, id);
  state.rulesets.get(scope)?.delete(id);
}
