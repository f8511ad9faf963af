/**
 * What the netbox kind sends upstream, seen by a recording HTTP server standing in for NetBox (the behaviour of a
 * real NetBox is test/netbox/gateway.test.ts): the client's bytes, the gateway's forwarding headers instead of the
 * client's, and the If-Match that pins an allowed update to the version judged.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

const ETAG = 'W/"2026-12-02T08:00:00.000001+00:00"';
const DEVICE = { id: 5, name: 'ams1-leaf-01', status: { value: 'active', label: 'Active' }, tags: [] };

describe('netbox kind: what reaches the upstream', () => {
  let upstream: Server;
  let stack: Stack;
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/netbox/api/authentication-check/') return res.end(JSON.stringify({ id: 1, username: 'admin', groups: [] }));
        if (req.url === '/netbox/api/dcim/devices/5/') {
          res.setHeader('etag', ETAG);
          return res.end(JSON.stringify(req.method === 'GET' ? DEVICE : { ...DEVICE, serial: 'SN-1' }));
        }
        res.statusCode = 404;
        return res.end('{"detail": "Not found."}');
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { port } = upstream.address() as AddressInfo;
    stack = await startStack({
      kinds: [{ name: 'netbox', kind: 'netbox', prefix: '/netbox', target: `http://127.0.0.1:${port}/netbox`, policy: 'writegate/netbox/decision' }],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await new Promise((r) => upstream?.close(r));
  });

  it('forwards an allowed PATCH with the client\'s exact bytes, If-Match of the version judged, and its own X-Forwarded-*', async () => {
    seen.length = 0;
    const body = '{ "serial" :"SN-1"}';
    const res = await request(`${stack.url('netbox')}/api/dcim/devices/5/`, {
      method: 'PATCH',
      dispatcher: stack.dispatcher,
      headers: {
        authorization: 'Token 0123456789012345678901234567890123456789', 'content-type': 'application/json',
        'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', 'x-forwarded-for': '10.9.9.9', 'x-real-ip': '10.9.9.9', forwarded: 'for=10.9.9.9',
      },
      body,
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const patch = seen.find((s) => s.method === 'PATCH')!;
    expect(patch.url).toBe('/netbox/api/dcim/devices/5/');
    expect(patch.body).toBe(body);
    const gateway = new URL(stack.url('netbox'));
    expect(patch.headers).toMatchObject({
      'if-match': ETAG, 'x-forwarded-host': gateway.host, 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1',
      'x-decision-id': res.headers['x-decision-id'],
    });
    expect(patch.headers['x-real-ip']).toBeUndefined();
    expect(patch.headers.forwarded).toBeUndefined();
    // The gateway's own reads carry the caller's token and the same forwarding headers, so the current object's
    // URLs are the ones the caller sees.
    const read = seen.find((s) => s.method === 'GET' && s.url === '/netbox/api/dcim/devices/5/')!;
    expect(read.headers).toMatchObject({ authorization: 'Token 0123456789012345678901234567890123456789', 'x-forwarded-host': gateway.host, 'x-forwarded-proto': 'https' });
  });
});
