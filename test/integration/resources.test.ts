import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { basename, dirname } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SuppressedEvent } from '../../src/decision/limits.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

/** A TLS connection to the gateway, from `localAddress` (any 127.x.y.z is loopback on Linux: one client each). */
function openSocket(s: Stack, localAddress = '127.0.0.1'): Promise<TLSSocket> {
  const url = new URL(s.gateway.url);
  return new Promise((resolve, reject) => {
    const tcp = netConnect({ host: url.hostname, port: Number(url.port), localAddress });
    const socket = tlsConnect({ socket: tcp, host: url.hostname, ca: readFileSync(s.certs.caCert) });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection. */
function untilClosed(socket: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function head(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\nhost: gateway\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

async function metric(s: Stack, line: string): Promise<number> {
  const res = await request(`${s.gateway.url}/-/metrics`, { dispatcher: s.dispatcher });
  const text = await res.body.text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return Number(found?.split(' ')[1] ?? NaN);
}

/** Polls a gauge until it has the value (the gateway updates it as the server sees bytes or closes). */
async function gaugeReaches(s: Stack, line: string, value: number): Promise<number> {
  let seen = NaN;
  await until(async () => (seen = await metric(s, line)) === value, { timeoutMs: 5000 }).catch(() => undefined);
  return seen;
}

const BODY_BYTES = 'writegate_inflight{resource="body_bytes"}';

function configMap(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: 'b' } });
}

describe('F8: slow requests are timed out, responses are not', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      // Short, but not so short that a TLS handshake on a busy machine (handshakeTimeout = headersTimeoutMs) misses it.
      limits: { headersTimeoutMs: 600, bodyTimeoutMs: 1200 },
    });
  });
  afterAll(async () => { await s?.close(); });

  it('regression F8: a write body stalled one byte short is cut after limits.bodyTimeoutMs, and what it held is given back', async () => {
    const socket = await openSocket(s, '127.0.1.1');
    const answer = untilClosed(socket);
    socket.write(head('POST', '/k8s/api/v1/namespaces/default/configmaps', {
      authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json', 'content-length': 100_000,
    }));
    socket.write(Buffer.alloc(99_999, 0x20));
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('WG_ERR_REQUEST_TIMEOUT');
    expect(await gaugeReaches(s, BODY_BYTES, 0)).toBe(0);
    const event = s.decisions().find((e) => e.caller.remote_addr === '127.0.1.1');
    expect(event).toMatchObject({ outcome: 'error', method: 'POST', error: { code: 'WG_ERR_REQUEST_TIMEOUT' } });
  });

  it('request headers that never end are cut after limits.headersTimeoutMs', async () => {
    const socket = await openSocket(s, '127.0.1.2');
    const answer = untilClosed(socket);
    socket.write('GET /k8s/api/v1/namespaces HTTP/1.1\r\nhost: gateway\r\nx-slow: ');
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('WG_ERR_REQUEST_TIMEOUT');
  });

  it('a watch open far longer than both timeouts still delivers events', async () => {
    const res = await request(`${s.k8s}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=30`, {
      dispatcher: s.dispatcher, headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(res.statusCode).toBe(200);
    const body = res.body[Symbol.asyncIterator]();
    // Three times the request timeout (and many timeout checks) pass with the watch idle.
    await new Promise((r) => setTimeout(r, 3600));
    const created = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('late-event') });
    expect(created.status).toBe(201);
    let text = '';
    while (!text.includes('"late-event"')) {
      const next = await body.next();
      if (next.done) break;
      text += (next.value as Buffer).toString('utf8');
    }
    expect(text).toContain('"late-event"');
    res.body.destroy();
  });

  it('a log follow flows on far past both timeouts', async () => {
    const res = await request(`${s.k8s}/api/v1/namespaces/default/pods/web-0/log?follow=true`, {
      dispatcher: s.dispatcher, headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(res.statusCode).toBe(200);
    // The simulator writes a line every 100 ms: line 40 comes about four seconds in.
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString('utf8');
      if (text.includes('log line 40 ')) break;
    }
    expect(text).toContain('log line 40 ');
    res.body.destroy();
  });
});

describe('F8: limits.inflightBodyBytes', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ bodyBytes: 128 * 1024, limits: { inflightBodyBytes: 256 * 1024, inflightBodyBytesPerClient: 160 * 1024 } });
  });
  afterAll(async () => { await s?.close(); });

  it('regression F8: stalled bodies past limits.inflightBodyBytes make the next write a 503 WG_ERR_OVERLOADED', async () => {
    // Two bodies of 100 KiB each are held (200 of 256 KiB); a third cannot be buffered.
    const held = await Promise.all([openSocket(s, '127.0.1.3'), openSocket(s, '127.0.1.4')]);
    const heldClosed = held.map(untilClosed);
    for (const socket of held) {
      socket.write(head('POST', '/k8s/api/v1/namespaces/default/configmaps', {
        authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json', 'content-length': 120 * 1024,
      }));
      socket.write(Buffer.alloc(100 * 1024, 0x20));
    }
    expect(await gaugeReaches(s, BODY_BYTES, 200 * 1024)).toBe(200 * 1024);

    const third = await openSocket(s, '127.0.1.5');
    const thirdAnswer = untilClosed(third);
    third.write(head('POST', '/k8s/api/v1/namespaces/default/configmaps', {
      authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json', 'content-length': 100 * 1024,
    }));
    third.write(Buffer.alloc(100 * 1024, 0x20));
    const text = await thirdAnswer;
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    const status = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { kind: string; message: string };
    expect(status.kind).toBe('Status');
    expect(status.message).toContain('WG_ERR_OVERLOADED');
    const id = /x-decision-id: ([0-9a-f-]{36})/i.exec(text)?.[1];
    expect(s.decisions().find((e) => e.decision_id === id)?.error?.code).toBe('WG_ERR_OVERLOADED');

    // The clients of the held bodies go away; their bytes come back and writes go through again.
    for (const socket of held) socket.destroy();
    await Promise.all(heldClosed);
    expect(await gaugeReaches(s, BODY_BYTES, 0)).toBe(0);
    const ok = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('after-overload') });
    expect(ok.status).toBe(201);
  });
  it('one client cannot take the whole budget: past limits.inflightBodyBytesPerClient its next write is refused, others go on', async () => {
    const first = await openSocket(s, '127.0.1.6');
    const firstClosed = untilClosed(first);
    first.write(head('POST', '/k8s/api/v1/namespaces/default/configmaps', {
      authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json', 'content-length': 120 * 1024,
    }));
    first.write(Buffer.alloc(100 * 1024, 0x20));
    expect(await gaugeReaches(s, BODY_BYTES, 100 * 1024)).toBe(100 * 1024);

    const second = await openSocket(s, '127.0.1.6');
    const secondAnswer = untilClosed(second);
    second.write(head('POST', '/k8s/api/v1/namespaces/default/configmaps', {
      authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json', 'content-length': 100 * 1024,
    }));
    second.write(Buffer.alloc(100 * 1024, 0x20));
    const text = await secondAnswer;
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toContain('WG_ERR_OVERLOADED');
    expect(text).toContain('inflightBodyBytesPerClient');

    // Another client still writes while the first one's body is held.
    const other = new Agent({ localAddress: '127.0.1.7', connect: { ca: readFileSync(s.certs.caCert) } });
    try {
      const res = await request(`${s.k8s}/api/v1/namespaces/default/configmaps`, {
        method: 'POST', dispatcher: other, body: configMap('other-client'), headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' },
      });
      await res.body.dump();
      expect(res.statusCode).toBe(201);
    } finally {
      await other.destroy();
    }
    first.destroy();
    await firstClosed;
    expect(await gaugeReaches(s, BODY_BYTES, 0)).toBe(0);
  });
});

describe('F8: limits.maxConnections', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ limits: { maxConnections: 4 } }); });
  afterAll(async () => { await s?.close(); });

  it('closes connections past the cap as they arrive, and takes new ones once a slot is free', async () => {
    const open = await Promise.all(Array.from({ length: 4 }, (_, i) => openSocket(s, `127.0.2.${i + 1}`)));
    await expect(openSocket(s, '127.0.2.9')).rejects.toThrow();
    open[0]!.destroy();
    const server = s.gateway.app.fastify.server;
    await until(async () => (await new Promise<number>((r) => { server.getConnections((_e, n) => r(n)); })) === 3, { timeoutMs: 5000 }).catch(() => undefined);
    const again = await openSocket(s, '127.0.2.9');
    const answer = untilClosed(again);
    again.write(head('GET', '/k8s/version', { authorization: `Bearer ${TOKENS.admin}`, connection: 'close' }));
    expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
    for (const socket of open) socket.destroy();
  });
});

describe('F16: watches cannot starve writes', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ limits: { streamsPerClient: 2 } }); });
  afterAll(async () => { await s?.close(); });

  function watch(dispatcher: Agent, name: string) {
    return request(`${s.k8s}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=60&fieldSelector=metadata.name%3D${name}`, {
      dispatcher, headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
  }

  it('regression F16: a write goes through while 70 watches are open (from 35 clients)', async () => {
    const clients = Array.from({ length: 35 }, (_, i) => new Agent({ localAddress: `127.0.3.${i + 1}`, connect: { ca: readFileSync(s.certs.caCert) } }));
    try {
      const watches = await Promise.all(clients.flatMap((c) => [watch(c, 'w-a'), watch(c, 'w-b')]));
      expect(watches.map((w) => w.statusCode)).toEqual(Array(70).fill(200));
      const created = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('during-watches'), token: TOKENS.alice });
      expect(created.status).toBe(201);
      const patched = await s.call('PATCH', '/api/v1/namespaces/default/configmaps/during-watches', {
        body: '{"data":{"a":"c"}}', headers: { 'content-type': 'application/merge-patch+json' }, token: TOKENS.alice,
      });
      expect(patched.status).toBe(200);
      for (const w of watches) w.body.destroy();
    } finally {
      await Promise.all(clients.map((c) => c.destroy()));
    }
  });

  it('a client over limits.streamsPerClient gets 429 WG_ERR_TOO_MANY_STREAMS in a Status, and its slot back when a watch ends', async () => {
    const client = new Agent({ localAddress: '127.0.4.1', connect: { ca: readFileSync(s.certs.caCert) } });
    try {
      const [a, b] = await Promise.all([watch(client, 'x'), watch(client, 'y')]);
      expect([a!.statusCode, b!.statusCode]).toEqual([200, 200]);
      const third = await watch(client, 'z');
      expect(third.statusCode).toBe(429);
      const status = await third.body.json() as { kind: string; reason: string; code: number; message: string };
      expect(status).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
      expect(status.message).toContain('WG_ERR_TOO_MANY_STREAMS');
      const event = s.decisions().find((e) => e.decision_id === third.headers['x-decision-id']);
      expect(event).toMatchObject({ outcome: 'error', error: { code: 'WG_ERR_TOO_MANY_STREAMS' } });
      // Another client is not affected.
      const other = await watch(s.dispatcher, 'z');
      expect(other.statusCode).toBe(200);
      other.body.destroy();
      a!.body.destroy();
      let again = await watch(client, 'z');
      for (let i = 0; i < 100 && again.statusCode === 429; i++) {
        await again.body.dump();
        await new Promise((r) => setTimeout(r, 25));
        again = await watch(client, 'z');
      }
      expect(again.statusCode).toBe(200);
      again.body.destroy();
      b!.body.destroy();
    } finally {
      await client.destroy();
    }
  });
  it('exec streams count too: past the cap an upgrade gets 429 WG_ERR_TOO_MANY_STREAMS before anything goes upstream', async () => {
    const client = new Agent({ localAddress: '127.0.4.2', connect: { ca: readFileSync(s.certs.caCert) } });
    try {
      const [a, b] = await Promise.all([watch(client, 'x'), watch(client, 'y')]);
      expect([a!.statusCode, b!.statusCode]).toEqual([200, 200]);
      const execs = s.sim.requests.filter((r) => r.url.includes('/exec')).length;
      const answer = await new Promise<{ status: number; body: string; id: string }>((resolve, reject) => {
        const ws = new WebSocket(`${s.k8s.replace('https', 'wss')}/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true`, ['v5.channel.k8s.io'], {
          ca: readFileSync(s.certs.caCert), localAddress: '127.0.4.2', headers: { authorization: `Bearer ${TOKENS.ops}` },
        });
        ws.on('upgrade', () => reject(new Error('upgraded past the cap')));
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, id: String(res.headers['x-decision-id']) }));
        });
        ws.on('error', () => undefined);
      });
      expect(answer.status).toBe(429);
      expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
      expect(s.decisions().find((e) => e.decision_id === answer.id)?.error?.code).toBe('WG_ERR_TOO_MANY_STREAMS');
      expect(s.sim.requests.filter((r) => r.url.includes('/exec')).length).toBe(execs);
      a!.body.destroy();
      b!.body.destroy();
    } finally {
      await client.destroy();
    }
  });
});

describe('F13: what refused requests may write to the decision log', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack(); });
  afterAll(async () => { await s?.close(); });

  function unlabelledDeployment(name: string, padding: number): string {
    return JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name, namespace: 'default', annotations: { padding: 'x'.repeat(padding) } },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
    });
  }

  it('regression F13: a denied 1 MiB body is recorded as a summary of a few KiB', async () => {
    const client = new Agent({ localAddress: '127.0.5.1', connect: { ca: readFileSync(s.certs.caCert) } });
    try {
      const body = unlabelledDeployment('big-denied', 1024 * 1024);
      const res = await request(`${s.k8s}/apis/apps/v1/namespaces/default/deployments`, {
        method: 'POST', dispatcher: client, body, headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' },
      });
      await res.body.dump();
      expect(res.statusCode).toBe(403);
      s.gateway.decisionLog.flush();
      const line = readFileSync(s.logPath, 'utf8').split('\n').find((l) => l.includes(String(res.headers['x-decision-id'])))!;
      expect(line.length).toBeLessThan(8 * 1024);
      const event = JSON.parse(line) as DecisionEvent;
      expect(event.outcome).toBe('denied');
      expect(event.reasons.join(' ')).toContain('owner');
      // The bulk (the padding annotation) is summarised; what an auditor reads first stays.
      const judged = (event.input as { request: { operation: string; name: string; object: { metadata: { annotations: { padding: unknown } } } } }).request;
      expect(judged).toMatchObject({ operation: 'CREATE', name: 'big-denied' });
      expect(judged.object.metadata.annotations.padding).toMatchObject({ truncated: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect((judged.object.metadata.annotations.padding as { bytes: number }).bytes).toBeGreaterThan(1024 * 1024);
    } finally {
      await client.destroy();
    }
  });

  it('regression F13: a flood of anonymous and refused requests writes a bounded number of bytes, and counts what it did not write', async () => {
    const client = new Agent({ localAddress: '127.0.5.2', connect: { ca: readFileSync(s.certs.caCert) }, connections: 8 });
    const before = statSync(s.logPath).size;
    const big = Buffer.alloc(1024 * 1024, 0x61).toString();
    const send = async (method: string, path: string, body?: string, token?: string): Promise<void> => {
      const res = await request(`${s.gateway.url}${path}`, {
        method: method as 'GET', dispatcher: client, ...(body ? { body } : {}),
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
      await res.body.dump();
    };
    try {
      const flood: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++) {
        flood.push(send('GET', `/nowhere/${'a'.repeat(8000)}${i}`));
        flood.push(send('POST', '/k8s/api/v1/namespaces/default/configmaps', `{"data":{"x":"${big}"}}`));
        flood.push(send('POST', '/k8s/apis/apps/v1/namespaces/default/deployments', unlabelledDeployment(`flood-${i}`, 1024 * 1024), TOKENS.admin));
      }
      await Promise.all(flood);
    } finally {
      await client.destroy();
    }
    s.gateway.decisionLog.flush();
    const written = statSync(s.logPath).size - before;
    // 60 requests carrying over 40 MiB (42 MB of log before the fix): the default burst (20) and rate (5/s) of
    // records of a few KiB each, plus a summary.
    expect(written).toBeLessThan(512 * 1024);
    const text = readFileSync(s.logPath, 'utf8');
    for (const line of text.split('\n')) expect(line.length).toBeLessThan(8 * 1024);
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionEvent | SuppressedEvent);
    const mine = lines.filter((l): l is DecisionEvent => l.type === 'writegate/decision' && l.caller.remote_addr === '127.0.5.2');
    const suppressed = lines.filter((l): l is SuppressedEvent => l.type === 'writegate/suppressed')
      .flatMap((l) => l.clients).filter((c) => c.client === '127.0.5.2').reduce((n, c) => n + c.records, 0);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length + suppressed).toBe(60);
    expect(suppressed).toBeGreaterThan(0);
  });
});

describe('F13: the decision log rotates (decisionLog.maxBytes, decisionLog.keep)', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ decisionLog: { maxBytes: 8 * 1024, keep: 2 } }); });
  afterAll(async () => { await s?.close(); });

  it('keeps the current file and `keep` rotated ones, and every forwarded write is in a file when its answer arrives', async () => {
    const files = (): string[] => [2, 1].map((k) => `${s.logPath}.${k}`).filter(existsSync).concat(s.logPath);
    for (let i = 0; i < 30; i++) {
      const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap(`rotated-${i}`) });
      expect(res.status).toBe(201);
      const id = String(res.headers['x-decision-id']);
      // Read without flushing: the record must already be in one of the files.
      expect(files().some((f) => readFileSync(f, 'utf8').includes(id))).toBe(true);
    }
    const names = readdirSync(dirname(s.logPath)).filter((f) => f.startsWith(basename(s.logPath))).sort();
    expect(names).toEqual(['decisions.log', 'decisions.log.1', 'decisions.log.2']);
    for (const f of files()) expect(statSync(f).size).toBeLessThanOrEqual(8 * 1024);
  });
});
