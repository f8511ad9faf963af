/**
 * Secret values kept out of the decision log. The policy sees them; the log copy does not. NetBox carries secrets
 * in users' `password` (write-only), API tokens' `token` and `key` (users/tokens, and the answer of
 * users/tokens/provision), and in fields whose name says so (a data source's `parameters` hold a Git `password`
 * or an S3 `aws_secret_access_key`).
 */
export const MASK = '**masked**';

const SECRET_KEY = /password|secret/i;
const TOKEN_KEY = new Set(['token', 'key']);

function maskValue(v: unknown, tokens: boolean, depth: number): unknown {
  if (depth > 1000 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => maskValue(x, tokens, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const secret = SECRET_KEY.test(k) || (tokens && TOKEN_KEY.has(k));
    out[k] = secret && x !== null && x !== '' ? MASK : maskValue(x, tokens, depth + 1);
  }
  return out;
}

const FIELDS = ['body', 'object', 'oldObject'];

function maskWrite(w: Record<string, unknown>, tokens: boolean): Record<string, unknown> {
  const out = { ...w };
  for (const f of FIELDS) if (f in out) out[f] = maskValue(out[f], tokens, 0);
  return out;
}

/** A copy of a policy input fit for the decision log. */
export function maskNetboxInput(input: Record<string, unknown>): Record<string, unknown> {
  const request = input.request;
  if (typeof request !== 'object' || request === null) return input;
  const tokens = (request as { resource?: unknown }).resource === 'users/tokens';
  const r = maskWrite(request as Record<string, unknown>, tokens);
  if (Array.isArray(r.items)) r.items = r.items.map((i) => (typeof i === 'object' && i !== null ? maskWrite(i as Record<string, unknown>, tokens) : i));
  return { ...input, request: r };
}
