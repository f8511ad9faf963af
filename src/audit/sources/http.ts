import type { UpstreamConfig } from '../../config/schema.js';
import { WritegateError } from '../../errors.js';
import { UpstreamClient } from '../../upstreams/client.js';

/**
 * Reads an upstream's API directly (not through the gateway), with the credential the gateway holds for it: the
 * upstream's own client (src/upstreams/client.ts: TLS, held client certificate) and its held secret's header.
 * An upstream whose credential is the caller's (passthrough) has nothing to read with, unless a client certificate
 * (tls.cert) authenticates the gateway.
 */
export class UpstreamReader {
  readonly client: UpstreamClient;

  constructor(readonly upstream: UpstreamConfig) {
    if (upstream.credentials.mode !== 'held' && upstream.tls.cert === undefined) {
      throw new Error(`upstream ${upstream.name} passes the caller's credential through; the audit reads with a credential the gateway holds (credentials: {mode: held, ...}, or tls.cert)`);
    }
    this.client = new UpstreamClient(upstream);
  }

  /** GET `path` as JSON; anything but 200 with a JSON body is an error naming the path and the status. */
  async json(path: string, accept = 'application/json'): Promise<unknown> {
    const res = await this.client.request('GET', path, { ...this.client.credentials.ownHeaders(), accept });
    const text = res.body.toString('utf8');
    if (res.status !== 200) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${path} answered something other than JSON`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `value[key]` when it is a list of objects, else an error about `what`. */
export function objectList(value: unknown, key: string, what: string): Record<string, unknown>[] {
  const list = isObject(value) ? value[key] : undefined;
  if (!Array.isArray(list) || !list.every(isObject)) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `${what} has no list "${key}"`);
  return list;
}
