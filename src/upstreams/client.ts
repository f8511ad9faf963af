import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Dispatcher, Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { WritegateError } from '../errors.js';

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** The TLS options used both by the pool and by upgraded (exec) connections. */
export interface UpstreamTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  servername?: string;
}

export function upstreamTls(cfg: UpstreamConfig): UpstreamTls {
  return {
    ...(cfg.tls.ca ? { ca: readFileSync(cfg.tls.ca) } : {}),
    ...(cfg.tls.cert ? { cert: readFileSync(cfg.tls.cert) } : {}),
    ...(cfg.tls.key ? { key: readFileSync(cfg.tls.key) } : {}),
    rejectUnauthorized: !cfg.tls.insecureSkipVerify,
    ...(cfg.tls.serverName ? { servername: cfg.tls.serverName } : {}),
  };
}

/** Maps an undici transport error to the catalogue: connect failure 503, timeout 504, anything else 502. */
export function upstreamTransportError(err: unknown, what: string): WritegateError {
  const code = (err as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code) || (err as Error).name === 'TimeoutError') {
    return new WritegateError('WG_ERR_UPSTREAM_TIMEOUT', what, { cause: err });
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
    || code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
    return new WritegateError('WG_ERR_UPSTREAM_CONNECT', `${what}: ${(err as Error).message}`, { cause: err });
  }
  return new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `${what}: ${(err as Error).message}`, { cause: err });
}

/** Connections of the pool for writes and the gateway's own calls. */
const CALL_CONNECTIONS = 64;

/**
 * What the proxy forwards through: reads to one pool, everything else to the other. undici's Pool queues a
 * request until one of its connections is free, and a watch holds its connection for as long as it lasts, so
 * reads sharing a bounded pool with writes let one client's watches stall every write (issue 8, F16).
 */
class ForwardingDispatcher extends Dispatcher {
  constructor(private readonly reads: Pool, private readonly calls: Pool) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return (options.method === 'GET' || options.method === 'HEAD' ? this.reads : this.calls).dispatch(options, handler);
  }
}

/**
 * Two keep-alive pools per upstream. Reads forwarded by the proxy (watches and log follows among them) use a
 * pool without a connection limit: each one holds a client connection too, so limits.maxConnections and
 * limits.streamsPerClient bound it. Writes and the gateway's own side calls (dry runs, current-object
 * lookups, identity) use a pool of CALL_CONNECTIONS that no read can occupy.
 */
export class UpstreamClient {
  readonly origin: string;
  /** Path of the target URL (e.g. "" or "/cluster-a"), prepended to every forwarded path. */
  readonly basePath: string;
  /** The proxy's dispatcher (reads and writes on separate pools). */
  readonly pool: Dispatcher;
  readonly tls: UpstreamTls;
  private readonly timeoutMs: number;
  private readonly reads: Pool;
  private readonly calls: Pool;

  constructor(cfg: UpstreamConfig) {
    const target = new URL(cfg.target);
    this.origin = target.origin;
    this.basePath = target.pathname.replace(/\/$/, '');
    this.tls = upstreamTls(cfg);
    this.timeoutMs = cfg.timeoutMs;
    const options = {
      headersTimeout: cfg.timeoutMs,
      // Watches and log follows stay open for minutes with no bytes; the body is never timed out.
      bodyTimeout: 0,
      connect: { ...this.tls },
    };
    this.reads = new Pool(this.origin, options);
    this.calls = new Pool(this.origin, { ...options, connections: CALL_CONNECTIONS });
    this.pool = new ForwardingDispatcher(this.reads, this.calls);
  }

  async request(method: string, path: string, headers: Record<string, string | string[] | undefined>, body?: Buffer): Promise<UpstreamResponse> {
    const clean: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) clean[k] = v;
    try {
      const res = await this.calls.request({
        method: method as 'GET',
        path: this.basePath + path,
        headers: clean,
        ...(body ? { body } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) chunks.push(chunk as Buffer);
      return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: Buffer.concat(chunks) };
    } catch (err) {
      throw upstreamTransportError(err, `${method} ${this.origin}${this.basePath}${path}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.reads.close(), this.calls.close()]);
  }
}
