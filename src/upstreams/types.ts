import type { IncomingHttpHeaders } from 'node:http';
import type { WritegateError } from '../errors.js';
import type { UpstreamClient } from './client.js';

/** A request as the gate sees it, independent of Fastify (upgrades arrive outside Fastify). */
export interface GateRequest {
  method: string;
  /** Path and query relative to the upstream mount (prefix removed), still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  upgrade: boolean;
  remoteAddress: string;
}

export interface Classified {
  isRead: boolean;
  /** Admission-style operation of a gated request. */
  operation: string | undefined;
  /** Short label for logs and metrics, e.g. "patch deployments.apps default/web". */
  summary: string;
  /** Adapter-specific parse of the request, handed back to buildInput. */
  detail: unknown;
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

/** One adapter per upstream kind: classify, build input, render deny, mask secrets. */
export interface UpstreamAdapter {
  readonly kind: string;
  /** Throws a WritegateError for requests the gateway refuses outright (ambiguous paths, overrides). */
  classify(req: GateRequest): Classified;
  /** The policy input for a gated request. Throws WritegateError on malformed bodies. */
  buildInput(req: GateRequest, classified: Classified, body: Buffer | undefined, upstream: UpstreamClient): Promise<Record<string, unknown>>;
  renderDeny(reasons: Violation[], decisionId: string): RenderedResponse;
  renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse;
  /** `Warning` header values (RFC 7234 §5.5 warn-code 299, as the apiserver sends them). */
  warningHeaders(warnings: Violation[]): string[];
  /** A copy of the input with credentials and secret values masked, for the decision log. */
  maskInput(input: Record<string, unknown>): Record<string, unknown>;
}
