/**
 * Held upstream credentials (`upstreams[].credentials.mode: held`) end to end with real OPA, in front of a REST API
 * (the generic kind) that records every request it gets: it sees the gateway's secret and never the caller's, on
 * forwarded reads and writes and on the gateway's own current-object reads; the secret file is re-read when it
 * changes (rotation); a missing or empty one is a 503 and nothing goes upstream; and the secret appears in no
 * response, app log line, decision log record, `/-/metrics` or `writegate explain` output — after allowed, denied,
 * refused and failed requests, including an upstream that is down and one that echoes the request in its 401 (to a
 * read, and to an exec upgrade it does not switch).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGateway, type Gateway } from '../../app/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { DecisionEvent, LogEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates } from '../../src/tls.js';

const run = promisify(execFile);
const ENV = 'WG_TEST_HELD_API_KEY';

/** A secret as an operator would mint one: the test greps every output for each one it used. */
const mint = (label: string): string => `${label}-${randomBytes(16).toString('hex')}`;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

describe('held upstream credentials (generic kind, real OPA)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-held-'));
  const tokenFile = join(dir, 'upstream-token');
  const lateFile = join(dir, 'late-token');
  const appLog = join(dir, 'app.log');
  const decisionLog = join(dir, 'decisions.log');
  const secrets: string[] = [];
  const seen: Seen[] = [];
  const answers: string[] = [];
  let api: Server;
  let opa: LocalOpa;
  let gateway: Gateway;
  let dispatcher: Agent;
  let raw: RawConfig;
  let ca: Buffer;
  let secret = mint('held');
  secrets.push(secret);

  const call = async (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const res = await request(`${gateway.url}${path}`, {
      method: method as 'GET',
      dispatcher,
      headers: { authorization: 'Bearer caller-own-token', cookie: 'session=caller-own-cookie', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await res.body.text();
    // Everything a caller was answered, status line to body, for the leak check.
    answers.push(`${res.statusCode} ${JSON.stringify(res.headers)} ${text}`);
    return { status: res.statusCode, headers: res.headers, text, json: (() => { try { return JSON.parse(text) as Record<string, unknown>; } catch { return undefined; } })() };
  };
  const events = (): LogEvent[] => {
    gateway.decisionLog.flush();
    return readFileSync(decisionLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEvent);
  };
  const decision = (id: unknown): DecisionEvent => events().find((e): e is DecisionEvent => e.type === 'writegate/decision' && e.decision_id === id)!;
  const since = (n: number): Seen[] => seen.slice(n);

  beforeAll(async () => {
    writeFileSync(tokenFile, `${secret}\n`);
    api = createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      req.resume();
      req.on('end', () => {
        if (req.url === '/v1/echo') {
          // An upstream that tells the client everything it was sent, headers and all, in its refusal.
          res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer error="invalid_token", got="${String(req.headers.authorization)}"` });
          res.end(JSON.stringify({ error: 'unauthorized', request: { method: req.method, url: req.url, headers: req.headers } }));
          return;
        }
        const thing = /^\/v1\/things\/([^/]+)$/.exec(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(thing ? { id: thing[1], colour: 'red' } : { ok: true }));
      });
    });
    // An exec the upstream refuses instead of switching protocols, echoing what it was sent.
    api.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      const body = JSON.stringify({ kind: 'Status', status: 'Failure', code: 403, message: `refused ${String(req.headers.authorization)}` });
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nX-Echo: ${String(req.headers.authorization)}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    const target = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    // A port nothing listens on: the upstream is down.
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const down = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    closed.close();

    process.env[ENV] = mint('env');
    secrets.push(process.env[ENV]);
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    const certs = devCertificates(join(dir, 'certs'));
    const generic = { templates: ['/v1/things/{id}'], currentObject: true };
    const policy = 'writegate/generic/decision';
    raw = {
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certs.cert, key: certs.key } },
      opa: { url: opa.url },
      decisionLog: { path: decisionLog },
      upstreams: [
        { name: 'things', kind: 'generic', prefix: '/things', target, policy, generic, credentials: { mode: 'held', tokenFile } },
        { name: 'keyed', kind: 'generic', prefix: '/keyed', target, policy, generic, credentials: { mode: 'held', env: ENV, header: 'X-Api-Key', prefix: '' } },
        { name: 'late', kind: 'generic', prefix: '/late', target, policy, generic, credentials: { mode: 'held', tokenFile: lateFile } },
        { name: 'down', kind: 'generic', prefix: '/down', target: down, policy, generic, credentials: { mode: 'held', tokenFile } },
        { name: 'kube', kind: 'kubernetes', prefix: '/kube', target, policy: 'writegate/kubernetes/decision', identity: 'none', credentials: { mode: 'held', tokenFile } },
      ],
    };
    const logger = pino({ level: 'trace' }, pino.destination({ dest: appLog, sync: true }));
    gateway = await startGateway(parseConfig(raw), { logger });
    dispatcher = new Agent({ connect: { ca: readFileSync(certs.caCert) } });
    ca = readFileSync(certs.caCert);
  });

  afterAll(async () => {
    await gateway?.close();
    await dispatcher?.close();
    await opa?.stop();
    api?.close();
    delete process.env[ENV];
  });

  it('a read carries the held secret and none of the caller\'s credentials', async () => {
    const n = seen.length;
    const res = await call('GET', '/things/v1/things/a');
    expect(res.status).toBe(200);
    const [got] = since(n);
    expect(got!.headers.authorization).toBe(`Bearer ${secret}`);
    expect(got!.headers.cookie).toBeUndefined();
    expect(JSON.stringify(got!.headers)).not.toContain('caller-own');
  });

  it('an allowed write and the gateway\'s own current-object read carry the held secret', async () => {
    const n = seen.length;
    const res = await call('PUT', '/things/v1/things/a', { body: '{"colour":"blue"}' });
    expect(res.status).toBe(200);
    expect(decision(res.headers['x-decision-id']).outcome).toBe('allowed');
    const sent = since(n);
    expect(sent.map((s) => s.method)).toEqual(['GET', 'PUT']);
    for (const s of sent) {
      expect(s.headers.authorization).toBe(`Bearer ${secret}`);
      expect(s.headers.cookie).toBeUndefined();
    }
  });

  it('the next request after a rotation carries the new secret (rewritten in place, then replaced by a rename)', async () => {
    secret = mint('rotated');
    secrets.push(secret);
    writeFileSync(tokenFile, secret);
    let n = seen.length;
    expect((await call('GET', '/things/v1/things/b')).status).toBe(200);
    expect(since(n)[0]!.headers.authorization).toBe(`Bearer ${secret}`);

    // As a Kubernetes projected token is rotated: a new file renamed over the old name.
    secret = mint('swapped');
    secrets.push(secret);
    writeFileSync(`${tokenFile}.new`, `${secret}\n`);
    renameSync(`${tokenFile}.new`, tokenFile);
    n = seen.length;
    expect((await call('PUT', '/things/v1/things/b', { body: '{"colour":"green"}' })).status).toBe(200);
    expect(since(n).map((s) => s.headers.authorization)).toEqual([`Bearer ${secret}`, `Bearer ${secret}`]);
  });

  it('an environment variable in a header of the operator\'s choosing replaces the caller\'s own header of that name', async () => {
    const n = seen.length;
    const res = await call('GET', '/keyed/v1/things/c', { headers: { 'x-api-key': 'caller-own-key' } });
    expect(res.status).toBe(200);
    const [got] = since(n);
    expect(got!.headers['x-api-key']).toBe(process.env[ENV]);
    expect(got!.headers.authorization).toBeUndefined();
  });

  it('a missing or empty credential file is a 503 and nothing goes upstream; the next request after it is restored works', async () => {
    const n = seen.length;
    const missing = await call('GET', '/late/v1/things/d');
    expect(missing.status).toBe(503);
    expect(missing.json).toMatchObject({ error: 'WG_ERR_CREDENTIAL_UNAVAILABLE' });
    expect(String(missing.json!.message)).toContain(`the credential file ${lateFile} cannot be read (ENOENT)`);
    const write = await call('PUT', '/late/v1/things/d', { body: '{"colour":"blue"}' });
    expect(write.status).toBe(503);
    expect(decision(write.headers['x-decision-id'])).toMatchObject({ outcome: 'error', error: { code: 'WG_ERR_CREDENTIAL_UNAVAILABLE' } });
    expect(since(n)).toEqual([]);

    const late = mint('late');
    secrets.push(late);
    writeFileSync(lateFile, late);
    expect((await call('GET', '/late/v1/things/d')).status).toBe(200);
    expect(since(n).map((s) => s.headers.authorization)).toEqual([`Bearer ${late}`]);

    writeFileSync(lateFile, '\n');
    const empty = await call('GET', '/late/v1/things/d');
    expect(empty.status).toBe(503);
    expect(String(empty.json!.message)).toContain('is empty');
    expect(since(n)).toHaveLength(1);
    rmSync(lateFile);
  });

  it('no secret appears in any response, app log line, decision record, /-/metrics or `writegate explain` output', async () => {
    const allowed = await call('PUT', '/things/v1/things/e', { body: '{"colour":"blue"}' });
    expect(allowed.status).toBe(200);
    expect((await call('DELETE', '/things/v1/things/prod-1')).status).toBe(403);
    expect((await call('PUT', '/things/v1/things/e', { body: '{"colour":' })).status).toBe(400);
    expect((await call('DELETE', '/things/v1/things/a%2Fb')).status).toBe(400);
    expect((await call('GET', '/down/v1/things/f')).status).toBe(503);
    expect((await call('PUT', '/down/v1/things/f', { body: '{"colour":"blue"}' })).status).toBe(503);
    const echoed = await call('GET', '/things/v1/echo');
    expect(echoed.status).toBe(401);
    // The upstream did get the secret and did echo it; the caller gets the answer with the secret masked.
    expect(seen.at(-1)!.headers.authorization).toBe(`Bearer ${secret}`);
    expect(echoed.text).toContain('"authorization":"Bearer ********');
    expect(echoed.headers['www-authenticate']).toContain('got="Bearer ********');

    // An exec (a WebSocket upgrade) the upstream answers with a refusal that echoes the request, not a 101.
    const url = new URL(gateway.url);
    const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca });
    socket.write([
      'GET /kube/api/v1/namespaces/default/pods/web/exec?command=sh&stdout=true HTTP/1.1', `host: ${url.host}`,
      'connection: Upgrade', 'upgrade: websocket', 'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-protocol: v5.channel.k8s.io', 'authorization: Bearer caller-own-token', '', '',
    ].join('\r\n'));
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    const exec = Buffer.concat(chunks).toString('latin1');
    answers.push(exec);
    expect(exec.startsWith('HTTP/1.1 403 ')).toBe(true);
    expect(seen.at(-1)!.headers.authorization).toBe(`Bearer ${secret}`);
    expect(exec).toContain('x-echo: Bearer ********');
    expect(exec).toContain('"message":"refused Bearer ********');

    const metrics = await call('GET', '/-/metrics');
    expect(metrics.status).toBe(200);

    const input = join(dir, 'input.json');
    writeFileSync(input, JSON.stringify(decision(allowed.headers['x-decision-id']).input));
    const configFile = join(dir, 'writegate.yaml');
    writeFileSync(configFile, stringify(raw));
    const explained = await run(process.execPath, [join(projectRoot(), 'dist', 'cli', 'index.js'), 'explain', '-c', configFile, '-u', 'things', '-i', input, '--json'], { timeout: 60_000 });
    expect(JSON.parse(explained.stdout)).toMatchObject({ allowed: true });

    const outputs = {
      responses: answers.join('\n'),
      appLog: readFileSync(appLog, 'utf8'),
      decisionLog: readFileSync(decisionLog, 'utf8'),
      metrics: metrics.text,
      explain: explained.stdout + explained.stderr,
    };
    // The logs are not empty: a grep of nothing would prove nothing.
    expect(outputs.appLog).toContain('"level"');
    expect(outputs.decisionLog).toContain('WG_ERR_UPSTREAM_CONNECT');
    expect(outputs.decisionLog).toContain('WG_ERR_CREDENTIAL_UNAVAILABLE');
    for (const s of secrets) {
      for (const [where, text] of Object.entries(outputs)) expect(text.includes(s), `${where} contains a held secret`).toBe(false);
    }
  });
});
