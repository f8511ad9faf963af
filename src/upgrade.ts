import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WritegateError, isWritegateError } from './errors.js';
import type { Gate, Verdict } from './gate.js';
import { cleanResponseHeaders } from './http/headers.js';
import { upstreamTransportError, type UpstreamClient } from './upstreams/client.js';
import type { SecretMasker } from './upstreams/credentials.js';
import type { GateRequest, RenderedResponse } from './upstreams/types.js';

export interface Mount {
  prefix: string;
  gate: Gate;
  client: UpstreamClient;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 429: 'Too Many Requests', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** HTTP/1.1 header lines, one per value. */
function headerLines(headers: Record<string, string | string[]>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k}: ${one}`));
}

/** Answers on a connection that was not upgraded, and closes it. */
export function writeResponse(socket: Duplex, r: RenderedResponse, extra: Record<string, string | string[]>): void {
  const headers: Record<string, string | string[]> = { ...r.headers, ...extra, 'content-length': String(Buffer.byteLength(r.body)), connection: 'close' };
  const lines = [`HTTP/1.1 ${r.status} ${REASONS[r.status] ?? 'Error'}`, ...headerLines(headers)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  socket.end(r.body);
  discardInput(socket);
}

/**
 * After a final answer the connection only closes: what the client sent or still sends (pipelined requests)
 * is read and dropped, so that its end is seen and the socket closes instead of waiting on unread bytes.
 */
function discardInput(socket: Duplex): void {
  socket.on('data', () => undefined);
  socket.resume();
}

export function findMount(mounts: Mount[], url: string): Mount | undefined {
  return mounts.find((m) => url === m.prefix || url.startsWith(`${m.prefix}/`) || url.startsWith(`${m.prefix}?`));
}

/**
 * Protocol upgrades (exec, attach, port-forward over WebSocket or SPDY/3.1)
 * never reach Fastify: Node hands them to the server's 'upgrade' event. They
 * are gated like any write — before a single byte goes upstream — and only on
 * the paths where the apiserver itself upgrades (the adapter refuses others).
 * Once allowed, the request head is sent upstream on a connection of its own;
 * the two sockets are piped both ways only after the upstream answered
 * `101 Switching Protocols`. Any other answer is relayed and both connections
 * are closed: a piped connection the upstream did not upgrade would carry the
 * client's next requests upstream with no decision.
 */
export function upgradeHandler(mounts: Mount[]) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    void handle(mounts, req, socket, head).catch(() => socket.destroy());
  };
}

async function handle(mounts: Mount[], req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const url = req.url ?? '/';
  const mount = findMount(mounts, url);
  if (!mount) {
    const e = new WritegateError('WG_ERR_NOT_FOUND', url.split('?')[0]);
    writeResponse(socket, { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: e.code, message: e.message }) }, {});
    return;
  }
  const { gate, client } = mount;
  // Connection-listed headers are gone before anything reads the request, as they are from what goes upstream.
  const { headers, refused } = gate.headers.endToEnd(req.headers);
  let gateRequest: GateRequest = {
    method: req.method ?? 'GET',
    url: url.slice(mount.prefix.length) || '/',
    headers,
    upgrade: true,
    remoteAddress: req.socket.remoteAddress ?? '',
    secure: (req.socket as { encrypted?: boolean }).encrypted === true,
  };
  let verdict;
  try {
    if (refused) throw refused;
    // The caller is authenticated before anything else, as for proxied requests; its headers are then the ones
    // forwarded (without a consumed gateway token or spoofed identity headers).
    const auth = await gate.authenticate(gateRequest, { socket: req.socket, distinct: req.headersDistinct });
    gateRequest = auth.req;
    if (auth.refused) throw auth.refused;
    const admitted = gate.admit(gateRequest);
    if (admitted.refused) throw admitted.refused;
    if (admitted.release) socket.once('close', admitted.release);
    let classified = gate.classify(gateRequest);
    // An upgrade has no body to read first: a kind that needs one to classify judges it without.
    if (classified.needsBody) classified = gate.classifyBody(gateRequest, classified, Buffer.alloc(0));
    verdict = await gate.decide(gateRequest, classified, undefined);
  } catch (err) {
    const e = isWritegateError(err) ? err : new WritegateError('WG_ERR_BAD_REQUEST', (err as Error).message, { cause: err });
    const rejected = gate.refuse(gateRequest, e);
    writeResponse(socket, rejected.response!, rejected.responseHeaders);
    return;
  }
  if (!verdict.forward) {
    writeResponse(socket, verdict.response!, verdict.responseHeaders);
    return;
  }
  forward(gate, client, gateRequest, verdict, socket, head);
}

function forward(gate: Gate, client: UpstreamClient, gateRequest: GateRequest, verdict: Verdict, socket: Duplex, head: Buffer): void {
  const forwardedAt = performance.now();
  const target = new URL(client.origin);
  const secure = target.protocol === 'https:';
  let upstream: ClientRequest;
  try {
    const options: RequestOptions = {
      host: target.hostname,
      port: Number(target.port || (secure ? 443 : 80)),
      method: gateRequest.method,
      // The exact target that was classified (http.request sends `path` as given; no URL normalisation).
      path: client.basePath + gateRequest.url,
      headers: gate.headers.upgrade(gateRequest, verdict.decisionId, target.host),
      // A connection of its own: it becomes the tunnel, or is closed with the client's.
      agent: false,
    };
    // No ALPN is offered, so the upstream speaks HTTP/1.1, the only version with Upgrade. client.tls carries the
    // held client certificate as it is now.
    upstream = secure ? httpsRequest({ ...options, ...client.tls }) : httpRequest(options);
  } catch (err) {
    // The held credential could not be read (WG_ERR_CREDENTIAL_UNAVAILABLE) since the request was admitted.
    const e = isWritegateError(err) ? err : upstreamTransportError(err, `${gateRequest.method} upgrade ${client.origin}`);
    gate.completed(verdict, null, forwardedAt, e);
    writeResponse(socket, gate.renderError(e, verdict.decisionId), verdict.responseHeaders);
    return;
  }

  let settled = false;
  socket.on('close', () => upstream.destroy());
  upstream.on('error', (err) => {
    if (settled) {
      socket.destroy();
      return;
    }
    settled = true;
    const e = upstreamTransportError(err, `${gateRequest.method} upgrade ${client.origin}`);
    gate.completed(verdict, null, forwardedAt, e);
    writeResponse(socket, gate.renderError(e, verdict.decisionId), verdict.responseHeaders);
  });

  // 101 (Node emits 'upgrade' for nothing else; a 200 carrying Upgrade headers is a 'response'): only now may
  // bytes flow both ways, the client's buffered ones (`head`) included.
  upstream.on('upgrade', (res: IncomingMessage, tunnel: Socket, upstreamHead: Buffer) => {
    settled = true;
    gate.completed(verdict, res.statusCode ?? null, forwardedAt);
    // The head of the answer is masked of a held secret, as every answer read through the client's pools is; what
    // the tunnel carries afterwards is the session's own.
    const masker = client.credentials.answerMasker();
    const upstreamLines = rawHeaderLines(res.rawHeaders).map((l) => (masker ? masker.text(l) : l));
    const lines = [`HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}`, ...upstreamLines, ...headerLines(verdict.responseHeaders)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (upstreamHead.length) socket.write(upstreamHead);
    if (head.length) tunnel.write(head);
    tunnel.on('error', () => socket.destroy());
    tunnel.on('close', () => socket.destroy());
    socket.on('close', () => tunnel.destroy());
    tunnel.pipe(socket);
    socket.pipe(tunnel);
  });

  // Any other answer: relay it and close both connections; the client's buffered bytes are dropped.
  upstream.on('response', (res: IncomingMessage) => {
    settled = true;
    gate.completed(verdict, res.statusCode ?? null, forwardedAt);
    const masker = client.credentials.answerMasker();
    relayHead(socket, res, verdict, masker);
    res.on('error', () => socket.destroy());
    res.on('end', () => upstream.destroy());
    (masker ? res.pipe(masker.transform()) : res).pipe(socket);
    discardInput(socket);
  });
  upstream.end();
}

/**
 * The status line and end-to-end headers of an answer that did not switch protocols, masked of a held secret; the
 * connection then closes.
 */
function relayHead(socket: Duplex, res: IncomingMessage, verdict: Verdict, masker: SecretMasker | undefined): void {
  const status = res.statusCode ?? 502;
  const upstream = cleanResponseHeaders(res.headers);
  const headers = { ...(masker ? masker.headers(upstream) : upstream), ...verdict.responseHeaders, connection: 'close' };
  const lines = [`HTTP/1.1 ${status} ${res.statusMessage || REASONS[status] || 'Error'}`, ...headerLines(headers)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
}

/** Header lines of a raw header list (name, value, name, value, ...), spelled as the upstream sent them. */
function rawHeaderLines(raw: string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return lines;
}
