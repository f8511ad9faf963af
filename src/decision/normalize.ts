import type { Violation } from '../upstreams/types.js';

export interface NormalizedDecision {
  /** What the policy says, before the upstream's mode is applied. */
  allowed: boolean;
  deny: Violation[];
  warn: Violation[];
  /** Set when the result has no usable shape (undefined, or neither boolean nor object). */
  problem?: 'undefined' | 'malformed';
}

function toViolation(v: unknown): Violation {
  if (typeof v === 'string') return { msg: v };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return { ...o, msg: typeof o.msg === 'string' ? o.msg : JSON.stringify(v) };
  }
  return { msg: JSON.stringify(v) };
}

function toViolations(v: unknown): Violation[] | undefined {
  if (v === undefined || v === null) return [];
  // Rego sets serialise as JSON arrays; a single string or object is accepted as one violation.
  if (Array.isArray(v)) return v.map(toViolation);
  if (typeof v === 'string' || (typeof v === 'object')) return [toViolation(v)];
  return undefined;
}

/**
 * The decision contract (policies/README.md): a boolean, or an object with
 * optional `allow` (must be true when present), `deny` and `warn` violation
 * lists. Allowed iff defined, allow is absent or true, and deny is empty.
 * Anything else is a deny, never a guess.
 */
export function normalizeDecision(defined: boolean, result: unknown): NormalizedDecision {
  if (!defined) return { allowed: false, deny: [], warn: [], problem: 'undefined' };
  if (typeof result === 'boolean') return { allowed: result, deny: [], warn: [] };
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    return { allowed: false, deny: [], warn: [], problem: 'malformed' };
  }
  const r = result as Record<string, unknown>;
  const deny = toViolations(r.deny);
  const warn = toViolations(r.warn);
  if (deny === undefined || warn === undefined || (r.allow !== undefined && typeof r.allow !== 'boolean')) {
    return { allowed: false, deny: deny ?? [], warn: warn ?? [], problem: 'malformed' };
  }
  return { allowed: r.allow !== false && deny.length === 0, deny, warn };
}
