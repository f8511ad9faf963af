/**
 * `pods/exec` and `pods/attach` over WebSocket (KEP-4006, kubectl ≥ 1.30:
 * `GET …/exec?command=…` with `Upgrade: websocket` and subprotocol
 * `v5.channel.k8s.io`). Every binary message starts with a channel byte:
 * 0 stdin, 1 stdout, 2 stderr, 3 error/status (a JSON `Status`), 4 resize,
 * 255 close (v5 only). The simulator writes canned stdout, a Success status and
 * closes, which kubectl treats as exit code 0.
 *
 * SPDY (`Upgrade: SPDY/3.1`, what kubectl ≤ 1.29 and the websocket fallback use) is
 * not implemented; such requests get a 400 Status.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KubeStatus } from './status.js';

export const STREAM_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const STDOUT = 1;
const ERROR = 3;

export function createStreamServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => STREAM_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
}

function frame(channel: number, data: string): Buffer {
  return Buffer.concat([Buffer.from([channel]), Buffer.from(data, 'utf8')]);
}

/**
 * Writes a plain HTTP error (a Status body) on a socket that was not upgraded. Like the apiserver (Go's
 * net/http answers before any hijack), the connection stays open for the client's next request.
 */
export function rejectUpgrade(socket: Duplex, status: KubeStatus): void {
  const body = JSON.stringify(status);
  const reason = status.reason ?? 'Error';
  socket.write(
    `HTTP/1.1 ${status.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export interface StreamRequest {
  kind: 'exec' | 'attach';
  pod: string;
  container: string;
  command: string[];
}

/** Completes the WebSocket handshake and plays the canned session. */
export function serveStream(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, stream: StreamRequest): void {
  wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    const out =
      stream.kind === 'exec' ? `exec: ${stream.command.join(' ')}\n` : `attached to ${stream.pod}/${stream.container}\n`;
    ws.send(frame(STDOUT, out));
    ws.send(frame(ERROR, JSON.stringify({ metadata: {}, status: 'Success' })));
    ws.close(1000);
  });
}
