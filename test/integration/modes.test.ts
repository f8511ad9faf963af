import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

const badDeployment = JSON.stringify({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'latest-one', namespace: 'default', labels: { owner: 'x', 'app.kubernetes.io/name': 'x' } },
  spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx:latest' }] } } },
});

function exec(s: Stack, ns: string, pod: string, token: string): Promise<{ status: number; output: string; decisionId?: string }> {
  const url = `${s.k8s.replace('https', 'wss')}/api/v1/namespaces/${ns}/pods/${pod}/exec?command=ls&command=%2F&stdout=true&stderr=true`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca: readFileSync(s.certs.caCert), headers: { authorization: `Bearer ${token}` } });
    let output = '';
    let decisionId: string | undefined;
    ws.on('upgrade', (res) => { decisionId = res.headers['x-decision-id'] as string; });
    ws.on('message', (data: Buffer) => { if (data[0] === 1) output += data.subarray(1).toString('utf8'); });
    ws.on('close', () => resolve({ status: 101, output, ...(decisionId ? { decisionId } : {}) }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, output: body, decisionId: res.headers['x-decision-id'] as string }));
    });
    ws.on('error', reject);
  });
}

describe('enforce mode: websocket exec is gated before the upgrade', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('denies exec into a protected namespace with a 403 Status and no upstream request', async () => {
    s.sim.clearRequests();
    const res = await exec(s, 'production', 'api-0', TOKENS.ops);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.output)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(res.output).toContain('protected-namespace-connect');
    expect(s.sim.requests.filter((r) => r.url.includes('/exec'))).toHaveLength(0);
    const event = s.decisions().find((e) => e.decision_id === res.decisionId);
    expect(event?.operation).toBe('CONNECT');
    expect((event?.input as any).request.object).toMatchObject({ kind: 'PodExecOptions', command: ['ls', '/'] });
  });

  it('allows exec elsewhere and pipes the stream both ways', async () => {
    const res = await exec(s, 'default', 'web-0', TOKENS.ops);
    expect(res.status).toBe(101);
    expect(res.output).toContain('ls /');
    expect(res.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    const done = s.events().find((e) => e.type === 'writegate/upstream' && e.decision_id === res.decisionId);
    expect(done?.upstream_status).toBe(101);
  });

  it('refuses a body over the configured limit with 413 before reading it all', async () => {
    const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'default' }, data: { a: 'x'.repeat(4 * 1024 * 1024) } });
    s.sim.clearRequests();
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: big });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ kind: 'Status', code: 413 });
    expect(s.sim.requests).toHaveLength(0);
    expect(s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])?.error?.code).toBe('WG_ERR_BODY_TOO_LARGE');
  });

  it('answers 503 for writes and keeps serving reads when OPA stops', async () => {
    await s.opa.stop();
    const write = await s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: badDeployment.replace('nginx:latest', 'nginx:1') });
    expect(write.status).toBe(503);
    expect(write.json).toMatchObject({ kind: 'Status', code: 503 });
    expect(write.json.message).toContain('policy engine unavailable');
    const event = s.decisions().find((e) => e.decision_id === write.headers['x-decision-id']);
    expect(event?.outcome).toBe('error');
    expect(event?.error?.code).toBe('WG_ERR_OPA_UNAVAILABLE');
    const read = await s.call('GET', '/api/v1/namespaces/default/pods');
    expect(read.status).toBe(200);
  });
});

describe('dryrun mode', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ mode: 'dryrun' }); });
  afterAll(async () => { await s?.close(); });

  it('forwards a denied write and logs "would deny"', async () => {
    const res = await s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: badDeployment });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBeUndefined();
    const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id']);
    expect(event?.outcome).toBe('dryrun_denied');
    expect(event?.reasons.join(' ')).toContain('no-latest-tag');
  });
});

describe('warn mode', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ mode: 'warn' }); });
  afterAll(async () => { await s?.close(); });

  it('forwards a denied write and surfaces the violations as Warning headers', async () => {
    const res = await s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: badDeployment });
    expect(res.status).toBe(201);
    const warnings = ([] as string[]).concat(res.headers.warning as string | string[]);
    expect(warnings.some((w) => /^299 - ".*no-latest-tag.*"$/.test(w))).toBe(true);
    expect(s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])?.outcome).toBe('warn_denied');
  });
});

describe('fail-open upstream', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ failOpen: true, engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('forwards writes when OPA is down and logs fail_open', async () => {
    await s.opa.stop();
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fo', namespace: 'default' } }) });
    expect(res.status).toBe(201);
    expect(s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])?.outcome).toBe('fail_open');
  });
});

describe('upstream down', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack(); await s.sim.close(); });
  afterAll(async () => { await s?.close(); });

  it('answers reads with a 503 Status and logs it', async () => {
    const res = await s.call('GET', '/api/v1/namespaces/default/pods');
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' });
    expect(s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])?.error?.code).toBe('WG_ERR_UPSTREAM_CONNECT');
  });

  it('answers writes with a 503 Status (the dry run cannot reach the upstream) and logs it', async () => {
    const res = await s.call('PATCH', '/api/v1/namespaces/default/configmaps/x', { body: '{}', headers: { 'content-type': 'application/merge-patch+json' } });
    expect(res.status).toBe(503);
    expect(res.json.kind).toBe('Status');
    expect(s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])?.outcome).toBe('error');
  });
});

describe('decision log cannot be written', () => {
  let s: Stack;
  // /dev/full fails every write with ENOSPC, like a full disk.
  beforeAll(async () => { s = await startStack({ logPath: '/dev/full' }); });
  afterAll(async () => { await s?.close(); });

  it('refuses writes with 503 (no write goes upstream without its record) and keeps serving reads', async () => {
    s.sim.clearRequests();
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unlogged', namespace: 'default' } }) });
    expect(res.status).toBe(503);
    expect(res.json.message).toContain('WG_ERR_DECISION_LOG');
    expect(s.sim.requests.filter((r) => r.method === 'POST' && r.url.includes('configmaps') && !r.url.includes('dryRun=All'))).toHaveLength(0);
    expect((await s.call('GET', '/api/v1/namespaces/default/configmaps')).status).toBe(200);
  });
});

describe('a policy path OPA has no value for', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ policy: 'writegate/nothing/here', engine: 'opa' }); });
  afterAll(async () => { await s?.close(); });

  it('denies writes with "no decision" and names the problem in the log', async () => {
    s.sim.clearRequests();
    const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } }) });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('no decision: the policy is undefined for this request');
    const event = s.decisions().find((e) => e.decision_id === res.headers['x-decision-id'])!;
    expect(event).toMatchObject({ outcome: 'denied', engine: 'opa', error: { code: 'WG_ERR_NO_DECISION' } });
    expect(s.opaDecisionIds.has(event.decision_id)).toBe(true);
    expect(s.sim.requests.filter((r) => r.method === 'POST' && r.url.includes('configmaps') && !r.url.includes('dryRun=All'))).toHaveLength(0);
  });
});
