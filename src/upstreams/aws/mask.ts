/**
 * The decision log's copy of an AWS input: parameter values whose names say they are secrets (a login profile's
 * Password, a policy document is not one) are masked. The policy sees them; the log does not.
 */
import type { ParamValue, Params } from './form.js';

const SECRET_KEY = /password|secret|privatekey|sessiontoken/i;
const MASK = '**masked**';

function maskValue(v: ParamValue, depth: number): ParamValue {
  if (typeof v === 'string' || depth > 100) return v;
  if (Array.isArray(v)) return v.map((x) => maskValue(x, depth + 1));
  const out: Params = {};
  for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEY.test(k) && x !== '' ? MASK : maskValue(x, depth + 1);
  return out;
}

export function maskAwsInput(input: Record<string, unknown>): Record<string, unknown> {
  const request = input.request as { params?: Params; query?: Record<string, string[]> } | undefined;
  if (!request?.params) return input;
  const query = Object.fromEntries(Object.entries(request.query ?? {}).map(([k, v]) => [k, SECRET_KEY.test(k) ? v.map(() => MASK) : v]));
  return { ...input, query, request: { ...request, params: maskValue(request.params, 0), query } };
}
