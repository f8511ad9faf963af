/**
 * Cloudflare's two authentication schemes (API reference, "Security"): an API
 * token as `Authorization: Bearer <token>`, or the legacy global key as the
 * `X-Auth-Email` + `X-Auth-Key` pair. Header shapes are checked before the
 * credential is looked up, as Cloudflare does (6003 before 9109/9103).
 */
import type { IncomingMessage } from 'node:http';
import { authenticationError, invalidHeaders, invalidToken, missingAuth, unknownKey } from './envelope.js';

export interface CfToken {
  /** The token's own id (what `GET /user/tokens/verify` answers); 32 hex digits. */
  id: string;
  status?: 'active' | 'disabled' | 'expired';
  /** A token with only read permissions: every write answers 403 10000. */
  readOnly?: boolean;
  /** Zone names or ids the token is limited to; all zones when absent. */
  zones?: string[];
}

/** A global API key of the user `email`. */
export interface CfKey {
  email: string;
  key: string;
}

/** Who a request authenticated as. */
export type Principal = { kind: 'token'; token: CfToken } | { kind: 'key'; email: string };

/**
 * API tokens are 40 characters of `[A-Za-z0-9_-]` (the terraform provider
 * validates that regex); global keys are 37 lowercase hex digits
 * (terraform provider: `[0-9a-f]{37}`; shared/research/clients.md §1.5).
 */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{40}$/;
const KEY_SHAPE = /^[0-9a-f]{37}$/;
const EMAIL_SHAPE = /^[^@\s]+@[^@\s]+$/;

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The bearer token of the request, without checking it. */
export function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer (.*)$/.exec(header(req, 'authorization') ?? '');
  return m ? m[1] : undefined;
}

export function authenticate(req: IncomingMessage, tokens: Map<string, CfToken>, keys: CfKey[]): Principal {
  const authorization = header(req, 'authorization');
  const email = header(req, 'x-auth-email');
  const key = header(req, 'x-auth-key');
  if (authorization !== undefined) {
    const token = bearerOf(req);
    if (token === undefined || !TOKEN_SHAPE.test(token)) throw invalidHeaders(['authorization']);
    const known = tokens.get(token);
    if (!known || (known.status ?? 'active') !== 'active') throw invalidToken();
    return { kind: 'token', token: known };
  }
  if (email !== undefined || key !== undefined) {
    const bad: ('email' | 'key')[] = [];
    if (email === undefined || !EMAIL_SHAPE.test(email)) bad.push('email');
    if (key === undefined || !KEY_SHAPE.test(key)) bad.push('key');
    if (bad.length) throw invalidHeaders(bad);
    if (!keys.some((k) => k.email === email && k.key === key)) throw unknownKey();
    return { kind: 'key', email: email! };
  }
  throw missingAuth();
}

/** A global key may do anything; a token only within its zones, and only reads when read-only. */
export function authorize(p: Principal, write: boolean, zone?: { id: string; name: string }): void {
  if (p.kind === 'key') return;
  if (write && p.token.readOnly) throw authenticationError();
  if (zone && p.token.zones && !p.token.zones.includes(zone.id) && !p.token.zones.includes(zone.name)) throw authenticationError();
}

/** Whether the principal may see a zone at all (a zone-limited token lists only its zones). */
export function canSee(p: Principal, zone: { id: string; name: string }): boolean {
  return p.kind === 'key' || !p.token.zones || p.token.zones.includes(zone.id) || p.token.zones.includes(zone.name);
}
