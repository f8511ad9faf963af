import type { IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { WritegateError, isWritegateError } from './errors.js';
import type { Gate } from './gate.js';
import { cleanRequestHeaders } from './http/headers.js';
import { upstreamTransportError, type UpstreamClient } from './upstreams/client.js';
import type { GateRequest, RenderedResponse } from './upstreams/types.js';

export interface Mount {
  prefix: string;
  gate: Gate;
  client: UpstreamClient;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** HTTP/1.1 header lines, one per value. */
function headerLines(headers: Record<string, string | string[]>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k}: ${one}`));
}

function writeResponse(socket: Duplex, r: RenderedResponse, extra: Record<string, string | string[]>): void {
  const headers: Record<string, string | string[]> = { ...r.headers, ...extra, 'content-length': String(Buffer.byteLength(r.body)), connection: 'close' };
  const lines = [`HTTP/1.1 ${r.status} ${REASONS[r.status] ?? 'Error'}`, ...headerLines(headers)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  socket.end(r.body);
}

export function findMount(mounts: Mount[], url: string): Mount | undefined {
  return mounts.find((m) => url === m.prefix || url.startsWith(`${m.prefix}/`) || url.startsWith(`${m.prefix}?`));
}

/**
 * Protocol upgrades (exec, attach, port-forward over WebSocket or SPDY/3.1)
 * never reach Fastify: Node hands them to the server's 'upgrade' event. They
 * are gated like any write — before a single byte goes upstream — and, once
 * allowed, the request head is replayed to the upstream and the two sockets
 * are piped both ways. The upstream's response head is read so the decision
 * id can be added and its status logged.
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
  const gateRequest: GateRequest = {
    method: req.method ?? 'GET',
    url: url.slice(mount.prefix.length) || '/',
    headers: req.headers,
    upgrade: true,
    remoteAddress: req.socket.remoteAddress ?? '',
  };
  let verdict;
  try {
    verdict = await gate.decide(gateRequest, gate.classify(gateRequest), undefined);
  } catch (err) {
    const e = isWritegateError(err) ? err : new WritegateError('WG_ERR_BAD_REQUEST', (err as Error).message, { cause: err });
    const refused = gate.refuse(gateRequest, e);
    writeResponse(socket, refused.response!, refused.responseHeaders);
    return;
  }
  if (!verdict.forward) {
    writeResponse(socket, verdict.response!, verdict.responseHeaders);
    return;
  }

  const forwardedAt = performance.now();
  const target = new URL(client.origin);
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const upstream: Socket = target.protocol === 'https:'
    ? tlsConnect({ host: target.hostname, port, ...client.tls, servername: client.tls.servername ?? (/^[\d.]+$|:/.test(target.hostname) ? '' : target.hostname), ALPNProtocols: ['http/1.1'] })
    : netConnect({ host: target.hostname, port });

  const headers = { ...cleanRequestHeaders(req.headers), host: target.host, 'x-decision-id': verdict.decisionId, connection: 'Upgrade', upgrade: String(req.headers.upgrade) };
  const lines = [`${gateRequest.method} ${client.basePath}${gateRequest.url} HTTP/1.1`, ...headerLines(headers)];

  let settled = false;
  upstream.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) upstream.write(head);
  });
  upstream.on('error', (err) => {
    if (!settled) {
      settled = true;
      const e = upstreamTransportError(err, `${gateRequest.method} upgrade ${client.origin}`);
      gate.completed(verdict, null, forwardedAt, e);
      writeResponse(socket, gate.renderError(e, verdict.decisionId), verdict.responseHeaders);
    } else {
      socket.destroy();
    }
  });

  // Read the upstream's response head, add the decision headers, then pipe.
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end === -1) {
      if (buffered.length > 64 * 1024) upstream.destroy(new Error('upstream response head too large'));
      return;
    }
    upstream.off('data', onData);
    settled = true;
    const headText = buffered.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0) || null;
    gate.completed(verdict, status, forwardedAt);
    const extra = headerLines(verdict.responseHeaders);
    const firstLineEnd = headText.indexOf('\r\n');
    const newHead = firstLineEnd === -1
      ? `${headText}\r\n${extra.join('\r\n')}`
      : `${headText.slice(0, firstLineEnd)}\r\n${extra.join('\r\n')}${headText.slice(firstLineEnd)}`;
    socket.write(Buffer.from(`${newHead}\r\n\r\n`, 'latin1'));
    socket.write(buffered.subarray(end + 4));
    upstream.pipe(socket);
    socket.pipe(upstream);
  };
  upstream.on('data', onData);
  upstream.on('close', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
}
