import { connect as tlsConnect } from 'node:tls';

/** Headers of a WebSocket upgrade request (RFC 6455 §4.1), as raw header lines. */
export const WS_UPGRADE = 'connection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** A request head (and body) as raw HTTP/1.1 bytes; `token` false sends no Authorization header. */
export function rawRequest(method: string, target: string, token: string | false, lines = '', body = ''): string {
  const length = body || method === 'POST' || method === 'PUT' ? `content-length: ${Buffer.byteLength(body)}\r\n` : '';
  return `${method} ${target} HTTP/1.1\r\nhost: gateway\r\n${token ? `authorization: Bearer ${token}\r\n` : ''}${lines}${length}\r\n${body}`;
}

/**
 * Writes `first` on one TLS connection to `baseUrl` (no client-side URL or header normalisation); once a
 * response head has come back, writes `next` (when given) on the same connection. Resolves with everything the
 * server sent, when the server closes the connection.
 */
export function converse(baseUrl: string, ca: Buffer, first: string, next?: string): Promise<string> {
  return new Promise((resolve) => {
    const url = new URL(baseUrl);
    const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca }, () => socket.write(first));
    let text = '';
    let sent = false;
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (next !== undefined && !sent && text.includes('\r\n\r\n')) {
        sent = true;
        socket.write(next);
      }
    });
    // A write after the server closed fails; what matters is what reached the upstream.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

export const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
export const decisionIdOf = (text: string): string | undefined => /x-decision-id: ([0-9a-f-]{36})/i.exec(text)?.[1];

/** The `Sec-WebSocket-Protocol` entry that carries a bearer token (k8s.io/apiserver authentication/request/websocket). */
export const bearerProtocol = (token: string): string => `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;
