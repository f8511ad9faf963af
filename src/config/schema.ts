import { isIP } from 'node:net';
import { z } from 'zod';
import { IDENTITY_MODES, type IdentityMode } from '../auth/caller.js';
import { KINDS, kindNamed, type RegisteredKind } from '../upstreams/registry.js';
import type { KindConfig, UpstreamKind } from '../upstreams/types.js';
import { credentialsIssues, credentialsSchema } from '../upstreams/credentials.js';
import { notifySchema } from '../notify/config.js';

const tlsClient = z.strictObject({
  /** PEM file with the CA that signed the upstream's serving certificate. */
  ca: z.string().optional(),
  /** Client certificate and key (PEM files) presented to the upstream. */
  cert: z.string().optional(),
  key: z.string().optional(),
  /** Skips verification of the upstream's certificate. Labs only. */
  insecureSkipVerify: z.boolean().default(false),
  /** Name to verify in the upstream certificate, when it differs from the target host. */
  serverName: z.string().optional(),
});

/** The `credentials` keys of kinds that hold their upstream credential their own way (UpstreamKind.credentialKeys). */
const KIND_CREDENTIAL_KEYS: z.ZodRawShape = Object.fromEntries((KINDS as readonly UpstreamKind[]).flatMap((k) => Object.entries(k.credentialKeys?.shape ?? {})));

/** The keys every upstream has, whatever its kind. */
const upstreamBase = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
  /** Mount path such as /k8s; requests under it go to `target` with the prefix removed. */
  prefix: z.string().regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, 'a path such as /k8s, no trailing slash'),
  target: z.url({ protocol: /^https?$/ }),
  /** OPA data path of the decision, e.g. writegate/kubernetes/decision. */
  policy: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/, 'an OPA data path such as writegate/kubernetes/decision'),
  /** enforce: deny what the policy denies. dryrun: forward, log "would deny". warn: forward, violations as Warning headers. */
  mode: z.enum(['enforce', 'dryrun', 'warn']).default('enforce'),
  /**
   * residual: decide in-process from OPA's compiled residual when it allows, and ask OPA's Data API for
   * everything else (src/residual/README.md). opa: ask the Data API for every write.
   */
  engine: z.enum(['residual', 'opa']).default('residual'),
  /** When OPA errors or times out, forward the write anyway (logged as fail_open). Default: fail closed. */
  failOpen: z.boolean().default(false),
  tls: tlsClient.default({ insecureSkipVerify: false }),
  /** Per-request upstream timeout for non-streaming calls (ms). Watches and upgrades are not cut. */
  timeoutMs: z.number().int().positive().default(30_000),
  /**
   * How `input.request.userInfo` is learnt. gateway: the caller listen.auth authenticated (needs listen.auth).
   * tokenreview (kubernetes): the caller's bearer token reviewed by the upstream. selfsubjectreview (kubernetes),
   * upstream (cloudflare, netbox): the upstream asked who the caller's own credentials are. none: no one.
   * Default: gateway with listen.auth; without it, the kind's first (selfsubjectreview, upstream; generic: none).
   */
  identity: z.enum(IDENTITY_MODES).optional(),
  /**
   * Whose credential goes upstream: the caller's (passthrough, default) or one the gateway holds
   * (src/upstreams/credentials.ts), with the keys of the kinds that hold theirs their own way (AWS's key pair). Typed
   * as the common block: a kind reads its own keys with its own schema (UpstreamKind.credentialKeys).
   */
  credentials: credentialsSchema.unwrap().extend(KIND_CREDENTIAL_KEYS).default(credentialsSchema.parse(undefined)) as unknown as typeof credentialsSchema,
});

/** `identity` is always set once the configuration is parsed (the default depends on listen.auth). */
export type UpstreamBase = Omit<z.output<typeof upstreamBase>, 'identity'> & { identity: IdentityMode };

const kindNames = KINDS.map((k) => k.name) as [RegisteredKind['name'], ...RegisteredKind['name'][]];

/**
 * An upstream: the common keys, `kind` (one of the registered kinds, src/upstreams/registry.ts) and that kind's
 * own options under a key named after it. A discriminated union on `kind`, checked so that every problem of an
 * entry is reported at once (zod's discriminatedUnion stops at an unknown kind); a left-out options block gets the
 * kind's defaults.
 */
const upstream = upstreamBase.extend({
  kind: z.enum(kindNames),
  ...Object.fromEntries(KINDS.map((k) => [k.name, (k.optionsSchema as z.ZodType).optional()])),
}).superRefine((u, ctx) => {
  const own = u as Record<string, unknown>;
  for (const k of KINDS) {
    if (k.name !== u.kind && own[k.name] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [k.name], message: `options of kind ${k.name} on an upstream of kind ${u.kind}` });
    }
  }
  const kind = kindNamed(u.kind);
  if (kind && own[u.kind] === undefined && !kind.optionsSchema.safeParse({}).success) {
    ctx.addIssue({ code: 'custom', path: [u.kind], message: `kind ${u.kind} needs its options block` });
  }
  if (kind && u.identity !== undefined && u.identity !== 'gateway' && !kind.identities.includes(u.identity)) {
    ctx.addIssue({ code: 'custom', path: ['identity'], message: `kind ${u.kind} takes identity ${['gateway', ...kind.identities].join(', ')}` });
  }
  const credentials = u.credentials as Record<string, unknown>;
  const issues = kind?.credentialKeys ? kind.credentialKeys.issues(credentials) : credentialsIssues(u.credentials, kind?.heldCredential, u.tls.cert);
  for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
  for (const other of KINDS as readonly UpstreamKind[]) {
    for (const key of other === kind ? [] : Object.keys(other.credentialKeys?.shape ?? {})) {
      if (credentials[key] !== undefined) ctx.addIssue({ code: 'custom', path: ['credentials', key], message: `a credentials key of kind ${other.name}, not of kind ${u.kind}` });
    }
  }
}).transform((u) => {
  const own = u as Record<string, unknown>;
  return own[u.kind] === undefined ? { ...u, [u.kind]: kindNamed(u.kind)!.optionsSchema.parse({}) } : u;
});

/** The configuration of one upstream of kind K, as its adapter receives it. */
type UpstreamOf<K> = K extends UpstreamKind<infer N, infer S> ? KindConfig<N, z.output<S>> : never;
/** The same as written in a configuration file (defaults not yet filled in). */
type RawUpstreamOf<K> = K extends UpstreamKind<infer N, infer S>
  ? z.input<typeof upstreamBase> & { kind: N } & { [P in N]?: z.input<S> }
  : never;

/** An HTTP header name (RFC 9110 §5.1 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** An IPv4 or IPv6 address, optionally with a prefix length within its family's bits. */
function isCidr(text: string): boolean {
  const [address, bits, more] = text.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || more !== undefined) return false;
  return bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

const DECISION_LOG_DEFAULTS = {
  path: './decisions.log', maxBytes: 100 * 1024 * 1024, keep: 5, refusedInputBytes: 4096, refusedPerSecond: 5, refusedBurst: 20,
};

const LIMITS_DEFAULTS = {
  bodyBytes: 3 * 1024 * 1024, headersTimeoutMs: 30_000, bodyTimeoutMs: 60_000, maxConnections: 4096,
  inflightBodyBytes: 64 * 1024 * 1024, inflightBodyBytesPerClient: 16 * 1024 * 1024, streamsPerClient: 256,
};

/** The Kubernetes resource types `writegate audit` lists by default: workloads and what they are made of. */
const AUDIT_KUBERNETES_RESOURCES = [
  'v1/namespaces', 'v1/pods', 'v1/services', 'v1/configmaps', 'v1/serviceaccounts',
  'apps/v1/deployments', 'apps/v1/statefulsets', 'apps/v1/daemonsets', 'apps/v1/replicasets', 'batch/v1/jobs', 'batch/v1/cronjobs',
];

const AUDIT_DEFAULTS = { kubernetes: { resources: AUDIT_KUBERNETES_RESOURCES }, pageSize: 100, concurrency: 8 };

export const configSchema = z.strictObject({
  listen: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8443),
    /** PEM files; without them the gateway serves plain HTTP (kubectl then sends no bearer token). */
    tls: z.strictObject({
      cert: z.string(),
      key: z.string(),
      /** PEM file of the CA(s) whose client certificates authenticate callers (CN = user, O = groups); needs listen.auth. */
      clientCA: z.string().optional(),
      /** optional: a client certificate is asked for, and one that does not verify is refused (401). required: no TLS connection without a verified one. */
      clientAuth: z.enum(['optional', 'required']).default('optional'),
    }).optional(),
    /** Caller authentication (src/auth/): absent, the gateway does not authenticate callers and each kind learns what it can upstream. */
    auth: z.strictObject({
      /** A request with no credential is `system:anonymous` (true) or gets 401 (false, the default). */
      anonymous: z.boolean().default(false),
      /** Static bearer tokens, kube-apiserver's --token-auth-file format (token,user,uid,"group1,group2"); re-read when it changes. */
      tokenFile: z.string().optional(),
      /** An authenticating proxy in front of the gateway, whose identity headers are honoured from it alone. */
      trustedProxy: z.strictObject({
        /** PEM file of the CA(s) the proxy's client certificate must chain to, never the users' listen.tls.clientCA (kube-apiserver's --requestheader-client-ca-file). */
        clientCA: z.string().optional(),
        /** CNs the proxy's certificate must have (needs clientCA; empty: any certificate of clientCA), as --requestheader-allowed-names. */
        clientCNs: z.array(z.string().min(1)).default([]),
        /** The proxy's addresses, as CIDRs (127.0.0.2/32) or single addresses. */
        addresses: z.array(z.string().refine(isCidr, 'an IP address or CIDR, e.g. 127.0.0.2/32')).default([]),
        headers: z.strictObject({
          user: z.string().regex(HEADER_NAME, 'a header name').default('X-Remote-User'),
          group: z.string().regex(HEADER_NAME, 'a header name').default('X-Remote-Group'),
          uid: z.string().regex(HEADER_NAME, 'a header name').default('X-Remote-Uid'),
          extraPrefix: z.string().regex(HEADER_NAME, 'a header name prefix').default('X-Remote-Extra-'),
        }).default({ user: 'X-Remote-User', group: 'X-Remote-Group', uid: 'X-Remote-Uid', extraPrefix: 'X-Remote-Extra-' }),
      }).optional(),
    }).optional(),
  }).default({ host: '127.0.0.1', port: 8443 }),
  opa: z.strictObject({
    /** Absent: writegate starts and supervises a local OPA loaded with `policies`. */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** Folder(s) loaded into the supervised local OPA. */
    policies: z.array(z.string()).default(['./policies']),
    /** A decision that takes longer is an OPA timeout (fail closed). */
    timeoutMs: z.number().int().positive().default(2_000),
    /**
     * Shadow verification (src/decision/verify.ts): residual allows re-checked by the Data API off the request path.
     * sampleRate: the fraction re-checked (0 turns it off). queue: re-checks waiting at most; beyond it they are
     * dropped (counted), never waited for.
     */
    verifyResidual: z.strictObject({
      sampleRate: z.number().min(0).max(1).default(1.0),
      queue: z.number().int().positive().default(10_000),
    }).default({ sampleRate: 1.0, queue: 10_000 }),
  }).default({ policies: ['./policies'], timeoutMs: 2_000, verifyResidual: { sampleRate: 1.0, queue: 10_000 } }),
  decisionLog: z.strictObject({
    /** JSON lines file; `-` writes to stdout. */
    path: z.string().default('./decisions.log'),
    /** The file is rotated (renamed to PATH.1, PATH.1 to PATH.2, ...) before a batch would take it past this size. */
    maxBytes: z.number().int().positive().default(DECISION_LOG_DEFAULTS.maxBytes),
    /** Rotated files kept besides the current one (PATH.1 ... PATH.keep); older ones are removed. */
    keep: z.number().int().min(1).default(DECISION_LOG_DEFAULTS.keep),
    /** A record of a request that was not forwarded keeps its `input` and `result` only up to this size (serialised); a larger one becomes a summary. */
    refusedInputBytes: z.number().int().min(256).default(DECISION_LOG_DEFAULTS.refusedInputBytes),
    /** Records of requests that were not forwarded, per client address (IPv6: per /64) and second; the rest are counted in `writegate/suppressed` records. */
    refusedPerSecond: z.number().positive().default(DECISION_LOG_DEFAULTS.refusedPerSecond),
    /** Burst of such records a client may write at once. */
    refusedBurst: z.number().int().positive().default(DECISION_LOG_DEFAULTS.refusedBurst),
  }).default(DECISION_LOG_DEFAULTS),
  limits: z.strictObject({
    /** Largest write body buffered for evaluation (kube-apiserver's own limit is 3 MiB). */
    bodyBytes: z.number().int().positive().default(LIMITS_DEFAULTS.bodyBytes),
    /** The request line and headers must arrive within this time (Node's server.headersTimeout). */
    headersTimeoutMs: z.number().int().positive().default(LIMITS_DEFAULTS.headersTimeoutMs),
    /**
     * The whole request, headers and body, must arrive within this time of its first byte (Node's
     * server.requestTimeout). Responses are not timed: watches, log follows and exec streams stay open.
     */
    bodyTimeoutMs: z.number().int().positive().default(LIMITS_DEFAULTS.bodyTimeoutMs),
    /** Client connections open at once; more are closed as they arrive. */
    maxConnections: z.number().int().positive().default(LIMITS_DEFAULTS.maxConnections),
    /** Write bodies buffered at once across the gateway (bytes); a write beyond it gets 503 WG_ERR_OVERLOADED. */
    inflightBodyBytes: z.number().int().positive().default(LIMITS_DEFAULTS.inflightBodyBytes),
    /** The share of it one client address (IPv6: /64) may hold, so one client cannot block everyone's writes. */
    inflightBodyBytesPerClient: z.number().int().positive().default(LIMITS_DEFAULTS.inflightBodyBytesPerClient),
    /** Per client address (IPv6: /64): reads in flight (watches, log follows, any GET) plus exec/attach/port-forward sessions; more get 429 WG_ERR_TOO_MANY_STREAMS. */
    streamsPerClient: z.number().int().positive().default(LIMITS_DEFAULTS.streamsPerClient),
    /**
     * Per caller (its authenticated user, else its credential, else its address; src/auth/limits.ts), across every
     * mount: requests per second (rps) with room for a burst, and requests in flight at once; more get 429
     * WG_ERR_RATE_LIMITED. Default: no per-caller limit.
     */
    perCaller: z.strictObject({
      rps: z.number().positive(),
      burst: z.number().int().positive(),
      concurrent: z.number().int().positive(),
    }).optional(),
  }).default(LIMITS_DEFAULTS),
  /**
   * The policy lifecycle (`writegate policy`, src/policy/). Absent, or without tokenFile: the admin API
   * (/-/admin/policies/...) is off and its paths answer 404.
   */
  admin: z.strictObject({
    /** File holding the admin API's bearer token (16 characters or more), relative to the config file; set, the API is on. */
    tokenFile: z.string().min(1).optional(),
    /** Git URL or folder the admin API plans, pushes and checks drift from (the API refuses without it). */
    source: z.string().min(1).optional(),
    /** Package prefixes (such as writegate.kubernetes) whose changes need the plan hash as approval; none by default. */
    protect: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a package such as writegate.kubernetes')).default([]),
    /** The push log (JSON lines), relative to the config file; default .work/policy-push.log in the project folder. */
    pushLog: z.string().min(1).optional(),
  }).optional(),
  /** Notifications of denied writes, drift, audit violations and residual mismatches (src/notify/config.ts). Absent: none. */
  notify: notifySchema.optional(),
  /** `writegate audit` (src/audit/): what it reads from each upstream, and how hard it may press each API. */
  audit: z.strictObject({
    kubernetes: z.strictObject({
      /** Resource types listed across namespaces: `v1/pods` (core group) or `apps/v1/deployments`. */
      resources: z.array(z.string().regex(/^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?\/[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a resource type such as v1/pods or apps/v1/deployments')).min(1).default(AUDIT_KUBERNETES_RESOURCES),
    }).default(AUDIT_DEFAULTS.kubernetes),
    /** Objects asked for per list call (Kubernetes limit, NetBox limit, Cloudflare per_page within its bounds, IAM MaxItems). */
    pageSize: z.number().int().min(1).max(1000).default(AUDIT_DEFAULTS.pageSize),
    /** OPA evaluations in flight at once, per source. */
    concurrency: z.number().int().min(1).max(64).default(AUDIT_DEFAULTS.concurrency),
  }).default(AUDIT_DEFAULTS),
  upstreams: z.array(upstream).min(1),
}).superRefine((cfg, ctx) => {
  // Node refuses a headersTimeout above requestTimeout (lib/_http_server.js storeHTTPOptions).
  if (cfg.limits.headersTimeoutMs > cfg.limits.bodyTimeoutMs) {
    ctx.addIssue({ code: 'custom', path: ['limits', 'headersTimeoutMs'], message: 'must not exceed limits.bodyTimeoutMs' });
  }
  if (cfg.limits.inflightBodyBytes < cfg.limits.bodyBytes) {
    ctx.addIssue({ code: 'custom', path: ['limits', 'inflightBodyBytes'], message: 'must be at least limits.bodyBytes' });
  }
  if (cfg.limits.inflightBodyBytesPerClient < cfg.limits.bodyBytes) {
    ctx.addIssue({ code: 'custom', path: ['limits', 'inflightBodyBytesPerClient'], message: 'must be at least limits.bodyBytes' });
  }
  const { tls, auth } = cfg.listen;
  if (tls?.clientCA !== undefined && !auth) {
    ctx.addIssue({ code: 'custom', path: ['listen', 'tls', 'clientCA'], message: 'client certificates are an identity: add listen.auth (listen.auth: {} for certificates alone)' });
  }
  if (tls?.clientAuth === 'required' && tls.clientCA === undefined) {
    ctx.addIssue({ code: 'custom', path: ['listen', 'tls', 'clientAuth'], message: 'required needs listen.tls.clientCA' });
  }
  if (auth?.trustedProxy) {
    const { clientCA, clientCNs, addresses } = auth.trustedProxy;
    if (clientCA === undefined && clientCNs.length === 0 && addresses.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['listen', 'auth', 'trustedProxy'], message: 'name the proxy by clientCA, clientCNs or addresses' });
    }
    // Without a CA of its own, the proxy's certificate is verified against the users' CA (the issue's form); that is
    // only as strong as that CA's refusal to issue the proxy's CN to anyone else (see SECURITY.md).
    if (clientCNs.length > 0 && clientCA === undefined && tls?.clientCA === undefined) {
      ctx.addIssue({ code: 'custom', path: ['listen', 'auth', 'trustedProxy', 'clientCNs'], message: 'a proxy known by its certificate needs listen.auth.trustedProxy.clientCA (recommended: a CA that issues no user certificates) or listen.tls.clientCA' });
    }
    if (auth.trustedProxy.clientCA !== undefined && !tls) {
      ctx.addIssue({ code: 'custom', path: ['listen', 'auth', 'trustedProxy', 'clientCA'], message: 'a proxy known by its certificate needs listen.tls' });
    }
  }
  const seen = new Map<string, number>();
  cfg.upstreams.forEach((u, i) => {
    if (seen.has(u.name)) ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'name'], message: `duplicate upstream name "${u.name}"` });
    seen.set(u.name, i);
    cfg.upstreams.forEach((o, j) => {
      if (j !== i && (u.prefix === o.prefix || u.prefix.startsWith(`${o.prefix}/`))) {
        ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'prefix'], message: `prefix "${u.prefix}" overlaps "${o.prefix}" of upstream ${o.name}` });
      }
    });
    if ((u.tls.cert === undefined) !== (u.tls.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'tls'], message: 'cert and key go together' });
    }
    if (u.identity === 'gateway' && !auth) {
      ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'identity'], message: 'gateway needs listen.auth (the gateway authenticates no caller without it)' });
    }
    // Impersonation tells the upstream the caller the gateway authenticated (or its TokenReview named).
    if (u.credentials.mode === 'held' && u.credentials.impersonate && !auth && u.identity !== 'tokenreview') {
      ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'credentials', 'impersonate'], message: 'needs listen.auth or identity: tokenreview (there is no authenticated caller to impersonate otherwise)' });
    }
  });
}).transform((cfg) => ({
  ...cfg,
  // With listen.auth the gateway knows the caller; without it, the kind learns what it can upstream.
  upstreams: cfg.upstreams.map((u) => ({ ...u, identity: u.identity ?? (cfg.listen.auth ? 'gateway' : kindNamed(u.kind)!.identities[0]) })),
}));

/** An upstream's configuration: a union discriminated by `kind`, one member per registered kind. */
export type UpstreamConfig = UpstreamOf<RegisteredKind>;
export type Config = Omit<z.output<typeof configSchema>, 'upstreams'> & { upstreams: UpstreamConfig[] };
export type RawConfig = Omit<z.input<typeof configSchema>, 'upstreams'> & { upstreams: RawUpstreamOf<RegisteredKind>[] };

/** `u` as an upstream of kind `name`, with that kind's options typed (tests and tools that build one adapter). */
export function ofKind<N extends UpstreamConfig['kind']>(u: UpstreamConfig, name: N): Extract<UpstreamConfig, { kind: N }> {
  if (u.kind !== name) throw new Error(`upstream ${u.name} is of kind ${u.kind}, not ${name}`);
  return u as Extract<UpstreamConfig, { kind: N }>;
}
