/**
 * Secret values kept out of the decision log. The policy sees them; the log copy does not. Cloudflare bodies carry
 * secrets under recognisable names (Access identity providers' and SaaS apps' `client_secret`, tunnels'
 * `tunnel_secret`, `password`, `private_key` of custom certificates, service tokens' `token`) and in Workers
 * secret bindings, `{"type": "secret_text", "name", "text"}` (PUT .../workers/scripts/<script>/secrets, and the
 * bindings of a script's settings), whose `text` is the secret.
 */
export const MASK = '**masked**';

const SECRET_KEY = /secret|password|passphrase|private_?key|api_?key|auth_?key|credential|(^|_)token$/i;
const SECRET_BINDINGS = new Set(['secret_text', 'secret_key']);

function maskValue(v: unknown, depth: number): unknown {
  if (depth > 1000 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => maskValue(x, depth + 1));
  const o = v as Record<string, unknown>;
  const binding = typeof o.type === 'string' && SECRET_BINDINGS.has(o.type);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    out[k] = (SECRET_KEY.test(k) && (typeof x === 'string' || typeof x === 'object')) || (binding && k === 'text') ? MASK : maskValue(x, depth + 1);
  }
  return out;
}

const FIELDS = ['body', 'object', 'oldObject'];

function maskWrite(w: Record<string, unknown>): Record<string, unknown> {
  const out = { ...w };
  for (const f of FIELDS) if (f in out) out[f] = maskValue(out[f], 0);
  return out;
}

/** A copy of a policy input fit for the decision log. */
export function maskCloudflareInput(input: Record<string, unknown>): Record<string, unknown> {
  const request = input.request;
  if (typeof request !== 'object' || request === null) return input;
  const r = maskWrite(request as Record<string, unknown>);
  if (Array.isArray(r.items)) r.items = r.items.map((i) => (typeof i === 'object' && i !== null ? maskWrite(i as Record<string, unknown>) : i));
  return { ...input, request: r };
}
