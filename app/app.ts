import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { adminRoutes } from '../routes/admin.js';
import { opsRoutes } from '../routes/ops.js';
import { upstreamRoutes } from '../routes/upstream.js';
import { CallerAuth } from '../src/auth/authenticate.js';
import { CallerLimits } from '../src/auth/limits.js';
import type { Config } from '../src/config/schema.js';
import type { DecisionLog } from '../src/decision/log.js';
import { ResidualVerifier } from '../src/decision/verify.js';
import { WritegateError } from '../src/errors.js';
import { Gate, type Verdict } from '../src/gate.js';
import { Metrics } from '../src/metrics.js';
import { mismatchEvent, notifierFromConfig, type Notifier } from '../src/notify/index.js';
import type { OpaClient } from '../src/opa/client.js';
import { createPolicyAdmin } from '../src/policy/admin.js';
import { ResidualEngine } from '../src/residual/engine.js';
import { Resources, markTimedOut } from '../src/resources.js';
import { findMount, upgradeHandler, writeResponse, type Mount } from '../src/upgrade.js';
import { UpstreamClient } from '../src/upstreams/client.js';
import { createAdapter } from '../src/upstreams/registry.js';

export interface AppDeps {
  opa: OpaClient;
  decisionLog: DecisionLog;
  metrics?: Metrics;
  /** The app (not decision) log; false silences it. */
  logger?: FastifyBaseLogger | false;
}

export interface App {
  fastify: FastifyInstance;
  residual: ResidualEngine | undefined;
  /** Shadow re-checks of the residual's allows (absent when no upstream uses the residual). */
  verifier: ResidualVerifier | undefined;
  /** `notify:` (absent without it). */
  notifier: Notifier | undefined;
  mounts: Mount[];
  metrics: Metrics;
  close(): Promise<void>;
}

/** Builds the gateway. It never listens: the server entry (or a test, on port 0) does. */
export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const tls = config.listen.tls;
  const { limits } = config;
  const resources = new Resources(limits);
  const mounts: Mount[] = [];
  // Fastify applies its requestTimeout and keepAliveTimeout only to a server it creates (fastify lib/server.js
  // getServerInstance returns a serverFactory's server as it is), so the limits are set on the server here.
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    // Node's requestTimeout covers receiving the request (headers and body), never the response: watches, log
    // follows and upgraded exec streams are not cut by it (lib/_http_server.js checkConnections).
    requestTimeout: limits.bodyTimeoutMs,
    // Node checks both on a timer (default every 30 s); checking at a tenth of the headers timeout keeps the
    // overrun of a stalled request small.
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(limits.headersTimeoutMs / 10))),
  };
  const serverFactory = (handler: RequestListener): Server => {
    const listener = resources.listener(
      handler,
      (req) => findMount(mounts, req.url ?? '/') !== undefined,
      (req, res) => tooManyStreams(mounts, req, res, limits.streamsPerClient),
    );
    const server = tls
      ? createHttpsServer({ ...serverOptions, handshakeTimeout: limits.headersTimeoutMs, cert: readFileSync(tls.cert), key: readFileSync(tls.key), ...clientCertificates(config.listen) }, listener) as unknown as Server
      : createHttpServer(serverOptions, listener);
    // Connections past the cap are closed as they arrive (net.Server maxConnections).
    server.maxConnections = limits.maxConnections;
    return server;
  };
  const fastify = Fastify({
    serverFactory,
    clientErrorHandler: clientError,
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Per-request app logging would cost the hot path; every gated request is in the decision log instead.
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies are read by writegate's own parser, which enforces limits.bodyBytes.
    bodyLimit: config.limits.bodyBytes + 1,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  const auth = config.listen.auth
    ? new CallerAuth(config.listen, (problem) => {
      if (deps.logger && problem !== undefined) deps.logger.error({ problem }, 'listen.auth.tokenFile is not usable: no token authenticates until it is');
      else if (deps.logger) deps.logger.info('listen.auth.tokenFile read');
    })
    : undefined;
  if (auth?.proxyCAShared && deps.logger) {
    deps.logger.warn('listen.auth.trustedProxy.clientCNs are verified against listen.tls.clientCA, the users\' CA: any certificate it issues with such a CN is the trusted proxy; give the proxy a CA of its own (trustedProxy.clientCA)');
  }
  const metrics = deps.metrics ?? new Metrics();
  metrics.observeLimits(resources, deps.decisionLog);
  // Off the request path: the gate and the verifier only queue; close() drains it after the last request.
  const notifier = notifierFromConfig(config, { metrics, ...(deps.logger ? { logger: deps.logger } : {}) });
  const residualPaths = config.upstreams.filter((u) => u.engine === 'residual').map((u) => u.policy);
  const residual = residualPaths.length
    ? new ResidualEngine({
      // The gateway's one OPA client: the Compile and Policy APIs beside the Data API calls of the gate.
      client: deps.opa,
      onEvent: (e) => {
        metrics.residual.inc({ event: e.event, reason: 'reason' in e ? e.reason : '' });
        if (deps.logger) deps.logger.info(e, 'residual engine');
      },
    })
    : undefined;
  if (residual) {
    metrics.observeResidual(residual.counters);
    // A first compile now; if OPA is not up yet, the poller keeps trying and writes use the Data API meanwhile.
    await residual.start(residualPaths);
  }
  const verifier = residual && config.opa.verifyResidual.sampleRate > 0
    ? new ResidualVerifier({
      opa: deps.opa, log: deps.decisionLog, metrics, residual,
      sampleRate: config.opa.verifyResidual.sampleRate, queue: config.opa.verifyResidual.queue,
      // One OPA call's worth: what is still queued after that is abandoned (counted), so shutdown stays bounded.
      drainMs: config.opa.timeoutMs,
      onMismatch: (e) => {
        notifier?.notify(mismatchEvent(e));
        if (deps.logger) deps.logger.warn({ decision_id: e.decision_id, path: e.path, revision: e.revision, reasons: e.reasons }, 'residual allow contradicted by OPA; residual off for this revision');
      },
    })
    : undefined;
  const callerLimits = limits.perCaller ? new CallerLimits(limits.perCaller) : undefined;
  for (const upstream of config.upstreams) {
    const client = new UpstreamClient(upstream);
    const adapter = createAdapter(upstream, { client });
    const gate = new Gate({
      upstream, adapter, client, opa: deps.opa, log: deps.decisionLog, metrics,
      ...(residual ? { residual } : {}), ...(verifier ? { verifier } : {}), ...(auth ? { auth } : {}), ...(callerLimits ? { callerLimits } : {}),
      ...(notifier ? { notifier } : {}),
    });
    mounts.push({ prefix: upstream.prefix, gate, client });
    await fastify.register(upstreamRoutes, { mount: upstream.prefix, gate, client, bodyLimit: config.limits.bodyBytes });
  }
  await fastify.register(opsRoutes, { opa: deps.opa, metrics });
  // Off (404) unless admin.tokenFile is set; a push drops the compiled residuals at once instead of at the next poll.
  const tokenFile = config.admin?.tokenFile;
  const admin = tokenFile ? createPolicyAdmin({ ...config.admin!, tokenFile }, deps.opa.url, deps.decisionLog, async () => { await residual?.invalidate(); }) : undefined;
  if (admin) await fastify.register(adminRoutes, { admin: admin.admin });
  fastify.setNotFoundHandler((request, reply) => {
    const e = new WritegateError('WG_ERR_NOT_FOUND', request.url.split('?')[0]);
    deps.decisionLog.appendRefused({
      type: 'writegate/decision', decision_id: crypto.randomUUID(), timestamp: new Date().toISOString(), path: '', input: undefined,
      labels: deps.decisionLog.labels, upstream: '', method: request.method, url: request.url, operation: undefined, summary: '',
      caller: { username: '', remote_addr: request.ip }, mode: '', outcome: 'error', engine: 'none', reasons: [], warnings: [],
      error: { code: e.code, message: e.message }, upstream_status: null, latency_ms: 0,
    });
    return reply.code(404).send({ code: e.code, message: e.message });
  });
  fastify.server.on('upgrade', resources.upgradeListener(upgradeHandler(mounts), (req, socket) => {
    const refused = refuseStream(mounts, req, limits.streamsPerClient);
    if (refused) writeResponse(socket, refused.response!, refused.responseHeaders);
    else socket.destroy();
  }));
  await fastify.ready();
  return {
    fastify,
    mounts,
    metrics,
    residual,
    verifier,
    notifier,
    async close() {
      residual?.stop();
      await fastify.close();
      // After the last request: its re-check may still be queued.
      await verifier?.close();
      // After the verifier: a last re-check may still find a mismatch to tell.
      await notifier?.close();
      await Promise.all(mounts.map((m) => m.client.close()));
      await admin?.close();
      auth?.close();
    },
  };
}

/**
 * The listener's TLS options for client certificates: the CAs they may chain to (the users' listen.tls.clientCA and
 * the trusted proxy's listen.auth.trustedProxy.clientCA), asked for on every handshake. `required` refuses a
 * handshake without a verified one; `optional` lets it through, and the authentication stage refuses a certificate
 * that did not verify and tells a user's from the proxy's by the CA it chains to (src/auth/authenticate.ts).
 */
function clientCertificates(listen: Config['listen']): { ca?: Buffer[]; requestCert: boolean; rejectUnauthorized: boolean } {
  const files = [listen.tls?.clientCA, listen.auth?.trustedProxy?.clientCA].filter((f): f is string => f !== undefined);
  if (files.length === 0) return { requestCert: false, rejectUnauthorized: false };
  return { ca: files.map((f) => readFileSync(f)), requestCert: true, rejectUnauthorized: listen.tls?.clientAuth === 'required' };
}

/** A stream over its client's limits.streamsPerClient, refused and recorded by its mount's gate (undefined: no mount). */
function refuseStream(mounts: Mount[], req: IncomingMessage, limit: number): Verdict | undefined {
  const url = req.url ?? '/';
  const mount = findMount(mounts, url);
  return mount?.gate.refuse(
    { method: req.method ?? 'GET', url: url.slice(mount.prefix.length) || '/', headers: req.headers, upgrade: req.headers.upgrade !== undefined, remoteAddress: req.socket.remoteAddress ?? '' },
    new WritegateError('WG_ERR_TOO_MANY_STREAMS', `${limit} in flight`),
  );
}

/** A read over its client's limits.streamsPerClient: answered 429 in its kind's envelope. */
function tooManyStreams(mounts: Mount[], req: IncomingMessage, res: ServerResponse, limit: number): void {
  const refused = refuseStream(mounts, req, limit)!;
  const r = refused.response!;
  res.writeHead(r.status, { ...r.headers, ...refused.responseHeaders });
  res.end(r.body);
}

/**
 * Errors on a client connection before a request could be handled: a request that did not arrive within
 * limits.headersTimeoutMs / limits.bodyTimeoutMs, or bytes that are not HTTP. Answered on the socket, which
 * is then closed, as Node itself does (lib/_http_server.js socketOnError) — unless a response has started.
 */
function clientError(err: Error, socket: Socket): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || socket.destroyed) return;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') markTimedOut(socket);
  const e = code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? new WritegateError('WG_ERR_REQUEST_TIMEOUT')
    : new WritegateError('WG_ERR_BAD_REQUEST', code === 'HPE_HEADER_OVERFLOW' ? 'request headers too large' : 'malformed HTTP request');
  const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !started) {
    const body = JSON.stringify({ code: e.code, message: e.message });
    const reason = e.status === 408 ? 'Request Timeout' : 'Bad Request';
    socket.write(`HTTP/1.1 ${e.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
