import { randomUUID } from 'node:crypto';
import type { CallerAuth } from './auth/authenticate.js';
import { callerKey, type CallerLimits } from './auth/limits.js';
import { authenticateRequest, type Peer } from './auth/stage.js';
import type { UpstreamConfig } from './config/schema.js';
import type { DecisionLog, DecisionEvent, Engine, Outcome } from './decision/log.js';
import { checkPolicyInput } from './decision/input-value.js';
import { normalizeDecision, type NormalizedDecision } from './decision/normalize.js';
import type { ResidualVerifier } from './decision/verify.js';
import { WritegateError, isWritegateError } from './errors.js';
import { cleanResponseHeaders, methodOverrideHeader } from './http/headers.js';
import type { Metrics } from './metrics.js';
import { deniedEvent, type Notifier } from './notify/index.js';
import type { OpaClient } from './opa/client.js';
import type { ResidualEngine, ResidualOutcome } from './residual/engine.js';
import type { UpstreamClient } from './upstreams/client.js';
import { UpstreamHeaders } from './upstreams/headers.js';
import type { Classified, ForwardRequest, GateRequest, RenderedResponse, UpstreamAdapter, Violation } from './upstreams/types.js';

export interface Verdict {
  decisionId: string;
  /** Forward the write upstream (with these extra response headers), or answer with `response`. */
  forward: boolean;
  response?: RenderedResponse;
  /** Headers for the client response (X-Decision-Id, Warning). */
  responseHeaders: Record<string, string | string[]>;
  event: DecisionEvent;
}

export interface GateDeps {
  upstream: UpstreamConfig;
  adapter: UpstreamAdapter;
  client: UpstreamClient;
  opa: OpaClient;
  log: DecisionLog;
  metrics: Metrics;
  /** The in-process engine; absent, or `engine: opa` on the upstream, means every write asks the Data API. */
  residual?: ResidualEngine;
  /** Re-checks the residual's allows with OPA's Data API, off the request path (src/decision/verify.ts). */
  verifier?: ResidualVerifier;
  /** Caller authentication (`listen.auth`); absent, the gateway authenticates no caller itself. */
  auth?: CallerAuth;
  /** limits.perCaller, shared by every mount; absent, callers are not limited. */
  callerLimits?: CallerLimits;
  /** `notify:`: told of denied writes once they are recorded (it only queues); absent, no one is told. */
  notifier?: Notifier;
}

/** What the decision record says of how the caller was authenticated (never a credential). */
function callerRecord(req: GateRequest): Pick<DecisionEvent['caller'], 'authenticated_by' | 'stripped_identity_headers' | 'token_sha256'> {
  const r = req.authRecord;
  return {
    ...(req.caller ? { authenticated_by: req.caller.authenticatedBy } : {}),
    ...(r?.strippedIdentityHeaders ? { stripped_identity_headers: r.strippedIdentityHeaders } : {}),
    ...(r?.tokenDigest ? { token_sha256: r.tokenDigest } : {}),
  };
}

function text(vs: Violation[]): string[] {
  return vs.map((v) => v.msg);
}

/**
 * The gate for one upstream: classify a request, and for a write build the
 * policy input, ask OPA, apply the mode, and record the decision before
 * anything is forwarded.
 */
export class Gate {
  /** Builds the headers of everything this mount sends upstream, with its kind's rules. */
  readonly headers: UpstreamHeaders;

  constructor(private readonly deps: GateDeps) {
    this.headers = new UpstreamHeaders(deps.adapter.headers);
  }

  get name(): string {
    return this.deps.upstream.name;
  }

  renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse {
    return this.deps.adapter.renderError(err, decisionId);
  }

  /**
   * The authentication stage (src/auth/stage.ts), before classification: the request with its caller and the
   * headers the gateway forwards, or the 401 it gets.
   */
  authenticate(req: GateRequest, peer: Peer): Promise<{ req: GateRequest; refused?: WritegateError }> {
    return authenticateRequest(this.deps.auth, this.deps.adapter, req, peer);
  }

  /**
   * limits.perCaller, after authentication: one more request of this caller, with the `release` to call when it is
   * over, or the 429 (WG_ERR_RATE_LIMITED) it gets.
   */
  admit(req: GateRequest): { release?: () => void; refused?: WritegateError } {
    const { callerLimits, adapter } = this.deps;
    if (!callerLimits) return {};
    // A kind that authenticates its own callers is admitted once classifyBody has verified who calls (src/proxy.ts);
    // until then its address may send only while the requests that failed to authenticate left it room.
    if (adapter.authenticatesCallers && !req.caller) {
      const refused = callerLimits.check(callerKey(req));
      return refused ? { refused } : {};
    }
    return callerLimits.admit(callerKey(req));
  }

  /**
   * limits.perCaller for a request of a kind that authenticates its own callers that failed before naming one (a
   * SigV4 signature that does not verify, an unknown key): its address pays for the body buffered and checked.
   */
  unauthenticated(req: GateRequest): void {
    if (this.deps.adapter.authenticatesCallers && !req.caller) this.deps.callerLimits?.charge(callerKey(req));
  }

  /** The adapter's classification, after the refusals that hold for every kind. */
  classify(req: GateRequest): Classified {
    const override = methodOverrideHeader(req.headers);
    if (override !== undefined) throw new WritegateError('WG_ERR_BAD_REQUEST', `header ${override} is not accepted`);
    return this.deps.adapter.classify(req);
  }

  /** The final classification of a request whose body had to be read first (Classified.needsBody). */
  classifyBody(req: GateRequest, classified: Classified, body: Buffer): Classified {
    const { adapter } = this.deps;
    if (!adapter.classifyBody) throw new WritegateError('WG_ERR_BAD_REQUEST', `the ${adapter.kind} adapter cannot classify this request by its body`);
    const final = adapter.classifyBody(req, classified, body);
    if (final.needsBody) throw new WritegateError('WG_ERR_BAD_REQUEST', 'the request could not be classified from its body');
    return final;
  }

  /**
   * The headers of a buffered request about to be forwarded, as the adapter signs them for its upstream
   * (UpstreamAdapter.signForward: AWS SigV4 with the held key pair); unchanged for a kind that signs nothing.
   */
  signForward(req: GateRequest, forward: ForwardRequest): Record<string, string | string[]> {
    const { adapter } = this.deps;
    return adapter.signForward ? adapter.signForward(req, forward) : forward.headers;
  }

  /** Records and renders a request refused before any decision (bad path, body too large, ...). */
  refuse(req: GateRequest, err: WritegateError, classified?: Classified): Verdict {
    const decisionId = randomUUID();
    const caller = typeof err.details.caller === 'string' ? err.details.caller : undefined;
    const upstreamStatus = (err.details.upstreamResponse as { status?: number } | undefined)?.status;
    const event = this.event(req, classified, decisionId, {
      outcome: 'error', engine: 'none', input: undefined, reasons: [], warnings: [], started: performance.now(),
      error: { code: err.code, message: err.message }, ...(caller !== undefined ? { caller } : {}),
    });
    // A dry run the upstream refused is the upstream's own answer to this write: record its status.
    if (upstreamStatus !== undefined) event.upstream_status = upstreamStatus;
    this.finish(event);
    this.deps.metrics.requests.inc({ upstream: this.name, class: 'refused' });
    // A rate limit says when to come back (RFC 9110 §10.2.3).
    const responseHeaders: Record<string, string> = { 'x-decision-id': decisionId };
    if (typeof err.details.retryAfter === 'number') responseHeaders['retry-after'] = String(err.details.retryAfter);
    return { decisionId, forward: false, response: this.deps.adapter.renderError(err, decisionId), responseHeaders, event };
  }

  async decide(req: GateRequest, classified: Classified, body: Buffer | undefined): Promise<Verdict> {
    const started = performance.now();
    const { adapter, opa, upstream } = this.deps;
    this.deps.metrics.requests.inc({ upstream: this.name, class: 'write' });
    let input: Record<string, unknown>;
    try {
      input = await adapter.buildInput(req, classified, body, this.deps.client);
      // Both engines must judge one value: normalise it as OPA reads it, or refuse it (src/decision/input-value.ts).
      checkPolicyInput(input);
    } catch (err) {
      const e = isWritegateError(err) ? err : new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', (err as Error).message, { cause: err });
      const verdict = this.refuse(req, e, classified);
      const passthrough = e.details.upstreamResponse as { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer } | undefined;
      if (passthrough) {
        // The upstream refused the dry run; the real write would be refused the same way, so its answer goes back
        // unchanged: status, end-to-end headers and the exact body bytes.
        verdict.response = { status: passthrough.status, headers: cleanResponseHeaders(passthrough.headers), body: passthrough.body };
      }
      return verdict;
    }

    let decisionId: string;
    let engine: Engine = 'opa';
    let normalized: NormalizedDecision;
    let result: unknown;
    let metrics: Record<string, number> | undefined;
    let revision: string | undefined;
    const local = this.residualOutcome(input);
    if (local?.outcome === 'allow') {
      // Only the safe answer is local: the residual proved "allowed, no deny, no warn" for this policy revision.
      // Anything else (a possible deny, a warning, no residual) is OPA's to decide, with its reasons and id.
      this.deps.metrics.residual.inc({ event: 'hit', reason: '' });
      decisionId = randomUUID();
      engine = 'residual';
      revision = local.revision;
      result = { allow: true, deny: [], warn: [] };
      normalized = { allowed: true, deny: [], warn: [] };
    } else {
      if (local) this.deps.metrics.residual.inc({ event: 'fallback', reason: local.reason.split(':')[0] ?? '' });
      try {
        const d = await opa.decide(upstream.policy, input);
        decisionId = d.decisionId ?? randomUUID();
        result = d.result;
        metrics = d.metrics;
        normalized = normalizeDecision(d.defined, d.result);
      } catch (err) {
        return this.opaFailed(req, classified, input, err, started);
      }
    }

    // A policy that is undefined for the input, or answers in a shape writegate cannot read, denies; the event
    // names the problem so an operator can tell "the policy said no" from "the policy is missing or broken".
    const problem = normalized.problem === 'undefined' ? new WritegateError('WG_ERR_NO_DECISION')
      : normalized.problem === 'malformed' ? new WritegateError('WG_ERR_MALFORMED_DECISION') : undefined;
    const reasons = normalized.allowed ? [] : (normalized.deny.length ? normalized.deny : [{ msg: problem?.message ?? 'denied by policy' }]);
    let outcome: Outcome;
    let forward: boolean;
    let warnings = normalized.warn;
    if (normalized.allowed) {
      outcome = 'allowed';
      forward = true;
    } else if (upstream.mode === 'enforce') {
      outcome = 'denied';
      forward = false;
    } else if (upstream.mode === 'dryrun') {
      outcome = 'dryrun_denied';
      forward = true;
    } else {
      outcome = 'warn_denied';
      forward = true;
      warnings = [...reasons, ...warnings];
    }
    const event = this.event(req, classified, decisionId, {
      outcome, engine, input: adapter.maskInput(input), result, metrics, reasons: text(reasons), warnings: text(warnings), started,
      ...(revision ? { revision } : {}), ...(problem ? { error: { code: problem.code, message: problem.message } } : {}),
    });
    const responseHeaders: Record<string, string | string[]> = { 'x-decision-id': decisionId };
    // In dryrun mode the caller is told nothing; the log says "would deny".
    const shown = upstream.mode === 'dryrun' ? normalized.warn : warnings;
    if (shown.length) responseHeaders.warning = adapter.warningHeaders(shown);
    if (!forward) {
      this.finish(event);
      this.deps.notifier?.notify(deniedEvent(event, 'denied'));
      return { decisionId, forward, response: adapter.renderDeny(reasons, decisionId), responseHeaders, event };
    }
    // The record of a write that goes upstream is in the file before it goes.
    const logError = await this.commit(event);
    if (logError) return { decisionId, forward: false, response: adapter.renderError(logError, decisionId), responseHeaders, event };
    if (outcome === 'dryrun_denied') this.deps.notifier?.notify(deniedEvent(event, outcome));
    // The same input object the residual evaluated (not the masked log copy); the write does not wait for OPA.
    if (engine === 'residual' && revision) {
      this.deps.verifier?.submit({ decisionId, upstream: this.name, path: upstream.policy, revision, input, result, bodyBytes: body?.length ?? 0 });
    }
    return { decisionId, forward, responseHeaders, event };
  }

  /** Logs what the upstream answered to a forwarded write. */
  completed(verdict: Verdict, status: number | null, forwardedAt: number, error?: WritegateError): void {
    this.deps.log.appendLazily({
      type: 'writegate/upstream',
      decision_id: verdict.decisionId,
      timestamp: new Date().toISOString(),
      upstream: this.name,
      method: verdict.event.method,
      url: verdict.event.url,
      outcome: verdict.event.outcome,
      upstream_status: status,
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
      latency_ms: Number((performance.now() - forwardedAt).toFixed(3)),
    });
  }

  private event(req: GateRequest, classified: Classified | undefined, decisionId: string, f: {
    outcome: Outcome; engine: Engine; input: unknown; result?: unknown; metrics?: Record<string, number> | undefined;
    reasons: string[]; warnings: string[]; started: number; error?: { code: string; message: string }; revision?: string;
    caller?: string;
  }): DecisionEvent {
    const input = f.input as { request?: { userInfo?: { username?: string } } } | undefined;
    return {
      type: 'writegate/decision',
      decision_id: decisionId,
      timestamp: new Date().toISOString(),
      path: this.deps.upstream.policy,
      input: f.input,
      ...(f.result !== undefined ? { result: f.result } : {}),
      labels: this.deps.log.labels,
      ...(f.metrics ? { metrics: f.metrics } : {}),
      upstream: this.name,
      method: req.method,
      url: req.url,
      operation: classified?.operation,
      summary: classified?.summary ?? '',
      caller: {
        username: input?.request?.userInfo?.username ?? req.caller?.username ?? f.caller ?? '', remote_addr: req.remoteAddress,
        ...callerRecord(req),
      },
      mode: this.deps.upstream.mode,
      outcome: f.outcome,
      engine: f.engine,
      ...(f.revision ? { revision: f.revision } : {}),
      reasons: f.reasons,
      warnings: f.warnings,
      ...(f.error ? { error: f.error } : {}),
      ...(classified?.forward ? { precondition: classified.forward.precondition } : {}),
      upstream_status: null,
      latency_ms: Number((performance.now() - f.started).toFixed(3)),
    };
  }

  /** OPA errored or timed out: fail closed, or forward and say so when the upstream opted into fail-open. */
  private async opaFailed(req: GateRequest, classified: Classified, input: Record<string, unknown>, err: unknown, started: number): Promise<Verdict> {
    const { adapter, upstream } = this.deps;
    const e = isWritegateError(err) ? err : new WritegateError('WG_ERR_OPA_UNAVAILABLE', (err as Error).message, { cause: err });
    const decisionId = randomUUID();
    const headers = { 'x-decision-id': decisionId };
    const event = this.event(req, classified, decisionId, {
      outcome: upstream.failOpen ? 'fail_open' : 'error', engine: 'none', input: adapter.maskInput(input), reasons: [], warnings: [], started,
      error: { code: e.code, message: e.message },
    });
    if (!upstream.failOpen) {
      this.finish(event);
      return { decisionId, forward: false, response: adapter.renderError(e, decisionId), responseHeaders: headers, event };
    }
    const logError = await this.commit(event);
    return logError
      ? { decisionId, forward: false, response: adapter.renderError(logError, decisionId), responseHeaders: headers, event }
      : { decisionId, forward: true, responseHeaders: headers, event };
  }

  /** The residual engine's answer, if this upstream uses it; an engine failure is a fallback to OPA, never a decision. */
  private residualOutcome(input: unknown): ResidualOutcome | undefined {
    const { upstream, residual } = this.deps;
    if (upstream.engine !== 'residual' || !residual) return undefined;
    try {
      return residual.evaluate(upstream.policy, input);
    } catch (err) {
      return { outcome: 'fallback', reason: `residual error: ${(err as Error).message}` };
    }
  }

  /**
   * Records a decision that forwards nothing (written within this event-loop turn), bounded in size and rate:
   * such a request costs its sender nothing upstream, so its record must not be a way to fill the disk.
   */
  private finish(event: DecisionEvent): void {
    this.deps.log.appendRefused(event);
    this.count(event);
  }

  /** Records a decision whose write goes upstream, and waits until the record is in the file. */
  private async commit(event: DecisionEvent): Promise<WritegateError | undefined> {
    try {
      await this.deps.log.record(event);
    } catch (err) {
      this.deps.metrics.decisions.inc({ upstream: this.name, outcome: 'error', engine: event.engine });
      return new WritegateError('WG_ERR_DECISION_LOG', (err as Error).message, { cause: err });
    }
    this.count(event);
    return undefined;
  }

  private count(event: DecisionEvent): void {
    this.deps.metrics.decisions.inc({ upstream: this.name, outcome: event.outcome, engine: event.engine });
    this.deps.metrics.decisionSeconds.observe({ upstream: this.name, engine: event.engine }, event.latency_ms / 1000);
  }
}
