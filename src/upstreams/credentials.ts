/**
 * Whose credential goes upstream (`upstreams[].credentials`). In `passthrough` mode (the default) the caller's own
 * credential headers go upstream, as they always did. In `held` mode the gateway holds the upstream credential —
 * a secret from a file or an environment variable, sent in the kind's header (src/upstreams/headers.ts puts it on
 * everything sent upstream and removes the caller's), or a client certificate presented on every upstream TLS
 * connection (src/upstreams/client.ts, src/upgrade.ts) — so callers never hold it.
 *
 * A held secret is read on use: a file is re-read when its inode, size, mtime or ctime change (a Kubernetes
 * projected token is replaced by a symlink swap, an editor rewrites in place), so the next request after a
 * rotation carries the new one. A credential that cannot be read is WG_ERR_CREDENTIAL_UNAVAILABLE (503), never a
 * fallback to the caller's. No message here ever contains the secret: only the file or variable name. What the
 * upstream answers is masked of the secrets the gateway sent it (an upstream that echoes a request in an error
 * would otherwise hand the gateway's secret to the caller): each occurrence becomes as many "*".
 */
import { readFileSync, statSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Transform } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { DecoratorHandler, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { Caller } from '../auth/caller.js';
import { WritegateError } from '../errors.js';

/** How a kind presents a held secret, and tells its upstream who the caller is (UpstreamKind.heldCredential). */
export interface HeldScheme {
  /** The request header (lower-case) that carries the secret, e.g. "authorization". */
  readonly header: string;
  /** The text before the secret, for this secret (NetBox: "Token " for v1 tokens, "Bearer " for v2 `nbt_` ones). */
  prefix(secret: string): string;
  /**
   * The headers that make the upstream act as `caller` while it authenticates the gateway (Kubernetes
   * `Impersonate-*`); a kind without it cannot have `impersonate: true`.
   */
  impersonation?(caller: Caller): Record<string, string | string[]>;
}

/** An HTTP header name (RFC 9110 §5.1 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Header names that describe the connection or the body, or are the gateway's own: never a credential's. */
const NOT_A_CREDENTIAL_HEADER = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'host',
  'content-length', 'content-type', 'content-encoding', 'x-decision-id',
]);

/** `upstreams[].credentials`. */
export const credentialsSchema = z.strictObject({
  /** passthrough: the caller's credential goes upstream (default). held: the gateway's own, below, goes instead. */
  mode: z.enum(['passthrough', 'held']).default('passthrough'),
  /** File holding the secret (re-read when it changes; surrounding whitespace is ignored). */
  tokenFile: z.string().min(1).optional(),
  /** Environment variable holding the secret. */
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
  /** Client certificate and key (PEM files) presented on every upstream TLS connection (re-read when they change). */
  clientCert: z.string().min(1).optional(),
  clientKey: z.string().min(1).optional(),
  /** Tell the upstream who the caller is (Kubernetes: Impersonate-User/-Group/-Uid/-Extra-*). Needs listen.auth. */
  impersonate: z.boolean().default(false),
  /** The header the secret goes in (default: the kind's, e.g. Authorization). */
  header: z.string().regex(HEADER_NAME, 'a header name').transform((h) => h.toLowerCase()).optional(),
  /** The text before the secret (default: the kind's, e.g. "Bearer "). */
  prefix: z.string().regex(/^[\x20-\x7e]*$/, 'printable ASCII').optional(),
}).default({ mode: 'passthrough', impersonate: false });

export type CredentialsConfig = z.output<typeof credentialsSchema>;

/** Problems of an upstream's `credentials` (for the configuration schema, which reports them all at once). */
export function credentialsIssues(c: CredentialsConfig, scheme: HeldScheme | undefined, tlsCert: string | undefined): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const add = (key: string, message: string): void => { issues.push({ path: ['credentials', key], message }); };
  const sources = [c.tokenFile !== undefined, c.env !== undefined, c.clientCert !== undefined || c.clientKey !== undefined].filter(Boolean).length;
  if (c.mode === 'passthrough') {
    for (const k of ['tokenFile', 'env', 'clientCert', 'clientKey', 'header', 'prefix'] as const) {
      if (c[k] !== undefined) add(k, 'only with mode: held (passthrough sends the caller\'s own credential)');
    }
    if (c.impersonate) add('impersonate', 'only with mode: held');
    return issues;
  }
  if (sources !== 1) add('mode', 'held needs exactly one of tokenFile, env, or clientCert with clientKey');
  if ((c.clientCert === undefined) !== (c.clientKey === undefined)) add('clientCert', 'clientCert and clientKey go together');
  if (c.clientCert !== undefined && tlsCert !== undefined) add('clientCert', 'the upstream already has a client certificate (tls.cert); hold one of them');
  if (c.clientCert !== undefined && (c.header !== undefined || c.prefix !== undefined)) add('header', 'header and prefix are for a held secret (tokenFile, env)');
  if (c.header !== undefined && NOT_A_CREDENTIAL_HEADER.has(c.header)) add('header', `"${c.header}" cannot carry a credential`);
  if (c.impersonate && !scheme?.impersonation) add('impersonate', 'this kind has no way to tell its upstream who the caller is');
  return issues;
}

/** Visible ASCII only: a secret with a space, a control character or a line break would change the header it is put in. */
const SECRET = /^[\x21-\x7e]+$/;

function unavailable(upstream: string, what: string, cause?: unknown): WritegateError {
  return new WritegateError('WG_ERR_CREDENTIAL_UNAVAILABLE', `upstream ${upstream}: ${what}`, cause === undefined ? undefined : { cause });
}

/** What identifies one version of a file: a change to any of them is a rotation. */
function fileVersion(path: string): string {
  const s = statSync(path);
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/** A file read again whenever it changed since the last read. */
class WatchedFile {
  private version = '';
  private bytes: Buffer | undefined;

  constructor(readonly path: string) {}

  read(): Buffer {
    const version = fileVersion(this.path);
    if (version !== this.version || this.bytes === undefined) {
      this.bytes = readFileSync(this.path);
      this.version = version;
    }
    return this.bytes;
  }
}

/** Secrets kept for masking after a rotation: the current one and the ones before it, which answers may still echo. */
const RECENT_SECRETS = 4;

/** The held secret, from a file (re-read on change) or an environment variable. */
class HeldSecret {
  private readonly file: WatchedFile | undefined;
  /** The secrets this upstream was sent lately, newest first. */
  readonly recent: Buffer[] = [];
  /** The last text read and the secret it held (the file's bytes, or the variable's value). */
  private last: { from: Buffer | string; secret: string } | undefined;

  constructor(private readonly upstream: string, private readonly source: { tokenFile?: string; env?: string }) {
    this.file = source.tokenFile === undefined ? undefined : new WatchedFile(source.tokenFile);
  }

  value(): string {
    let from: Buffer | string | undefined;
    let where: string;
    if (this.file) {
      where = `the credential file ${this.file.path}`;
      try {
        from = this.file.read();
      } catch (err) {
        throw unavailable(this.upstream, `${where} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
      }
    } else {
      where = `the credential variable ${this.source.env}`;
      from = process.env[this.source.env!];
      if (from === undefined) throw unavailable(this.upstream, `${where} is not set`);
    }
    // The file unchanged since the last request (the same bytes read) holds the same secret.
    if (this.last?.from === from) return this.last.secret;
    const secret = from.toString('utf8').trim();
    if (secret === '') throw unavailable(this.upstream, `${where} is empty`);
    if (!SECRET.test(secret)) throw unavailable(this.upstream, `${where} holds characters a header cannot carry (spaces, control or non-ASCII characters)`);
    if (this.recent[0]?.toString('latin1') !== secret) {
      this.recent.unshift(Buffer.from(secret, 'latin1'));
      this.recent.length = Math.min(this.recent.length, RECENT_SECRETS);
    }
    this.last = { from, secret };
    return secret;
  }
}

/** A client certificate and key. */
export interface ClientIdentity {
  cert: Buffer;
  key: Buffer;
}

/** The held client certificate and key, re-read when either file changes, checked to be a pair. */
class HeldCertificate {
  private readonly cert: WatchedFile;
  private readonly key: WatchedFile;
  private current: ClientIdentity | undefined;

  constructor(private readonly upstream: string, cert: string, key: string) {
    this.cert = new WatchedFile(cert);
    this.key = new WatchedFile(key);
  }

  value(): ClientIdentity {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = this.cert.read();
      key = this.key.read();
    } catch (err) {
      throw unavailable(this.upstream, `the client certificate or key (${this.cert.path}, ${this.key.path}) cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
    }
    if (this.current?.cert !== cert || this.current.key !== key) {
      try {
        createSecureContext({ cert, key });
      } catch (err) {
        // OpenSSL's message names the problem (no PEM, key values mismatch), never the key itself.
        throw unavailable(this.upstream, `the client certificate and key (${this.cert.path}, ${this.key.path}) are not a usable pair: ${(err as Error).message}`, err);
      }
      this.current = { cert, key };
    }
    return this.current;
  }
}

/**
 * One upstream's credentials as configured: whether the gateway holds them, the secret's header, and the
 * certificate. Built once per upstream by its UpstreamClient; the header builder (src/upstreams/headers.ts) applies
 * it to everything sent upstream.
 */
export class UpstreamCredentials {
  /** The gateway holds the upstream credential; the caller's never goes upstream. */
  readonly held: boolean;
  /** The upstream is told who the caller is (HeldScheme.impersonation). */
  readonly impersonate: boolean;
  /** The header a held secret goes in (undefined: no secret is held). */
  readonly header: string | undefined;
  private readonly prefix: (secret: string) => string;
  private readonly secret: HeldSecret | undefined;
  private readonly certificate: HeldCertificate | undefined;

  constructor(private readonly upstream: string, cfg: CredentialsConfig, private readonly scheme: HeldScheme) {
    this.held = cfg.mode === 'held';
    this.impersonate = this.held && cfg.impersonate;
    const holdsSecret = this.held && (cfg.tokenFile !== undefined || cfg.env !== undefined);
    this.secret = holdsSecret ? new HeldSecret(upstream, { ...(cfg.tokenFile !== undefined ? { tokenFile: cfg.tokenFile } : {}), ...(cfg.env !== undefined ? { env: cfg.env } : {}) }) : undefined;
    this.header = holdsSecret ? (cfg.header ?? scheme.header) : undefined;
    const fixed = cfg.prefix;
    this.prefix = fixed === undefined ? (s) => scheme.prefix(s) : () => fixed;
    this.certificate = this.held && cfg.clientCert !== undefined && cfg.clientKey !== undefined
      ? new HeldCertificate(upstream, cfg.clientCert, cfg.clientKey)
      : undefined;
  }

  /**
   * The gateway's own upstream credential headers: the held secret in its header, or nothing (passthrough, or a
   * held client certificate, which the connection carries). What the gateway's calls made as itself send (a
   * TokenReview of a caller's token). Read on every call, so a rotated secret counts at once; throws
   * WG_ERR_CREDENTIAL_UNAVAILABLE when the secret cannot be read.
   */
  ownHeaders(): Record<string, string> {
    if (!this.secret || !this.header) return {};
    const secret = this.secret.value();
    return { [this.header]: `${this.prefix(secret)}${secret}` };
  }

  /**
   * The headers that make the upstream act as `caller` (with `impersonate: true`; otherwise none). Without an
   * authenticated caller there is no one to impersonate, and the gateway's own identity must not stand in: refused.
   */
  impersonation(caller: Caller | undefined): Record<string, string | string[]> {
    if (!this.impersonate) return {};
    if (!caller) throw new WritegateError('WG_ERR_CREDENTIAL_UNAVAILABLE', `upstream ${this.upstream}: impersonate needs an authenticated caller (listen.auth)`);
    return this.scheme.impersonation!(caller);
  }

  /** The held client certificate and key, current (undefined: none held); throws WG_ERR_CREDENTIAL_UNAVAILABLE. */
  clientIdentity(): ClientIdentity | undefined {
    return this.certificate?.value();
  }

  /**
   * A masker of the secrets this upstream was sent lately, for one answer (undefined when no secret is held or none
   * was sent yet). src/upgrade.ts masks the answers it relays with it.
   */
  answerMasker(): SecretMasker | undefined {
    return this.secret?.recent.length ? new SecretMasker([...this.secret.recent]) : undefined;
  }

  /**
   * An undici interceptor that masks every answer (undefined when no secret is held). Both pools of the upstream's
   * client go through it, so no answer relayed to a caller — a forwarded response, a refused dry run — carries a
   * secret the gateway sent.
   */
  answerMask(): Dispatcher.DispatcherComposeInterceptor | undefined {
    if (!this.secret) return undefined;
    return (dispatch) => (options, handler) => {
      const masker = this.answerMasker();
      return dispatch(options, masker ? new MaskingHandler(handler, masker) : handler);
    };
  }
}

const STAR = 0x2a;

/** `%XX` escapes in lower-case hex. */
const lowerHex = (s: string): string => s.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());

/**
 * A secret as an upstream that echoes it may write it: literally, JSON-escaped (with `/` escaped too, as PHP's
 * json_encode does), percent-encoded (encodeURIComponent) and form-encoded (`+` for a space), each in upper- and
 * lower-case hex. Forms equal to another are listed once.
 */
function encodedForms(secret: Buffer): Buffer[] {
  const text = secret.toString('utf8');
  const json = JSON.stringify(text).slice(1, -1);
  const percent = encodeURIComponent(text);
  const form = new URLSearchParams([['', text]]).toString().slice(1);
  const forms = [json, json.replace(/\//g, '\\/'), percent, lowerHex(percent), form, lowerHex(form)];
  return [secret, ...[...new Set(forms)].filter((f) => f !== '' && f !== text).map((f) => Buffer.from(f, 'utf8'))];
}

/**
 * Masks secrets in one answer as it streams: every occurrence of a secret or of one of its encodedForms becomes as
 * many "*", in header values and in the body. Masks keep every length, so Content-Length and chunk framing stay
 * right. Only the bytes that could begin a secret are held back until the next chunk (or the end), so a watch's
 * events are not delayed. A compressed body, or a secret transformed any other way, is not looked into.
 */
export class SecretMasker {
  private carry = Buffer.alloc(0);
  private readonly secrets: readonly Buffer[];

  constructor(secrets: readonly Buffer[]) {
    this.secrets = secrets.flatMap(encodedForms);
  }

  text(text: string): string {
    const bytes = Buffer.from(text, 'latin1');
    this.mask(bytes);
    return bytes.toString('latin1');
  }

  headers<T extends string | string[] | undefined>(headers: Record<string, T>): Record<string, T> {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(headers)) out[k] = (Array.isArray(v) ? v.map((x) => this.text(x)) : v === undefined ? v : this.text(v)) as T;
    return out;
  }

  /** The body bytes ready to go on, masked (possibly none: a possible secret's start is held back). */
  chunk(chunk: Buffer): Buffer {
    // The chunk is copied only when it is joined to held-back bytes or has a secret to mask: the buffer undici or the
    // socket handed over is not written to.
    let bytes = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    if (this.secrets.some((s) => bytes.includes(s))) {
      if (bytes === chunk) bytes = Buffer.from(chunk);
      this.mask(bytes);
    }
    const hold = this.partialTail(bytes);
    this.carry = hold ? Buffer.from(bytes.subarray(bytes.length - hold)) : Buffer.alloc(0);
    return bytes.subarray(0, bytes.length - hold);
  }

  /** What was held back, at the end of the body. */
  end(): Buffer {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    return rest;
  }

  /** The same as a stream, for a body read with node:http. */
  transform(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => done(null, this.chunk(chunk)),
      flush: (done) => done(null, this.end()),
    });
  }

  private mask(bytes: Buffer): void {
    for (const s of this.secrets) {
      for (let at = bytes.indexOf(s); at !== -1; at = bytes.indexOf(s, at + s.length)) bytes.fill(STAR, at, at + s.length);
    }
  }

  /**
   * How many bytes at the end of `bytes` could be the start of a secret the next chunk completes: the longest tail
   * that is a proper prefix of one. Only positions holding a secret's first byte are compared.
   */
  private partialTail(bytes: Buffer): number {
    let hold = 0;
    for (const s of this.secrets) {
      const from = Math.max(0, bytes.length - s.length + 1);
      for (let at = bytes.indexOf(s[0]!, from); at !== -1 && bytes.length - at > hold; at = bytes.indexOf(s[0]!, at + 1)) {
        if (bytes.subarray(at).equals(s.subarray(0, bytes.length - at))) {
          hold = bytes.length - at;
          break;
        }
      }
    }
    return hold;
  }
}

/** What undici's DecoratorHandler passes on to the handler it wraps (its typings declare none of it). */
interface AnswerHandler {
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void;
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void;
  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void;
}

/** An answer read through undici, masked by a SecretMasker. */
class MaskingHandler extends (DecoratorHandler as unknown as new (handler: Dispatcher.DispatchHandler) => AnswerHandler) {
  constructor(handler: Dispatcher.DispatchHandler, private readonly masker: SecretMasker) {
    super(handler);
  }

  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    super.onResponseStart(controller, statusCode, this.masker.headers(headers), statusMessage);
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const ready = this.masker.chunk(chunk);
    if (ready.length) super.onResponseData(controller, ready);
  }

  override onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    const rest = this.masker.end();
    if (rest.length) super.onResponseData(controller, rest);
    super.onResponseEnd(controller, trailers);
  }
}
