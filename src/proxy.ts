import '@fastify/reply-from';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { WritegateError, isWritegateError } from './errors.js';
import type { Gate, Verdict } from './gate.js';
import { cleanResponseHeaders } from './http/headers.js';
import { forwardedTarget } from './http/path.js';
import { takeBodyBytes, timedOut } from './resources.js';
import { upstreamTransportError, type UpstreamClient } from './upstreams/client.js';
import type { Classified, GateRequest } from './upstreams/types.js';

/** What the gate learnt about a request in onRequest, kept for the body parser and the handler. */
interface GateState {
  gateRequest: GateRequest;
  classified?: Classified;
  refused?: WritegateError;
  /** Request headers the authentication stage removed (a consumed gateway token, spoofed identity headers): never forwarded. */
  removed: string[];
}

const STATE = Symbol('writegate');
type WithState = FastifyRequest & { [STATE]?: GateState };

function state(request: FastifyRequest): GateState {
  const s = (request as WithState)[STATE];
  if (!s) throw new Error('writegate: request was not classified');
  return s;
}

/**
 * The request as the gate reads it. Its headers are the ones the forwarder will send (the Connection-listed ones
 * removed first; a request whose Connection header lists a protected header is refused). Node hands a request
 * that asks for an upgrade to the server's 'upgrade' event (src/upgrade.ts); one that reaches Fastify is
 * forwarded without Upgrade and Connection, so the upstream never upgrades it and it is what its method and
 * path mean.
 */
function gateRequestOf(gate: Gate, request: FastifyRequest, prefix: string): { gateRequest: GateRequest; refused?: WritegateError } {
  const raw = request.raw;
  const url = raw.url ?? '/';
  const { headers, refused } = gate.headers.endToEnd(raw.headers);
  const gateRequest: GateRequest = {
    method: raw.method ?? 'GET',
    url: url.slice(prefix.length) || '/',
    headers,
    upgrade: false,
    remoteAddress: raw.socket.remoteAddress ?? '',
    secure: (raw.socket as { encrypted?: boolean }).encrypted === true,
  };
  return refused ? { gateRequest, refused } : { gateRequest };
}

/**
 * onRequest: authenticate the caller (reads too, as the apiserver does), then classify before the body is read,
 * so reads can stream and writes are buffered.
 */
export function classifyHook(gate: Gate, prefix: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const { gateRequest: unauthenticated, refused } = gateRequestOf(gate, request, prefix);
    const s: GateState = { gateRequest: unauthenticated, removed: [] };
    (request as WithState)[STATE] = s;
    if (refused) {
      s.refused = refused;
      return;
    }
    const auth = await gate.authenticate(unauthenticated, { socket: request.raw.socket, distinct: request.raw.headersDistinct });
    const gateRequest = auth.req;
    s.gateRequest = gateRequest;
    if (gateRequest.headers !== unauthenticated.headers) s.removed = Object.keys(unauthenticated.headers).filter((k) => !(k in gateRequest.headers));
    if (auth.refused) {
      s.refused = auth.refused;
      return;
    }
    const admitted = gate.admit(gateRequest);
    if (admitted.refused) {
      s.refused = admitted.refused;
      return;
    }
    if (admitted.release) reply.raw.once('close', admitted.release);
    const raw = request.raw.url ?? '';
    if (raw !== prefix && !raw.startsWith(`${prefix}/`) && !raw.startsWith(`${prefix}?`)) {
      // The router matched a spelling of the mount path other than the literal one (e.g. "/k8%73/..."): the rest
      // of the path cannot be told apart reliably, so the request is refused.
      s.refused = new WritegateError('WG_ERR_BAD_PATH', 'the mount path must be spelled literally');
      return;
    }
    try {
      s.classified = gate.classify(gateRequest);
    } catch (err) {
      s.refused = isWritegateError(err) ? err : new WritegateError('WG_ERR_BAD_REQUEST', (err as Error).message, { cause: err });
    }
  };
}

/**
 * The one body parser: a read's body streams through untouched; a write's
 * body is buffered (up to `limit` bytes) so the exact bytes evaluated are the
 * bytes forwarded.
 */
export function bodyParser(limit: number) {
  return (request: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void): void => {
    const s = state(request);
    if (s.refused || s.classified?.isRead) {
      done(null, payload);
      return;
    }
    const declared = Number(request.headers['content-length'] ?? NaN);
    if (declared > limit) {
      payload.resume();
      done(new WritegateError('WG_ERR_BODY_TOO_LARGE', `${declared} bytes > ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    payload.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        done(new WritegateError('WG_ERR_BODY_TOO_LARGE', `more than ${limit} bytes`));
        return;
      }
      // Bodies buffered across the gateway are bounded too (limits.inflightBodyBytes): many slow bodies at once
      // must not hold the gateway's memory.
      const over = takeBodyBytes(request.raw, chunk.length);
      if (over !== undefined) {
        failed = true;
        chunks.length = 0;
        done(new WritegateError('WG_ERR_OVERLOADED', over));
        return;
      }
      chunks.push(chunk);
    });
    payload.on('end', () => { if (!failed) done(null, Buffer.concat(chunks)); });
    payload.on('error', (err) => { if (!failed) { failed = true; done(timedOut(request.raw) ? new WritegateError('WG_ERR_REQUEST_TIMEOUT') : err); } });
  };
}

/** The part of a Fastify reply used here (reply-from hands back its own, wider-typed reply). */
interface Sendable {
  code(status: number): { headers(values: Record<string, unknown>): { send(payload: unknown): unknown } };
}

function send(reply: Sendable, verdict: Verdict): void {
  const r = verdict.response!;
  reply.code(r.status).headers({ ...r.headers, ...verdict.responseHeaders }).send(r.body);
}

function mergeHeaders(upstream: IncomingHttpHeaders, extra: Record<string, string | string[]>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...upstream };
  for (const [k, v] of Object.entries(extra)) {
    const prev = out[k];
    if (k === 'warning' && prev !== undefined) out[k] = [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])] as unknown as string;
    else out[k] = v as string;
  }
  return out;
}

/**
 * Sends an upstream body back as a stream. A body without a length (a
 * watch, `logs -f`) may send its first byte only minutes later, yet the
 * client must see the status line now, as the apiserver flushes watch headers
 * at once. Fastify sends a stream with setHeader + pipe (reply.js sendStream),
 * so Node would hold the headers until the first body byte; they are flushed
 * right after Fastify has set them. Bodies with a length keep the single write.
 */
function streamBack(reply: { send(payload: unknown): unknown; raw: unknown }, stream: Readable, headers: IncomingHttpHeaders): void {
  reply.send(stream);
  const raw = reply.raw as { headersSent: boolean; flushHeaders(): void; getHeaderNames(): string[] };
  if (headers['content-length'] === undefined && !raw.headersSent && raw.getHeaderNames().length > 0) raw.flushHeaders();
}

/** The forwarder's headers without the ones the authentication stage removed from the request. */
function without(headers: Record<string, string | string[] | undefined>, removed: string[]): Record<string, string | string[] | undefined> {
  if (removed.length === 0) return headers;
  const out = { ...headers };
  for (const name of removed) delete out[name];
  return out;
}

/** reply-from's options that send exactly these buffered bytes (or no body at all). */
function bufferedBody(bytes: Buffer | undefined, contentType: string | undefined): { body: Buffer | null; contentType?: string } {
  return bytes && bytes.length ? { body: bytes, contentType: contentType ?? 'application/octet-stream' } : { body: null };
}

/** reply-from wraps undici's error (its `cause`), which says whether the upstream was unreachable or slow. */
function transportError(error: unknown, method: string, source: string): WritegateError {
  return upstreamTransportError((error as { cause?: unknown }).cause ?? error, `${method} ${source}`);
}

/** Error handler of an upstream's routes: parser and transport errors become the upstream's own error envelope, logged. */
export function errorHandler(gate: Gate) {
  return (err: Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const s = (request as WithState)[STATE];
    const e = isWritegateError(err) ? err
      : (err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? new WritegateError('WG_ERR_BODY_TOO_LARGE', err.message, { cause: err })
      : new WritegateError('WG_ERR_BAD_REQUEST', err.message, { cause: err });
    const gateRequest = s?.gateRequest ?? gateRequestOf(gate, request, '').gateRequest;
    send(reply, gate.refuse(gateRequest, e, s?.classified));
    return reply;
  };
}

/** The handler: forward a read as it is, or gate a write and forward exactly the evaluated bytes. */
export function proxyHandler(gate: Gate, client: UpstreamClient) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const s = state(request);
    let { gateRequest } = s;
    if (s.refused) {
      send(reply, gate.refuse(gateRequest, s.refused));
      return reply;
    }
    let classified = s.classified!;
    const body = request.body instanceof Buffer ? request.body : undefined;
    if (classified.needsBody) {
      // Only the body tells a read from a write here (a GraphQL query): it was buffered, and the adapter decides.
      try {
        classified = gate.classifyBody(gateRequest, classified, body ?? Buffer.alloc(0));
      } catch (err) {
        const e = isWritegateError(err) ? err : new WritegateError('WG_ERR_BAD_REQUEST', (err as Error).message, { cause: err });
        // Refused before its signature named a caller (a kind's refusals after it carry details.caller).
        if (e.details.caller === undefined) gate.unauthenticated(gateRequest);
        send(reply, gate.refuse(gateRequest, e, classified));
        return reply;
      }
      // A kind that authenticates its own callers (AWS SigV4) has now verified who calls: the request's caller,
      // and only now counted against limits.perCaller (onRequest could not tell who it was).
      if (classified.caller) {
        gateRequest = { ...gateRequest, caller: classified.caller };
        s.gateRequest = gateRequest;
        const admitted = gate.admit(gateRequest);
        if (admitted.refused) {
          send(reply, gate.refuse(gateRequest, admitted.refused, classified));
          return reply;
        }
        if (admitted.release) reply.raw.once('close', admitted.release);
      }
    }
    const source = client.basePath + gateRequest.url;
    if (forwardedTarget(client.origin, source) !== source) {
      // The forwarder builds its request line with WHATWG URL (reply-from buildURL); a target it would rewrite
      // would reach the upstream as another request than the one classified.
      send(reply, gate.refuse(gateRequest, new WritegateError('WG_ERR_BAD_PATH', 'the forwarder would rewrite this request target'), classified));
      return reply;
    }

    if (classified.isRead) {
      return reply.from(source, {
        // A read classified by its body goes with exactly the bytes the adapter read; any other streams through.
        ...(s.classified!.needsBody ? bufferedBody(body, request.headers['content-type']) : {}),
        rewriteRequestHeaders: (_req, headers) => {
          const out = gate.headers.forwarded(without(headers, s.removed), undefined, gateRequest);
          return s.classified!.needsBody ? gate.signForward(gateRequest, { method: gateRequest.method, target: source, headers: out, body: body ?? Buffer.alloc(0) }) : out;
        },
        rewriteHeaders: (headers) => cleanResponseHeaders(headers),
        onResponse: (_req, r, res) => streamBack(r, res.stream, (res as unknown as { headers: IncomingHttpHeaders }).headers),
        onError: (r, { error }) => send(r, gate.refuse(gateRequest, transportError(error, gateRequest.method, source), classified)),
      });
    }

    const verdict = await gate.decide(gateRequest, classified, body);
    if (!verdict.forward) {
      send(reply, verdict);
      return reply;
    }
    const forwardedAt = performance.now();
    // The adapter may pin the write to the object version the policy judged: the client's body plus only a
    // precondition, recorded in the decision (classified.forward).
    const sent = classified.forward?.body ?? body;
    const contentType = classified.forward?.contentType ?? request.headers['content-type'];
    return reply.from(source, {
      ...bufferedBody(sent, contentType),
      rewriteRequestHeaders: (_req, headers) => gate.signForward(gateRequest, {
        method: gateRequest.method, target: source, body: sent ?? Buffer.alloc(0),
        headers: { ...gate.headers.forwarded(without(headers, s.removed), verdict.decisionId, gateRequest), ...classified.forward?.headers },
      }),
      rewriteHeaders: (headers) => mergeHeaders(cleanResponseHeaders(headers), verdict.responseHeaders),
      onResponse: (_req, r, res) => {
        gate.completed(verdict, res.statusCode, forwardedAt);
        streamBack(r, res.stream, (res as unknown as { headers: IncomingHttpHeaders }).headers);
      },
      onError: (r, { error }) => {
        const e = transportError(error, gateRequest.method, source);
        gate.completed(verdict, null, forwardedAt, e);
        const rendered = { ...verdict, response: gate.renderError(e, verdict.decisionId) };
        send(r, rendered);
      },
    });
  };
}
