/**
 * Signs what the gateway sends to an AWS upstream with the key pair it holds: the forwarded request (the proxy's
 * signing hook, UpstreamAdapter.signForward) and the gateway's own lookups (./lookup.ts). The signature covers the
 * upstream's host and path, the query, `Content-Type`, the new `X-Amz-Date` and the exact body bytes sent; the
 * client's own `Authorization` and `X-Amz-*` signing headers are replaced.
 */
import type { ForwardRequest } from '../types.js';
import { parseForm } from './form.js';
import type { KeyPair } from './held.js';
import { amzDateOf, authorizationHeader, sha256Hex, signature } from './sigv4.js';

const REPLACED = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/** `forward.headers` with a SigV4 `Authorization` and `X-Amz-Date` for `forward` made with `pair` at `now`. */
export function signRequest(forward: ForwardRequest, pair: KeyPair, scope: { region: string; service: string }, now: Date): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(forward.headers)) if (!REPLACED.includes(k)) out[k] = v;
  const host = single(out.host);
  if (host === undefined) throw new Error('a request to sign has no Host header');
  const amzDate = amzDateOf(now);
  out['x-amz-date'] = amzDate;
  const q = forward.target.indexOf('?');
  const path = q < 0 ? forward.target : forward.target.slice(0, q);
  const query = q < 0 ? [] : parseForm(forward.target.slice(q + 1));
  const signedHeaders = ['content-type', 'host', 'x-amz-date'].filter((h) => out[h] !== undefined);
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) headers[h] = single(out[h])!;
  const full = { ...scope, date: amzDate.slice(0, 8) };
  const sig = signature(pair.secretAccessKey, full, amzDate, { method: forward.method, path, query, headers, signedHeaders, payloadHash: sha256Hex(forward.body) });
  out.authorization = authorizationHeader(pair.accessKeyId, full, signedHeaders, sig);
  return out;
}
