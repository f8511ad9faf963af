import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converse as converseRaw, statusOf } from '../helpers/raw-http.js';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

/**
 * Adversarial review (after issue 7 and 8): HTTP-level attempts to make the upstream execute a request other than
 * the one the policy judged — framing disagreements between Node's parser and the forwarder, pipelining, HTTP/1.0,
 * trailers, Connection-listed identity headers. Each is sent as raw bytes through the gateway in front of the
 * Kubernetes simulator, and the simulator's own request record is the proof of what reached the upstream.
 */

const auth = `authorization: Bearer ${TOKENS.admin}\r\n`;
const jewels = '/api/v1/namespaces/default/configmaps/crown-jewels';
const configMap = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });

describe('attack review: framing and connection reuse', () => {
  let s: Stack;
  const talk = (first: string, next?: string): Promise<string> => converseRaw(s.gateway.url, readFileSync(s.certs.caCert), first, next);
  const deletesReached = (): string[] => s.sim.requests.filter((r) => r.method === 'DELETE').map((r) => r.url);
  const jewelsExist = async (): Promise<boolean> => (await s.call('GET', jewels)).status === 200;
  const productionExists = async (): Promise<boolean> => (await s.call('GET', '/api/v1/namespaces/production')).status === 200;

  beforeAll(async () => {
    s = await startStack({ engine: 'opa' });
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'crown-jewels' }, data: { k: 'v' } }) });
    expect(res.status).toBe(201);
  });
  afterAll(async () => { await s?.close(); });

  it('Transfer-Encoding and Content-Length together are refused before anything is judged (no smuggled DELETE)', async () => {
    s.sim.clearRequests();
    const smuggled = `DELETE /k8s${jewels} HTTP/1.1\r\nhost: g\r\n${auth}\r\n`;
    const body = `0\r\n\r\n${smuggled}`;
    const text = await talk(`POST /k8s/api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: g\r\n${auth}content-type: application/json\r\ntransfer-encoding: chunked\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    expect(statusOf(text)).toBe(400);
    expect(deletesReached()).toEqual([]);
    expect(await jewelsExist()).toBe(true);
  });

  it('two different Content-Length headers are refused', async () => {
    s.sim.clearRequests();
    const cm = configMap('cl-dup');
    const text = await talk(`POST /k8s/api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: g\r\n${auth}content-type: application/json\r\ncontent-length: ${cm.length}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n${cm}`);
    expect(statusOf(text)).toBe(400);
    expect(s.sim.requests).toEqual([]);
  });

  it('a chunked Transfer-Encoding that is not last ("chunked, identity") is refused', async () => {
    s.sim.clearRequests();
    const text = await talk(`POST /k8s/api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: g\r\n${auth}content-type: application/json\r\ntransfer-encoding: chunked, identity\r\nconnection: close\r\n\r\n0\r\n\r\n`);
    expect(statusOf(text)).toBe(400);
    expect(s.sim.requests).toEqual([]);
  });

  it('bare LF line endings do not let a second request hide in the first one\'s headers', async () => {
    s.sim.clearRequests();
    const text = await talk(`GET /k8s/version HTTP/1.1\nhost: g\n${auth.replace('\r\n', '\n')}x: y\n\nDELETE /k8s${jewels} HTTP/1.1\r\nhost: g\r\n${auth}connection: close\r\n\r\n`);
    expect(statusOf(text)).toBe(400);
    expect(deletesReached()).toEqual([]);
    expect(await jewelsExist()).toBe(true);
  });

  it('an obs-fold continuation cannot extend an Impersonate-User header', async () => {
    s.sim.clearRequests();
    const text = await talk(`DELETE /k8s/api/v1/namespaces/production HTTP/1.1\r\nhost: g\r\n${auth}impersonate-user: alice\r\n admin\r\nconnection: close\r\n\r\n`);
    expect(statusOf(text)).toBe(400);
    expect(deletesReached()).toEqual([]);
    expect(await productionExists()).toBe(true);
  });

  it('chunk extensions are read by Node; the body forwarded is exactly the de-chunked body that was judged', async () => {
    s.sim.clearRequests();
    const cm = configMap('chunk-ext');
    const text = await talk(`POST /k8s/api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: g\r\n${auth}content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n${cm.length.toString(16)};ext="a b"\r\n${cm}\r\n0\r\n\r\n`);
    expect(statusOf(text)).toBe(201);
    const real = s.sim.requests.filter((r) => r.method === 'POST' && !r.url.includes('dryRun'));
    expect(real.map((r) => r.body.toString())).toEqual([cm]);
    expect(real[0]!.headers['transfer-encoding']).toBeUndefined();
  });

  it('a chunked trailer carrying Impersonate-User is neither judged nor forwarded', async () => {
    s.sim.clearRequests();
    const cm = configMap('trailer-imp');
    const text = await talk(`POST /k8s/api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: g\r\n${auth}content-type: application/json\r\ntransfer-encoding: chunked\r\ntrailer: impersonate-user\r\nconnection: close\r\n\r\n${cm.length.toString(16)}\r\n${cm}\r\n0\r\nimpersonate-user: alice\r\n\r\n`);
    expect(statusOf(text)).toBe(201);
    for (const r of s.sim.requests) expect(r.headers['impersonate-user']).toBeUndefined();
    const event = s.decisions().find((e) => e.summary.includes('trailer-imp'))!;
    expect((event.input as { request: { userInfo: { username: string } } }).request.userInfo.username).toBe('admin');
  });

  it('a denied write pipelined behind an allowed one is judged on its own and never forwarded', async () => {
    s.sim.clearRequests();
    const cm = configMap('pipelined-ok');
    const first = `POST /k8s/api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: g\r\n${auth}content-type: application/json\r\ncontent-length: ${cm.length}\r\n\r\n${cm}`;
    const second = `DELETE /k8s/api/v1/namespaces/production HTTP/1.1\r\nhost: g\r\n${auth}connection: close\r\n\r\n`;
    const text = await talk(first + second);
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 201', 'HTTP/1.1 403']);
    expect(deletesReached()).toEqual([]);
    expect(await productionExists()).toBe(true);
  });

  it('HTTP/1.0 (no Host, connection closes) is judged like HTTP/1.1', async () => {
    s.sim.clearRequests();
    const text = await talk(`DELETE /k8s/api/v1/namespaces/production HTTP/1.0\r\n${auth}\r\n`);
    expect(text).toMatch(/^HTTP\/1\.[01] 403/);
    expect(deletesReached()).toEqual([]);
    expect(await productionExists()).toBe(true);
  });

  it('Expect: 100-continue on a denied write: the body is not forwarded, the write is denied', async () => {
    s.sim.clearRequests();
    const text = await talk(`DELETE /k8s/api/v1/namespaces/production HTTP/1.1\r\nhost: g\r\n${auth}content-type: application/json\r\nexpect: 100-continue\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`);
    expect(text).toContain('HTTP/1.1 403');
    expect(deletesReached()).toEqual([]);
  });

  it.each(['impersonate-extra-scopes', 'impersonate-uid', 'Impersonate-Group', 'x-remote-user', 'sec-websocket-protocol'])(
    'a Connection header listing %s is refused (the policy and the upstream would see different identities)',
    async (name) => {
      s.sim.clearRequests();
      const text = await talk(`DELETE /k8s${jewels} HTTP/1.1\r\nhost: g\r\n${auth}${name}: alice\r\nconnection: close, ${name}\r\n\r\n`);
      expect(statusOf(text)).toBe(400);
      expect(s.sim.requests).toEqual([]);
    },
  );

  it('the mount prefix in another case or percent-encoded does not reach the upstream', async () => {
    s.sim.clearRequests();
    for (const prefix of ['/K8S', '/k8%73', '/k8s%2f']) {
      const text = await talk(`DELETE ${prefix}/api/v1/namespaces/production HTTP/1.1\r\nhost: g\r\n${auth}connection: close\r\n\r\n`);
      expect(statusOf(text)).toBeGreaterThanOrEqual(400);
    }
    expect(deletesReached()).toEqual([]);
  });

  it('DELETE on the watch special-verb path is gated (not a read): it has a decision record', async () => {
    const text = await talk(`DELETE /k8s/api/v1/watch/namespaces/production/configmaps/crown-jewels HTTP/1.1\r\nhost: g\r\n${auth}connection: close\r\n\r\n`);
    expect(statusOf(text)).toBe(403);
    expect(s.decisions().some((e) => e.url === '/api/v1/watch/namespaces/production/configmaps/crown-jewels' && e.outcome === 'denied')).toBe(true);
  });
});

describe('attack review: bodies that cost the gateway more than they cost the sender', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  const stillServes = async (): Promise<void> => {
    expect((await s.call('GET', '/api/v1/namespaces/default/configmaps')).status).toBe(200);
  };

  it('regression: a YAML body whose aliases expand to millions of values is refused without expanding them', async () => {
    // 900 aliases (under go-yaml's and the decoder's alias caps) of a 5,000-element list: 4.5 million values from 15 KB.
    const lines = [`a0: &a0 [${Array.from({ length: 5000 }, () => 'x').join(',')}]`, `data: [${Array.from({ length: 900 }, () => '*a0').join(',')}]`];
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: lines.join('\n'), headers: { 'content-type': 'application/yaml' }, token: '' });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/aliases/);
    await stillServes();
  });

  it('OF-6: a YAML body nested a million deep is refused before the YAML parser builds it, and the gateway keeps serving', async () => {
    const body = `a: ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body, headers: { 'content-type': 'application/yaml' }, token: '' });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/flow collections.*send it as JSON/);
    await stillServes();
  });

  it.each([
    ['JSON arrays nested a million deep (an eviction body is decoded by the gateway)', 'application/json', '/api/v1/namespaces/default/pods/p/eviction', `{"a":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`],
    ['JSON objects nested 300000 deep (an eviction body)', 'application/json', '/api/v1/namespaces/default/pods/p/eviction', `${'{"a":'.repeat(300_000)}1${'}'.repeat(300_000)}`],
    ['YAML flow sequences nested 200000 deep', 'application/yaml', '/api/v1/namespaces/default/configmaps', `a: ${'['.repeat(200_000)}${']'.repeat(200_000)}`],
    ['YAML block mappings nested 2000 deep', 'application/yaml', '/api/v1/namespaces/default/configmaps', Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1'],
  ])('%s is refused with a 4xx and the gateway keeps serving', async (_what, contentType, path, body) => {
    const res = await s.call('POST', path, { body, headers: { 'content-type': contentType } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status, res.text.slice(0, 300)).toBeLessThan(500);
    await stillServes();
  });

  it('a YAML alias bomb ("billion laughs") is refused without expanding it', async () => {
    const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(',')}]`);
    lines.push('apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: laughs}');
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: lines.join('\n'), headers: { 'content-type': 'application/yaml' } });
    expect(res.status).toBe(400);
    await stillServes();
  });
});
