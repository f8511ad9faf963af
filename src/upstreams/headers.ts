import type { IncomingHttpHeaders } from 'node:http';
import type { WritegateError } from '../errors.js';
import { cleanRequestHeaders, endToEndRequestHeaders, headerMatcher, type HeaderMatcher } from '../http/headers.js';
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

  constructor(rules: Pick<HeaderRules, 'stripped' | 'protected' | 'added'>) {
    this.stripped = headerMatcher(rules.stripped);
    this.protected = headerMatcher(rules.protected);
    this.added = rules.added;
  }

  /**
   * A client's headers as every hop after the gateway sees them (the ones `Connection` lists removed), which is
   * what classification, identity and the policy input read; `refused` when `Connection` lists a protected one.
   */
  endToEnd(headers: IncomingHttpHeaders): { headers: IncomingHttpHeaders; refused?: WritegateError } {
    return endToEndRequestHeaders(headers, this.protected);
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
