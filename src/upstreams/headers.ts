import type { IncomingHttpHeaders } from 'node:http';
import { isWritegateError, type WritegateError } from '../errors.js';
import { cleanRequestHeaders, endToEndRequestHeaders, headerMatcher, type HeaderMatcher } from '../http/headers.js';
import type { UpstreamCredentials } from './credentials.js';
import type { GateRequest, HeaderRules } from './types.js';

/**
 * The one place that builds the headers of what goes upstream: forwarded reads and writes (src/proxy.ts),
 * upgrades (src/upgrade.ts) and the gateway's own calls on a caller's behalf (adapters' identity lookups, current
 * objects, dry runs). Generic hop-by-hop and `Connection` rules come from src/http/headers.ts, identity headers
 * from the kind's {@link HeaderRules}.
 */
export class UpstreamHeaders {
  private readonly stripped: HeaderMatcher;
  private readonly protected: HeaderMatcher;
  private readonly added: HeaderRules['added'];
  private readonly refuseHeld: HeaderRules['refuseHeld'];

  constructor(rules: Pick<HeaderRules, 'stripped' | 'protected' | 'added' | 'refuseHeld'>) {
    this.stripped = headerMatcher(rules.stripped);
    this.protected = headerMatcher(rules.protected);
    this.added = rules.added;
    this.refuseHeld = rules.refuseHeld;
  }

  /**
   * A client's headers as every hop after the gateway sees them (the ones `Connection` lists removed), which is
   * what classification, identity and the policy input read; `refused` when `Connection` lists a protected one,
   * or when the request cannot go upstream with the credential the gateway holds ({@link withCredentials}).
   */
  endToEnd(headers: IncomingHttpHeaders): { headers: IncomingHttpHeaders; refused?: WritegateError } {
    const result = endToEndRequestHeaders(headers, this.protected);
    if (result.refused || !this.refuseHeld) return result;
    const refused = this.refuseHeld(result.headers);
    return refused ? { headers: result.headers, refused } : result;
  }

  /**
   * A proxied request's headers: the client's end-to-end ones minus the kind's stripped ones, the kind's added ones
   * for this request (`req`), and for a decided write its decision id.
   */
  forwarded(headers: Record<string, string | string[] | undefined>, decisionId?: string, req?: GateRequest): Record<string, string | string[]> {
    const out = cleanRequestHeaders(headers, this.stripped);
    if (req && this.added) Object.assign(out, this.added(req));
    if (decisionId !== undefined) out['x-decision-id'] = decisionId;
    return out;
  }

  /** The head of an upgrade sent on a connection of its own: the forwarded headers, `Host`, and the upgrade itself. */
  upgrade(req: GateRequest, decisionId: string, host: string): Record<string, string | string[]> {
    return { ...this.forwarded(req.headers, decisionId, req), host, connection: 'Upgrade', upgrade: String(req.headers.upgrade) };
  }
}

/**
 * The headers of a call the gateway makes upstream on a caller's behalf: the caller's credentials
 * (HeaderRules.credentials) and the call's own headers (accept, content-type), nothing else of the client's.
 */
export function callHeaders(credentials: Record<string, string | string[]>, own: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { ...credentials };
  for (const [k, v] of Object.entries(own)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * A kind's header rules with the upstream's credentials applied (`upstreams[].credentials`); every adapter builds
 * its rules through this, so the proxy, the upgrade path and the adapters' own calls send one credential.
 * - passthrough: the kind's rules as they are: the caller's credentials go upstream.
 * - held: the caller's credential headers (HeaderRules.callerCredentials, and the held secret's header) are
 *   stripped from everything forwarded; every forwarded request and every call of the gateway's own carries the
 *   held secret (UpstreamCredentials.ownHeaders) and, with `impersonate: true`, who the caller is, so the dry runs,
 *   current-object reads and identity lookups run as the same identity as the write. A request the kind says cannot
 *   go with a held credential, or arriving while the credential cannot be read, is refused before anything else.
 */
export function withCredentials(rules: HeaderRules, credentials: UpstreamCredentials): HeaderRules {
  if (!credentials.held) return { ...rules, refuseHeld: undefined };
  const held = (req: GateRequest): Record<string, string | string[]> => ({
    ...rules.added?.(req), ...credentials.ownHeaders(), ...credentials.impersonation(req.caller),
  });
  return {
    stripped: [...rules.stripped, ...rules.callerCredentials, ...(credentials.header ? [credentials.header] : [])],
    protected: rules.protected,
    callerCredentials: rules.callerCredentials,
    credentials: held,
    added: held,
    refuseHeld: (headers) => rules.refuseHeld?.(headers) ?? unavailable(credentials),
  };
}

/** Why the held credential cannot be presented now (the file is gone or empty, the key pair is broken), if so. */
function unavailable(credentials: UpstreamCredentials): WritegateError | undefined {
  try {
    credentials.ownHeaders();
    credentials.clientIdentity();
    return undefined;
  } catch (err) {
    if (isWritegateError(err)) return err;
    throw err;
  }
}
