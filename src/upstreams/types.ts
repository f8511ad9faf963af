import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { UpstreamBase } from '../config/schema.js';
import type { AuthRecord, Caller, IdentityMode } from '../auth/caller.js';
import type { TokenReviewer } from '../auth/stage.js';
import type { ErrorCode, WritegateError } from '../errors.js';
import type { UpstreamClient } from './client.js';
import type { HeldScheme } from './credentials.js';

/** A request as the gate sees it, independent of Fastify (upgrades arrive outside Fastify). */
export interface GateRequest {
  method: string;
  /** Path and query relative to the upstream mount (prefix removed), still percent-encoded. */
  url: string;
  /** The end-to-end headers, as every hop after the gateway sees them (src/upstreams/headers.ts). */
  headers: IncomingHttpHeaders;
  upgrade: boolean;
  remoteAddress: string;
  /** Whether the client reached the gateway over TLS (what a kind's forwarded-for headers report as the scheme). */
  secure?: boolean;
  /**
   * The caller as the gateway authenticated it (`listen.auth`, src/auth/), or as the upstream's TokenReview named it
   * (Kubernetes `identity: tokenreview`), before the adapter runs; undefined otherwise (the kind then learns what it
   * can from the upstream).
   */
  caller?: Caller;
  /** What the authentication stage records of this request in the decision log (src/auth/stage.ts). */
  authRecord?: AuthRecord;
}

export interface Classified {
  isRead: boolean;
  /**
   * Whether it is a read can only be told from the body (a GraphQL `POST` query, an AWS-style `Action=Describe*`
   * form): the body is buffered as for a write, then {@link UpstreamAdapter.classifyBody} gives the final answer.
   * A read so classified is forwarded with exactly the buffered bytes, and without a decision.
   */
  needsBody?: boolean;
  /** Operation of a gated request (CREATE, UPDATE, DELETE, or the kind's own such as CONNECT). */
  operation: string | undefined;
  /** Short label for logs and metrics, e.g. "patch deployments.apps default/web". */
  summary: string;
  /** Adapter-specific parse of the request, handed back to buildInput. */
  detail: unknown;
  /** The caller whose credential a kind that authenticates its own callers verified (UpstreamAdapter.authenticatesCallers). */
  caller?: Caller;
  /**
   * Set by buildInput when the bytes to forward are the client's body plus a precondition that pins the write to
   * the object version the policy judged (src/upstreams/kubernetes/pin.ts); the decision log records it.
   */
  forward?: ForwardedBody;
}

export interface ForwardedBody {
  body: Buffer;
  contentType: string;
  /** What was added, e.g. {"resourceVersion": "4711"}. */
  precondition: Record<string, string>;
  /** Request headers that carry the precondition instead of the body (NetBox's `If-Match`), replacing a client's. */
  headers?: Record<string, string>;
}

export interface Violation {
  msg: string;
  [key: string]: unknown;
}

export interface RenderedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string | Buffer;
}

/**
 * A kind's request-header rules, applied by the one header builder (src/upstreams/headers.ts) on top of the
 * generic hop-by-hop and `Connection` rules of src/http/headers.ts. Names are lower-case; a name ending in "-"
 * is a prefix.
 */
export interface HeaderRules {
  /**
   * Client headers removed from everything forwarded: identity headers the upstream trusts only from the gateway
   * (Kubernetes' front-proxy `X-Remote-*`). The policy never sees them either.
   */
  readonly stripped: readonly string[];
  /**
   * End-to-end headers of this kind that a client's `Connection` header may not list (RFC 9110 §7.6.1): the gateway
   * would judge a request carrying one and the upstream execute one without it (`Impersonate-*`). Refused.
   */
  readonly protected: readonly string[];
  /**
   * The headers that make the upstream see this caller, for the gateway's own calls on the caller's behalf
   * (current object, dry run, identity lookup). Throws a WritegateError when the caller's credentials are
   * ambiguous (the upstream's choice between them would be a guess).
   */
  credentials(req: GateRequest): Record<string, string | string[]>;
  /**
   * The request headers that carry a caller's credentials for this kind (what {@link credentials} reads). When the
   * gateway holds the upstream credential (`credentials.mode: held`) they are removed from everything sent upstream.
   */
  readonly callerCredentials: readonly string[];
  /**
   * Why a request cannot go upstream with a credential the gateway holds, if it cannot: it asks the upstream to act
   * as someone else (Kubernetes `Impersonate-*`), which the upstream would then check against the gateway's rights
   * instead of the caller's. Refused before anything else.
   */
  refuseHeld?(headers: IncomingHttpHeaders): WritegateError | undefined;
  /**
   * Headers the gateway sets on every request it forwards to this upstream, replacing a client's of the same name:
   * NetBox builds the absolute URLs it answers from `X-Forwarded-Host`/`-Proto`, which must name the gateway.
   */
  added?(req: GateRequest): Record<string, string | string[]>;
}

/**
 * One adapter per mounted upstream: everything kind-specific. The gate orchestrates (classify, body, input,
 * decision, log, forward or deny) and knows nothing of any kind's formats.
 */
export interface UpstreamAdapter {
  /** The kind's name, as in the configuration's `kind` (also `input.upstreamKind`). */
  readonly kind: string;
  /** The kind's request-header rules (stripped and protected identity headers, caller credentials). */
  readonly headers: HeaderRules;
  /**
   * How to fix a catalogue error as it arises with this kind (e.g. which media types a write may use). Rendered by
   * renderError's envelope where the kind's clients show it; codes and statuses stay those of src/errors.ts.
   */
  readonly fixes: Partial<Record<ErrorCode, string>>;
  /**
   * Read or write, from method, path, query and headers, before any body byte is read (reads stream through).
   * Throws a WritegateError for requests the gateway refuses outright (ambiguous paths, unsupported upgrades).
   * May answer `needsBody` when only the body can tell.
   */
  classify(req: GateRequest): Classified;
  /**
   * The final classification of a request classified with `needsBody`, from its buffered body (a GraphQL query
   * is a read, a mutation a write). Required when classify can answer `needsBody`.
   */
  classifyBody?(req: GateRequest, classified: Classified, body: Buffer): Classified;
  /**
   * The policy input for a gated request, with what it needs from the upstream: the current object (`oldObject`)
   * and a dry run of the write, fetched through `upstream` with the caller's credentials (`headers.credentials`).
   * It may set `classified.forward` to pin the write to what was judged. Throws WritegateError on malformed bodies;
   * an error whose `details.caller` is set is logged with that caller.
   */
  buildInput(req: GateRequest, classified: Classified, body: Buffer | undefined, upstream: UpstreamClient): Promise<Record<string, unknown>>;
  /**
   * The upstream's own token authenticator (Kubernetes `identity: tokenreview`): a bearer token the gateway's own
   * methods do not know is reviewed upstream by the authentication stage, for every request of the mount.
   */
  readonly tokenReviewer?: TokenReviewer;
  /**
   * The kind authenticates every request of its mounts itself, from the request's own bytes (AWS: SigV4 against
   * `aws.callers`, which covers the body): with `listen.auth` the authentication stage names no caller and answers no
   * 401 for the lack of a gateway credential, identity headers are removed and never facts, and the request's caller
   * is the one {@link classifyBody} verified (`Classified.caller`); limits.perCaller counts it from then on.
   */
  readonly authenticatesCallers?: boolean;
  /** The answer to a denied request, in the kind's native error envelope, naming every violation and the decision id. */
  renderDeny(reasons: Violation[], decisionId: string): RenderedResponse;
  /** The answer to a refused request or a failure, in the kind's native error envelope, with the code and decision id. */
  renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse;
  /** Response header values that carry warnings to the kind's clients (Kubernetes: `Warning: 299 - "..."`). */
  warningHeaders(warnings: Violation[]): string[];
  /** A copy of the input with credentials and secret values masked, for the decision log. */
  maskInput(input: Record<string, unknown>): Record<string, unknown>;
  /**
   * The headers of a buffered request the proxy forwards (a write, or a read classified by its body), for a kind
   * whose upstream authenticates a signature over the request itself (AWS SigV4): `forward.headers` re-signed with
   * the held credential for exactly this method, target, `Host` and body. Called by the proxy last, after every other
   * header rule; a kind without it forwards the headers as they are.
   */
  signForward?(req: GateRequest, forward: ForwardRequest): Record<string, string | string[]>;
}

/** A request as it is about to go upstream (UpstreamAdapter.signForward). */
export interface ForwardRequest {
  method: string;
  /** The path and query sent upstream (the target's base path included), percent-encoded as sent. */
  target: string;
  /** The headers about to be sent (the forwarder adds `Host` and `Content-Length` for the upstream's own). */
  headers: Record<string, string | string[]>;
  /** The exact body bytes sent (empty for none). */
  body: Buffer;
}

/** What a kind's adapter is built with. */
export interface AdapterDeps {
  /** The upstream's client for the gateway's own calls (identity, current object, dry run). */
  client: UpstreamClient;
}

/**
 * An upstream's configuration as its kind's adapter receives it: the common keys of every upstream, `kind`, and
 * the kind's own options under a key named after the kind (`kubernetes: {resolve: local}`).
 */
export type KindConfig<N extends string, O> = UpstreamBase & { readonly kind: N } & { readonly [K in N]: O };

/**
 * A kind of upstream, registered with one line in src/upstreams/registry.ts. Everything that knows the kind's API
 * lives in src/upstreams/<name>/; its index.ts exports this object.
 */
export interface UpstreamKind<N extends string = string, S extends z.ZodType = z.ZodType> {
  /** The configuration's `kind` value, and the key of the kind's own options block. */
  readonly name: N;
  /**
   * The kind's own options block (`upstreams[].<name>`), with defaults commented inline; it must accept `{}` when
   * every option has a default (the block may then be left out).
   */
  readonly optionsSchema: S;
  /** How a credential the gateway holds for this kind's upstreams is sent (`upstreams[].credentials.mode: held`). */
  readonly heldCredential: HeldScheme;
  /**
   * Keys of `upstreams[].credentials` that only this kind takes (AWS's key pair: accessKeyIdFile, ...), and the check
   * of a credentials block on this kind's upstreams, which then replaces the common one (src/upstreams/credentials.ts).
   */
  readonly credentialKeys?: {
    readonly shape: z.ZodRawShape;
    issues(credentials: Record<string, unknown>): { path: string[]; message: string }[];
  };
  /**
   * The values `upstreams[].identity` may take for this kind besides `gateway` (which every kind takes, with
   * `listen.auth`), the first being the default without `listen.auth`.
   */
  readonly identities: readonly [IdentityMode, ...IdentityMode[]];
  /**
   * File paths among the kind's own keys (its options block, its credentialKeys), resolved with `abs` against the
   * configuration file's folder as every other path is (src/config/load.ts). Mutates the fresh, not yet frozen
   * configuration.
   */
  resolvePaths?(config: KindConfig<N, z.output<S>>, abs: (path: string) => string): void;
  /** Builds the adapter of one mounted upstream; called once at start, with the validated, frozen configuration. */
  create(config: KindConfig<N, z.output<S>>, deps: AdapterDeps): UpstreamAdapter;
}

/** Declares a kind with its name and options types inferred (`export const fooKind = defineKind({...})`). */
export function defineKind<N extends string, S extends z.ZodType>(kind: UpstreamKind<N, S>): UpstreamKind<N, S> {
  return kind;
}
