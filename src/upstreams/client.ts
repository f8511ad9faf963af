import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, buildConnector, type Dispatcher } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { WritegateError, isWritegateError } from '../errors.js';
import { kindNamed } from './registry.js';
import { UpstreamCredentials, type ClientIdentity } from './credentials.js';

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

/**
 * Maps an undici transport error to the catalogue: connect failure 503, timeout 504, anything else 502. A catalogue
 * error raised on the way (the held client certificate could not be read when connecting) stays what it is.
 */
export function upstreamTransportError(err: unknown, what: string): WritegateError {
  if (isWritegateError(err)) return err;
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

/** Connections of the pool for the gateway's own calls. */
const CALL_CONNECTIONS = 64;

/**
 * Two keep-alive pools per upstream. undici's Pool queues a request until one of its connections is free, and
 * a watch or log follow holds its connection for as long as it lasts: with one bounded pool, one client's
 * watches stalled every identity lookup, dry run and write (issue 8, F16). So what the proxy forwards (reads,
 * watches, writes) goes through a pool without a connection limit — each forwarded request holds a client
 * connection, so limits.maxConnections and limits.streamsPerClient bound it — and the gateway's own side
 * calls (identity, dry runs, current-object lookups) use a pool of CALL_CONNECTIONS that nothing forwarded
 * can occupy.
 */
export class UpstreamClient {
  readonly origin: string;
  /** Path of the target URL (e.g. "" or "/cluster-a"), prepended to every forwarded path. */
  readonly basePath: string;
  /** The pool the proxy forwards through (reply-from); with a held secret, its answers are masked of it. */
  readonly pool: Dispatcher;
  /**
   * Whose credential goes upstream (`credentials`): the header builder applies it to what is forwarded and to the
   * adapters' calls; `credentials.ownHeaders()` are the gateway's own upstream credential headers, for calls the
   * gateway makes as itself (a TokenReview).
   */
  readonly credentials: UpstreamCredentials;
  private readonly timeoutMs: number;
  /** The gateway's own calls. */
  private readonly calls: Dispatcher;
  private readonly configuredTls: UpstreamTls;
  /** The connector of the current held client certificate, rebuilt when the certificate is rotated. */
  private connector: { identity: ClientIdentity; connect: buildConnector.connector } | undefined;

  constructor(cfg: UpstreamConfig) {
    const target = new URL(cfg.target);
    this.origin = target.origin;
    this.basePath = target.pathname.replace(/\/$/, '');
    this.configuredTls = upstreamTls(cfg);
    this.credentials = new UpstreamCredentials(cfg.name, cfg.credentials, kindNamed(cfg.kind)!.heldCredential);
    this.timeoutMs = cfg.timeoutMs;
    const options = {
      headersTimeout: cfg.timeoutMs,
      // Watches and log follows stay open for minutes with no bytes; the body is never timed out.
      bodyTimeout: 0,
      // A held client certificate is read when a connection is made, so a rotated one is used by the next one.
      connect: cfg.credentials.clientCert === undefined ? { ...this.configuredTls } : this.connectWithHeldCertificate.bind(this),
    };
    const mask = this.credentials.answerMask();
    const pool = new Pool(this.origin, options);
    const calls = new Pool(this.origin, { ...options, connections: CALL_CONNECTIONS });
    this.pool = mask ? pool.compose(mask) : pool;
    this.calls = mask ? calls.compose(mask) : calls;
  }

  /**
   * The TLS options of a new upstream connection (both pools and upgraded exec connections): the configured ones,
   * with the held client certificate as it is now. Throws WG_ERR_CREDENTIAL_UNAVAILABLE when it cannot be read.
   */
  get tls(): UpstreamTls {
    const identity = this.credentials.clientIdentity();
    return identity ? { ...this.configuredTls, ...identity } : this.configuredTls;
  }

  private connectWithHeldCertificate(options: buildConnector.Options, callback: buildConnector.Callback): void {
    let identity: ClientIdentity;
    try {
      identity = this.credentials.clientIdentity()!;
    } catch (err) {
      callback(err as Error, null);
      return;
    }
    if (this.connector?.identity !== identity) this.connector = { identity, connect: buildConnector({ ...this.configuredTls, ...identity }) };
    this.connector.connect(options, callback);
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
    await Promise.all([this.pool.close(), this.calls.close()]);
  }
}
