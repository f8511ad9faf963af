/**
 * Caller authentication (`listen.auth`, `listen.tls.clientCA`): who is calling, proven, before any adapter runs,
 * for proxied requests and upgrades alike. The methods are tried in kube-apiserver's union order
 * (pkg/kubeapiserver/authenticator/config.go): the trusted authenticating proxy's `X-Remote-*` headers, then the
 * client certificate, then a bearer token of `tokenFile`, and the first that authenticates is the caller. Then, on
 * a Kubernetes mount with `identity: tokenreview`, a bearer token no local method knew is reviewed upstream
 * (src/auth/stage.ts). A credential that is presented and fails (a certificate that does not verify, an unknown
 * token) is a 401 whatever `anonymous` says, as the apiserver answers; only a request with no credential at all is
 * anonymous, and only with `anonymous: true`.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/schema.js';
import { WritegateError } from '../errors.js';
import { ANONYMOUS_CALLER, authenticatedCaller, type Caller } from './caller.js';
import { TokenFile } from './token-file.js';

type Listen = Config['listen'];

/** What the authentication of one request established, for the gate and its decision record. */
export interface Authentication {
  /** The caller; undefined when no local method authenticated one (see `bearer` and `refused`). */
  caller?: Caller;
  /** The request's headers without the ones this stage consumed (a gateway token) or would not trust (spoofed identity headers). */
  headers: IncomingHttpHeaders;
  /** Identity headers a peer that is not a trusted proxy sent: removed, and recorded. */
  stripped: string[];
  /** A bearer token no local method knew, for a mount that reviews tokens upstream (`identity: tokenreview`). */
  bearer?: string;
  /** The first 12 hex digits of the SHA-256 of the gateway token that authenticated the caller (never the token). */
  tokenDigest?: string;
  /** Why the request gets 401 when no mount-level method takes over. */
  refused?: WritegateError;
}

/** The TLS peer as the listener verified it. */
interface PeerCertificate {
  /** Verified by the listener against its CAs, listen.tls.clientCA and trustedProxy.clientCA (chain, validity dates, client-auth usage). */
  verified: boolean;
  /** Verified, and chains to listen.tls.clientCA: a user's certificate. */
  user: boolean;
  /** Verified, and chains to listen.auth.trustedProxy.clientCA: the trusted proxy's certificate. */
  proxy: boolean;
  /** Why not, as OpenSSL says (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED). */
  problem: string;
  commonNames: string[];
  organizations: string[];
  /** The subject's `1.3.6.1.4.1.57683.2` values (the apiserver reads the first as the user's uid). */
  uids: string[];
  /** SHA-256 of the DER certificate, lower-case hex. */
  sha256: string;
}

/** The subject attribute kube-apiserver reads as the user's uid (feature AllowParsingUserUIDFromCertAuth, beta in 1.34). */
const UID_OID = '1.3.6.1.4.1.57683.2';

/** The extra key under which the apiserver records which credential authenticated a user (user.CredentialIDKey). */
const CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The CA certificates of a PEM file (listen.tls.clientCA, trustedProxy.clientCA). */
function caCertificates(file: string | undefined): X509Certificate[] {
  if (file === undefined) return [];
  const blocks = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new WritegateError('WG_ERR_CONFIG_INVALID', `${file} holds no PEM certificate`);
  return blocks.map((b) => new X509Certificate(b));
}

function validAt(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * Whether `leaf` chains to one of `anchors` through the certificates the peer sent with it (`sent`): each link named
 * and signed by the next, each intermediate a CA within its validity dates. The listener verified the chain against
 * all its CAs at once; this tells which CA file it reaches. A chain built otherwise (cross-signed) does not count.
 */
function chainsTo(leaf: X509Certificate, sent: X509Certificate[], anchors: X509Certificate[]): boolean {
  const now = Date.now();
  const unused = new Set(sent);
  let current = leaf;
  for (;;) {
    if (anchors.some((a) => validAt(a, now) && signedBy(current, a))) return true;
    const next = [...unused].find((c) => c.ca && validAt(c, now) && signedBy(current, c));
    if (!next) return false;
    unused.delete(next);
    current = next;
  }
}

/** The certificates of a peer's chain as the listener got it, leaf first, each once. */
function sentChain(cert: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const raws = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = cert; c?.raw && !raws.has(c.fingerprint256); c = c.issuerCertificate) {
    raws.add(c.fingerprint256);
    chain.push(new X509Certificate(c.raw));
  }
  return chain;
}

/** Which of the CAs a client certificate chains to. */
interface Reaches {
  user: boolean;
  proxy: boolean;
}

/**
 * The CAs client certificates are told apart by, and what each certificate was found to reach on a full handshake,
 * by its SHA-256: a resumed TLS session carries the leaf and the listener's verdict but not the chain the client
 * sent, so a certificate through an intermediate is known again by what its first connection showed. Kept longer
 * than a TLS session lives (Node's sessionTimeout, 300 s by default); without an entry the leaf alone is checked.
 */
class Chains {
  private readonly reached = new LRUCache<string, Reaches>({ max: 10_000, ttl: 3_600_000 });

  constructor(readonly users: X509Certificate[], readonly proxies: X509Certificate[]) {}

  of(socket: TLSSocket, leaf: X509Certificate, sent: X509Certificate[], sha256: string): Reaches {
    if (!socket.authorized) return { user: false, proxy: false };
    const known = socket.isSessionReused() ? this.reached.get(sha256) : undefined;
    if (known) return known;
    const reaches = { user: chainsTo(leaf, sent, this.users), proxy: chainsTo(leaf, sent, this.proxies) };
    this.reached.set(sha256, reaches);
    return reaches;
  }
}

const certificates = new WeakMap<TLSSocket, PeerCertificate | null>();

/** The client certificate of a TLS connection, read once per connection; null when none was presented. */
function peerCertificate(socket: TLSSocket, chains: Chains): PeerCertificate | null {
  const known = certificates.get(socket);
  if (known !== undefined) return known;
  const cert = socket.getPeerCertificate(true);
  const [leaf, ...sent] = cert?.raw ? sentChain(cert) : [];
  const sha256 = leaf ? createHash('sha256').update(leaf.raw).digest('hex') : '';
  const peer = !leaf ? null : {
    verified: socket.authorized,
    ...chains.of(socket, leaf, sent, sha256),
    problem: String(socket.authorizationError ?? ''),
    commonNames: values(cert.subject?.CN),
    organizations: values(cert.subject?.O),
    uids: values((cert.subject as unknown as Record<string, string | string[] | undefined> | undefined)?.[UID_OID]),
    sha256,
  };
  certificates.set(socket, peer);
  return peer;
}

/**
 * The caller a verified certificate names, as k8s.io/apiserver's x509 CommonNameUserConversion reads it: CN is the
 * user (none: the certificate authenticates no one), each O a group, the uid attribute the uid, and the certificate's
 * fingerprint the credential id. A subject with several CNs or uids is refused rather than read one way.
 */
function certificateCaller(cert: PeerCertificate): Caller | WritegateError | undefined {
  if (cert.commonNames.length > 1) return new WritegateError('WG_ERR_UNAUTHENTICATED', 'the client certificate names more than one CN');
  if (cert.uids.length > 1) return new WritegateError('WG_ERR_UNAUTHENTICATED', 'the client certificate names more than one uid');
  const username = cert.commonNames[0] ?? '';
  if (username === '') return undefined;
  return authenticatedCaller({
    username, uid: cert.uids[0] ?? '', groups: [...cert.organizations], extra: { [CREDENTIAL_ID]: [`X509SHA256=${cert.sha256}`] }, authenticatedBy: 'x509',
  });
}

/**
 * The token of an `Authorization: Bearer` header as the apiserver's bearertoken authenticator reads it: the value
 * trimmed, split on single spaces, the scheme "bearer" in any case, the second part the token (undefined: none).
 */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization?.trim();
  if (!value) return undefined;
  const parts = value.split(' ');
  if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer' || parts[1] === '') return undefined;
  return parts[1];
}

/**
 * A gateway token: `Authorization: Bearer <token>` read as the apiserver reads it, or `Authorization: Token <token>`,
 * the scheme NetBox clients send (pynetbox), so that a client of any kind can present one in its own way.
 */
function gatewayToken(headers: IncomingHttpHeaders): string | undefined {
  const bearer = bearerToken(headers);
  if (bearer !== undefined) return bearer;
  const parts = (headers.authorization?.trim() ?? '').split(' ');
  return parts.length === 2 && parts[0]!.toLowerCase() === 'token' && parts[1] !== '' ? parts[1] : undefined;
}

/** The WebSocket subprotocol prefix of a bearer token (k8s.io/apiserver's websocket ProtocolAuthenticator). */
const BEARER_SUBPROTOCOL = 'base64url.bearer.authorization.k8s.io.';

/** Whether a `Sec-WebSocket-Protocol` entry (values split on ",", trimmed, as the apiserver reads them) is a bearer token. */
function hasBearerSubprotocol(headers: IncomingHttpHeaders): boolean {
  return values(headers['sec-websocket-protocol']).flatMap((v) => v.split(',')).some((p) => p.trim().startsWith(BEARER_SUBPROTOCOL));
}

/** An address as the BlockList compares it: IPv4-mapped IPv6 (`::ffff:127.0.0.2`) as IPv4. */
function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return { address: v4[1]!, family: 'ipv4' };
  const family = isIP(address);
  return family === 4 ? { address, family: 'ipv4' } : family === 6 ? { address, family: 'ipv6' } : undefined;
}

/** Header names of the trusted proxy, lower-case. */
interface ProxyHeaders {
  user: string;
  group: string;
  uid: string;
  extraPrefix: string;
}

/** An extra key as the requestheader authenticator's unescapeExtraKey reads it: percent-decoded, or as it is when it does not decode. */
function percentDecoded(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

export class CallerAuth {
  private readonly tokens: TokenFile | undefined;
  private readonly anonymous: boolean;
  private readonly chains: Chains;
  private readonly proxyCNs: Set<string>;
  /**
   * The trusted proxy is known by a CN of listen.tls.clientCA (no trustedProxy.clientCA): as safe as that CA's
   * issuance of the proxy's CN; the app warns at start.
   */
  readonly proxyCAShared: boolean;
  private readonly proxyAddresses: BlockList;
  private readonly proxyHeaders: ProxyHeaders | undefined;

  /**
   * Throws WG_ERR_CONFIG_INVALID when the token file cannot be read at start, or when a CA file holds no certificate
   * or the proxy's CA file shares a CA with the users' (a user's certificate could then be the proxy's).
   */
  constructor(listen: Listen, onTokenFile?: (problem: string | undefined) => void) {
    const auth = listen.auth!;
    const proxy = auth.trustedProxy;
    const users = caCertificates(listen.tls?.clientCA);
    // Without trustedProxy.clientCA the proxy's certificate chains to the users' CA and is told apart by its CN alone
    // (clientCNs, required then); with it, the two CAs must differ, so that no user's certificate can be the proxy's.
    this.proxyCAShared = proxy !== undefined && proxy.clientCA === undefined && proxy.clientCNs.length > 0;
    this.chains = new Chains(users, this.proxyCAShared ? users : caCertificates(proxy?.clientCA));
    const shared = this.proxyCAShared ? undefined : this.chains.proxies.find((p) => this.chains.users.some((u) => u.fingerprint256 === p.fingerprint256));
    if (shared) throw new WritegateError('WG_ERR_CONFIG_INVALID', `listen.auth.trustedProxy.clientCA: ${shared.subject.replace(/\n/g, ', ')} is also in listen.tls.clientCA; the proxy's CA must issue no user certificates`);
    this.anonymous = auth.anonymous;
    this.tokens = auth.tokenFile === undefined ? undefined : new TokenFile(auth.tokenFile, onTokenFile);
    this.proxyCNs = new Set(proxy?.clientCNs ?? []);
    this.proxyAddresses = new BlockList();
    for (const cidr of proxy?.addresses ?? []) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      this.proxyAddresses.addSubnet(address, bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits), family);
    }
    this.proxyHeaders = proxy && {
      user: proxy.headers.user.toLowerCase(),
      group: proxy.headers.group.toLowerCase(),
      uid: proxy.headers.uid.toLowerCase(),
      extraPrefix: proxy.headers.extraPrefix.toLowerCase(),
    };
  }

  /**
   * Authenticates one request from its connection and its end-to-end headers (`distinct`: the same headers with
   * every field line kept apart, IncomingMessage.headersDistinct, so that two `X-Remote-Group` lines stay two groups).
   */
  authenticate(socket: unknown, remoteAddress: string, headers: IncomingHttpHeaders, distinct: NodeJS.Dict<string[]>): Authentication {
    const tls = (socket as { encrypted?: boolean }).encrypted === true ? socket as TLSSocket : undefined;
    const cert = tls ? peerCertificate(tls, this.chains) : null;
    let out: IncomingHttpHeaders = headers;
    const stripped: string[] = [];

    // The trusted proxy's headers: facts from a trusted peer, removed from every other request and recorded.
    let proxied: Caller | undefined;
    const names = this.identityHeaderNames(headers);
    if (names.length > 0) {
      out = { ...headers };
      for (const name of names) delete out[name];
      if (this.trustsProxy(cert, remoteAddress)) proxied = this.proxyCaller(names, distinct);
      else stripped.push(...names);
    }

    // With a token file, a token in Authorization is the gateway's: never forwarded, whichever method wins.
    const token = this.tokens ? gatewayToken(headers) : undefined;
    const bearer = bearerToken(headers);
    if (token !== undefined) {
      if (out === headers) out = { ...headers };
      delete out.authorization;
    }
    const result = (a: Omit<Authentication, 'headers' | 'stripped'>): Authentication => ({ ...a, headers: out, stripped });

    // The apiserver takes the WebSocket bearer subprotocol as a bearer token on upgrades: with a token file it would be
    // a gateway token left unread and forwarded, or a second bearer token beside the gateway's. Refused either way.
    if (this.tokens && hasBearerSubprotocol(headers)) {
      return result({ refused: new WritegateError('WG_ERR_UNAUTHENTICATED', `with listen.auth.tokenFile a bearer token goes in the Authorization header, not in the WebSocket subprotocol ${BEARER_SUBPROTOCOL}`) });
    }

    // A certificate presented and not verified against clientCA is never an identity, and not "no credential":
    // the client means to be someone, so it is refused, not taken for anonymous.
    if (cert && !cert.verified) {
      return result({ refused: new WritegateError('WG_ERR_UNAUTHENTICATED', `the client certificate is not trusted (${cert.problem || 'not verified'})`) });
    }
    if (proxied) return result({ caller: proxied });
    // The proxy's certificate is no user (its CN is the proxy's); one of neither CA chain never happens unless cross-signed.
    if (cert && !cert.user) {
      const why = cert.proxy
        ? `the client certificate is the trusted proxy's (listen.auth.trustedProxy.clientCA), which names no user of its own: the user goes in ${this.proxyHeaders!.user}`
        : 'the client certificate does not chain to listen.tls.clientCA';
      return result({ refused: new WritegateError('WG_ERR_UNAUTHENTICATED', why) });
    }
    if (cert) {
      const fromCert = certificateCaller(cert);
      if (fromCert instanceof WritegateError) return result({ refused: fromCert });
      if (fromCert) return result({ caller: fromCert });
    }
    // A bearer token no method knows may still be reviewed by the mount (identity: tokenreview).
    const reviewable = bearer === undefined ? {} : { bearer };
    if (token !== undefined && this.tokens) {
      const known = this.tokens.authenticate(token);
      if (known) return result({ caller: authenticatedCaller(known.caller), tokenDigest: known.sha256.slice(0, 12) });
      return result({ ...reviewable, refused: new WritegateError('WG_ERR_UNAUTHENTICATED', 'the token is not valid') });
    }
    if (this.anonymous) return result({ ...reviewable, caller: ANONYMOUS_CALLER });
    return result({ ...reviewable, refused: new WritegateError('WG_ERR_UNAUTHENTICATED', 'no credentials (a client certificate, a bearer token or a trusted proxy\'s identity headers)') });
  }

  /**
   * The request's headers without the trusted proxy's identity headers, each recorded as stripped whoever sent it:
   * on a mount whose kind authenticates its own callers (UpstreamAdapter.authenticatesCallers) they are never facts.
   */
  withoutIdentityHeaders(headers: IncomingHttpHeaders): { headers: IncomingHttpHeaders; stripped: string[] } {
    const names = this.identityHeaderNames(headers);
    if (names.length === 0) return { headers, stripped: [] };
    const out = { ...headers };
    for (const name of names) delete out[name];
    return { headers: out, stripped: names };
  }

  close(): void {
    this.tokens?.close();
  }

  /** The request's header names that are the trusted proxy's identity headers (none without trustedProxy). */
  private identityHeaderNames(headers: IncomingHttpHeaders): string[] {
    const h = this.proxyHeaders;
    if (!h) return [];
    return Object.keys(headers).filter((k) => k === h.user || k === h.group || k === h.uid || k.startsWith(h.extraPrefix));
  }

  /**
   * A peer is the trusted proxy by its certificate, which chains to trustedProxy.clientCA and has one of clientCNs
   * (any CN when clientCNs is empty, as kube-apiserver's --requestheader-allowed-names), or by its address.
   */
  private trustsProxy(cert: PeerCertificate | null, remoteAddress: string): boolean {
    if (cert?.proxy && (this.proxyCNs.size === 0 || (cert.commonNames.length === 1 && this.proxyCNs.has(cert.commonNames[0]!)))) return true;
    const peer = plainAddress(remoteAddress);
    return peer !== undefined && this.proxyAddresses.check(peer.address, peer.family);
  }

  /**
   * The caller the trusted proxy names, read as k8s.io/apiserver's requestheader authenticator reads it: the first
   * user header value (none or empty: no caller from the proxy), every group header line one group, the first uid,
   * and each extra header `<prefix><key>` one value of the key lower-cased and percent-decoded.
   */
  private proxyCaller(names: string[], distinct: NodeJS.Dict<string[]>): Caller | undefined {
    const h = this.proxyHeaders!;
    // Only the end-to-end headers count (`names`): one a Connection header listed is not the request's.
    const lines = (name: string): string[] => (names.includes(name) ? distinct[name] ?? [] : []);
    const username = lines(h.user)[0] ?? '';
    if (username === '') return undefined;
    const extra: Record<string, string[]> = {};
    for (const name of names) {
      if (!name.startsWith(h.extraPrefix) || name.length === h.extraPrefix.length) continue;
      const key = percentDecoded(name.slice(h.extraPrefix.length)).toLowerCase();
      extra[key] = [...(extra[key] ?? []), ...lines(name)];
    }
    return authenticatedCaller({ username, uid: lines(h.uid)[0] ?? '', groups: [...lines(h.group)], extra, authenticatedBy: 'proxy' });
  }
}
