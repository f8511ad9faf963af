import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bearerProtocol, converse as converseRaw, decisionIdOf, rawRequest, statusOf, WS_UPGRADE } from '../helpers/raw-http.js';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

/**
 * Regression tests for issue 8, F1/F2/F6/F7: the request the policy judges, the identity it is told and the
 * request the upstream executes must be the same. Each attack is sent as raw bytes (no client-side URL or header
 * normalisation) through the gateway in front of the Kubernetes simulator.
 */

const head = (method: string, target: string, lines = '', body = '', auth: string | false = TOKENS.admin): string => rawRequest(method, target, auth, lines, body);
const converse = (s: Stack, first: string, next?: string): Promise<string> => converseRaw(s.gateway.url, readFileSync(s.certs.caCert), first, next);

const PRIVILEGED_POD = JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root-shell', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged: true } }] },
});

describe('F1: the forwarded request target is byte for byte the classified one', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('refuses "#" in the path: a pod delete in "production#" would reach the apiserver as a delete of the namespace', async () => {
    s.sim.clearRequests();
    const text = await converse(s, head('DELETE', '/k8s/api/v1/namespaces/production#/pods/x', 'connection: close\r\n'));
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_PATH');
    expect(s.sim.requests).toHaveLength(0);
    expect((await s.call('GET', '/api/v1/namespaces/production')).status).toBe(200);
  });

  it('refuses "#" that would turn a judged exec into a pod create upstream', async () => {
    s.sim.clearRequests();
    const text = await converse(s, head('POST', '/k8s/api/v1/namespaces/default/pods#/x/exec', 'content-type: application/json\r\nconnection: close\r\n', PRIVILEGED_POD));
    expect(statusOf(text)).toBe(400);
    expect(s.sim.requests).toHaveLength(0);
    expect((await s.call('GET', '/api/v1/namespaces/default/pods/root-shell')).status).toBe(404);
  });

  it.each([
    ['a fragment in the query', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x?dryRun=All#'],
    ['";" in the path', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x;y'],
    ['";" in the query (Go drops the pair)', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x?dryRun=All;x=1'],
    ['"\'" in the query (WHATWG URL encodes it)', 'DELETE', "/k8s/api/v1/namespaces/default/configmaps/x?a='"],
    ['a double quote in the path', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x"'],
    ['"<" in the path', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x<'],
    ['"{" in the path', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x{'],
    ['a backtick in the path', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x`'],
    ['"|" in the path', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x|'],
    ['a malformed escape in the query', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x?dryRun=%zz'],
    ['an empty query', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x?'],
    ['an encoded dot segment', 'DELETE', '/k8s/api/v1/namespaces/default/configmaps/x/%2e%2e/y'],
  ])('refuses %s', async (_why, method, target) => {
    s.sim.clearRequests();
    const text = await converse(s, head(method, target, 'connection: close\r\n'));
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_PATH');
    expect(s.sim.requests).toHaveLength(0);
  });

  it('answers an absolute-form request target without reaching the upstream', async () => {
    s.sim.clearRequests();
    const url = new URL(s.gateway.url);
    const text = await converse(s, head('DELETE', `https://${url.host}/k8s/api/v1/namespaces/production`, 'connection: close\r\n'));
    expect(statusOf(text)).toBeGreaterThanOrEqual(400);
    expect(s.sim.requests).toHaveLength(0);
  });

  it('forwards an ordinary write with its target unchanged', async () => {
    s.sim.clearRequests();
    const target = '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict';
    const res = await s.call('POST', target, { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f1-plain' } }) });
    expect(res.status).toBe(201);
    expect(s.sim.requests.filter((r) => r.method === 'POST' && r.url.includes('/configmaps') && !r.url.includes('dryRun')).map((r) => r.url)).toEqual([target]);
  });
});

describe('F2: an upgrade is piped only after 101 Switching Protocols', () => {
  let s: Stack;
  const jewels = '/k8s/api/v1/namespaces/default/configmaps/crown-jewels';
  beforeAll(async () => {
    s = await startStack({ engine: 'opa' });
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'crown-jewels' }, data: { k: 'v' } }) });
    expect(res.status).toBe(201);
  });
  afterAll(async () => { await s?.close(); });

  const jewelsExist = async (): Promise<boolean> => (await s.call('GET', '/api/v1/namespaces/default/configmaps/crown-jewels')).status === 200;
  const deletes = (): number => s.sim.requests.filter((r) => r.method === 'DELETE').length;

  it('refuses an upgrade on a non-connect path (GET /version), and the request pipelined behind it never reaches the upstream', async () => {
    s.sim.clearRequests();
    const text = await converse(s, head('GET', '/k8s/version', WS_UPGRADE) + head('DELETE', jewels), head('DELETE', jewels));
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_REQUEST');
    expect(s.sim.requests).toHaveLength(0);
    expect(await jewelsExist()).toBe(true);
    const event = s.decisions().find((e) => e.decision_id === decisionIdOf(text))!;
    expect(event.outcome).toBe('error');
  });

  it('refuses an upgrade on a read path (a watch)', async () => {
    s.sim.clearRequests();
    const text = await converse(s, head('GET', '/k8s/api/v1/namespaces/default/configmaps?watch=1', WS_UPGRADE));
    expect(statusOf(text)).toBe(400);
    expect(s.sim.requests).toHaveLength(0);
  });

  it('refuses an upgrade on a write method: its body would reach the upstream unjudged', async () => {
    s.sim.clearRequests();
    const text = await converse(s, head('POST', '/k8s/api/v1/namespaces/default/pods', `${WS_UPGRADE}content-type: application/json\r\n`, PRIVILEGED_POD));
    expect(statusOf(text)).toBe(400);
    expect(s.sim.requests).toHaveLength(0);
    expect((await s.call('GET', '/api/v1/namespaces/default/pods/root-shell')).status).toBe(404);
  });

  it('relays an exec the upstream does not upgrade, then closes: neither pipelined nor later bytes reach the upstream', async () => {
    s.sim.clearRequests();
    const exec = head('GET', '/k8s/api/v1/namespaces/default/pods/no-such-pod/exec?command=ls&stdout=1', WS_UPGRADE);
    const text = await converse(s, exec + head('DELETE', jewels), head('DELETE', jewels));
    expect(statusOf(text)).toBe(404);
    expect(text).toMatch(/^connection: close$/im);
    expect(text).toContain('"kind":"Status"');
    // The upstream saw the exec and nothing after it.
    expect(s.sim.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toEqual(['GET /api/v1/namespaces/default/pods/no-such-pod/exec']);
    expect(deletes()).toBe(0);
    expect(await jewelsExist()).toBe(true);
    const id = decisionIdOf(text)!;
    expect(s.decisions().find((e) => e.decision_id === id)?.outcome).toBe('allowed');
    expect(s.events().find((e) => e.type === 'writegate/upstream' && e.decision_id === id)?.upstream_status).toBe(404);
  });

  it('still switches protocols for an allowed exec the upstream accepts', async () => {
    const url = `${s.k8s.replace(/^https/, 'wss')}/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=1`;
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca: readFileSync(s.certs.caCert), headers: { authorization: `Bearer ${TOKENS.admin}` } });
    const frames: Buffer[] = [];
    let upgradeHeaders: Record<string, unknown> = {};
    ws.on('upgrade', (res) => { upgradeHeaders = res.headers; });
    ws.on('message', (data: Buffer) => frames.push(data));
    await new Promise<void>((resolve, reject) => { ws.on('close', () => resolve()); ws.on('error', reject); });
    expect(upgradeHeaders['x-decision-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(frames.some((f) => f[0] === 1 && f.subarray(1).toString() === 'exec: ls\n')).toBe(true);
  });
});

describe('F6: a WebSocket bearer token subprotocol is the identity the policy sees', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('identifies the caller of an exec authenticated only by the subprotocol token', async () => {
    const url = `${s.k8s.replace(/^https/, 'wss')}/api/v1/namespaces/default/pods/web-0/exec?command=id&stdout=1`;
    const ws = new WebSocket(url, [bearerProtocol(TOKENS.alice), 'v5.channel.k8s.io'], { ca: readFileSync(s.certs.caCert) });
    let id = '';
    ws.on('upgrade', (res) => { id = String(res.headers['x-decision-id']); });
    await new Promise<void>((resolve, reject) => { ws.on('close', () => resolve()); ws.on('error', reject); });
    const event = s.decisions().find((e) => e.decision_id === id)!;
    expect((event.input as any).request.userInfo.username).toBe('alice');
    expect(event.caller.username).toBe('alice');
    // alice is not in the connect groups: the policy's warning names her, as the upstream authenticated her.
    expect(event.warnings.join(' ')).toContain('"alice"');
  });

  it.each([
    ['an Authorization header next to a token subprotocol', TOKENS.ops, `${bearerProtocol(TOKENS.alice)}, v5.channel.k8s.io`],
    ['two token subprotocols', false, `${bearerProtocol(TOKENS.alice)}, ${bearerProtocol(TOKENS.admin)}, v5.channel.k8s.io`],
    ['a token subprotocol alone', false, bearerProtocol(TOKENS.alice)],
    ['a token that is not base64url', false, 'base64url.bearer.authorization.k8s.io.a+b/, v5.channel.k8s.io'],
    ['an empty token', false, 'base64url.bearer.authorization.k8s.io., v5.channel.k8s.io'],
  ] as const)('refuses %s', async (_why, auth, protocols) => {
    s.sim.clearRequests();
    const text = await converse(s, head('GET', '/k8s/api/v1/namespaces/default/pods/web-0/exec?command=id&stdout=1', `${WS_UPGRADE}sec-websocket-protocol: ${protocols}\r\n`, '', auth));
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_REQUEST');
    expect(s.sim.requests).toHaveLength(0);
  });
});

describe('F7: Connection-listed headers are gone before anything reads the request', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('refuses Connection: impersonate-user (the policy saw the impersonated user, the upstream the caller)', async () => {
    s.sim.clearRequests();
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f7-intern' } });
    const text = await converse(s, head('POST', '/k8s/api/v1/namespaces/default/configmaps', 'content-type: application/json\r\nimpersonate-user: intern\r\nconnection: close, impersonate-user\r\n', body));
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_REQUEST');
    expect(s.sim.requests).toHaveLength(0);
  });

  it('refuses the same on an upgrade', async () => {
    s.sim.clearRequests();
    const text = await converse(s, head('GET', '/k8s/api/v1/namespaces/default/pods/web-0/exec?command=id&stdout=1', 'connection: Upgrade, Impersonate-User\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nimpersonate-user: intern\r\n'));
    expect(statusOf(text)).toBe(400);
    expect(s.sim.requests).toHaveLength(0);
  });

  it.each(['authorization', 'cookie', 'content-type', 'content-length', 'content-encoding', 'impersonate-group', 'impersonate-extra-scopes', 'sec-websocket-protocol', 'x-remote-user'])(
    'refuses a Connection header listing %s', async (name) => {
      s.sim.clearRequests();
      const text = await converse(s, head('GET', '/k8s/api/v1/namespaces/default/configmaps', `connection: close, ${name}\r\n`));
      expect(statusOf(text)).toBe(400);
      expect(text).toContain('WG_ERR_BAD_REQUEST');
      expect(text).toContain(name);
      expect(s.sim.requests).toHaveLength(0);
    },
  );

  it('still strips other Connection-listed headers and serves the request', async () => {
    s.sim.clearRequests();
    const text = await converse(s, head('GET', '/k8s/api/v1/namespaces/default/configmaps', 'x-trace-hop: 1\r\nconnection: close, x-trace-hop\r\n'));
    expect(statusOf(text)).toBe(200);
    expect(s.sim.requests.at(-1)!.headers['x-trace-hop']).toBeUndefined();
  });
});

describe('F7: with identity none, impersonation claims are not facts', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa', identity: 'none' }); });
  afterAll(async () => { await s?.close(); });

  it('leaves userInfo empty and shows the claim as impersonatedUser and in headers, never as the caller', async () => {
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'claimed' } }),
      headers: { 'impersonate-user': 'intern', 'impersonate-group': 'system:masters' },
    });
    const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])!;
    const input = event.input as any;
    expect(input.request.userInfo).toEqual({ username: '', groups: [], authenticatedBy: 'none' });
    expect(input.request.impersonatedUser).toEqual({ username: 'intern', uid: '', groups: ['system:masters'], extra: {} });
    expect(input.headers['impersonate-user']).toBe('intern');
    expect(input.headers['impersonate-group']).toBe('system:masters');
  });
});
