/**
 * Notifications (notify:, src/notify/) from the gateway to a receiver of the test's own: a Slack-compatible webhook
 * and a GitHub-compatible issues API. Each test has its own stack and receiver; the stack's close() drains the
 * notifier, so what the receiver holds afterwards is everything that was sent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { MASK } from '../../src/upstreams/kubernetes/mask.js';
import { startStack, TOKENS, type Stack, type StackOptions } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { REPOSITORY, SLACK_PATH, startReceiver, type Receiver } from './notify-receiver.js';

const run = promisify(execFile);
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const TOKEN = 'ghp_notifyTestToken0123456789abcdefXYZ';
const LINK = 'https://logs.example/decisions?id={decision_id}';

const deployment = (name: string, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { owner: 'team-a', 'app.kubernetes.io/name': name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
  },
});

/** kubectl 1.32 against the stack's Kubernetes mount as alice (as test/e2e/kubectl.test.ts runs it). */
function kubectl(s: Stack, dir: string): (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }> {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: wg',
    'clusters:', '- name: wg', '  cluster:', `    server: ${s.k8s}`, `    certificate-authority: ${s.certs.caCert}`,
    'users:', '- name: u', '  user:', `    token: ${TOKENS.alice}`,
    'contexts:', '- name: wg', '  context: {cluster: wg, user: u, namespace: default}', '',
  ].join('\n'));
  return async (args) => {
    try {
      const { stdout, stderr } = await run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}

/** Slack's mrkdwn escaping of &, < and >. */
const escape = (text: string): string => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The value of one sample of /-/metrics (0 when absent). */
async function metric(s: Stack, name: string, labels: Record<string, string>): Promise<number> {
  const res = await request(`${s.gateway.url}/-/metrics`, { dispatcher: s.dispatcher });
  const text = await res.body.text();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(labels).length === Object.keys(got).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Setup {
  s: Stack;
  r: Receiver;
  dir: string;
  tokenFile: string;
  /** The gateway's app log lines (JSON). */
  appLog: string[];
  /** Closes the stack, which drains the notifier: afterwards the receiver holds everything that was sent. */
  drain(): Promise<void>;
}

let open: Setup | undefined;
afterEach(async () => {
  await open?.drain();
  await open?.r.close();
  open = undefined;
});

/** A receiver and a stack whose notify: targets it, with `overrides` of the notify: keys. */
async function setup(overrides?: (r: Receiver, tokenFile: string) => Record<string, unknown>, options: StackOptions = {}): Promise<Setup> {
  const r = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'notify-'));
  const tokenFile = join(dir, 'issues-token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const appLog: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => { appLog.push(line); } });
  const s = await startStack({
    ...options,
    logger,
    notify: { slack: { url: r.slackUrl }, issues: { url: r.apiUrl, repository: REPOSITORY, tokenFile }, linkTemplate: LINK, ...overrides?.(r, tokenFile) },
  });
  let closing: Promise<void> | undefined;
  open = { s, r, dir, tokenFile, appLog, drain: () => (closing ??= s.close()) };
  return open;
}

describe('notifications from the gateway', () => {
  it('a denied kubectl apply produces exactly one Slack message and one issue, with the reasons and the decision id', async () => {
    const x = await setup();
    const k = kubectl(x.s, x.dir);
    const file = join(x.dir, 'web.yaml');
    writeFileSync(file, JSON.stringify(deployment('web-latest', 'nginx:latest')));
    const bad = await k(['apply', '-f', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Error from server (Forbidden)');
    expect(bad.stderr).toContain('no-latest-tag');
    const denied = x.s.decisions().filter((e) => e.outcome === 'denied');
    expect(denied).toHaveLength(1);
    const d = denied[0]!;
    await until(() => x.r.slack.length === 1 && x.r.issues.length === 1, { what: 'one message and one issue' });
    await x.drain();
    expect(x.r.slack).toHaveLength(1);
    expect(x.r.issues).toHaveLength(1);
    expect(x.r.other).toEqual([]);

    const link = LINK.replace('{decision_id}', d.decision_id);
    const slack = x.r.slack[0]!.body;
    expect(x.r.slack[0]!.headers['content-type']).toBe('application/json');
    expect(slack.text).toContain('no-latest-tag');
    expect(slack.text).toContain(d.decision_id);
    expect(slack.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: `writegate denied ${d.summary} on k8s` } });
    const fields = Object.fromEntries((slack.blocks[1].fields as Array<{ text: string }>).map((f) => f.text.split('\n') as [string, string]));
    expect(fields['*Who*']).toBe(`alice from ${d.caller.remote_addr}`);
    expect(fields['*What*']).toBe(`${d.summary} (CREATE)`);
    expect(fields['*Upstream*']).toBe(escape(`k8s: POST ${d.url}`));
    expect(fields['*Decision id*']).toBe(d.decision_id);
    expect(d.reasons.length).toBeGreaterThan(0);
    expect(slack.blocks[2]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: d.reasons.map((x) => `• ${escape(x)}`).join('\n') } });
    expect(slack.blocks.at(-1)).toEqual({ type: 'section', text: { type: 'mrkdwn', text: `<${link}|Decision ${d.decision_id}>` } });

    const issue = x.r.issues[0]!;
    expect(issue.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(issue.headers['user-agent']).toMatch(/^writegate\/\d/);
    expect(issue.body.title).toBe(`writegate denied ${d.summary} on k8s`);
    expect(issue.body.labels).toEqual(['writegate', 'denied']);
    for (const reason of d.reasons) expect(issue.body.body).toContain(`- ${reason}`);
    expect(issue.body.body).toContain(`- **Decision id:** ${d.decision_id}`);
    expect(issue.body.body).toContain(`[Decision ${d.decision_id}](${link})`);
    // The input excerpt is the decision record's (masked) input.
    expect(issue.body.body).toContain(`### Input (secrets masked)\n\n\`\`\`json\n${JSON.stringify(d.input, null, 2).slice(0, 200)}`);

    // The token goes to the issues API and nowhere else.
    expect(x.appLog.join('')).not.toContain(TOKEN);
    expect(readFileSync(x.s.logPath, 'utf8')).not.toContain(TOKEN);
  });

  it('the issue shows the input as the decision log masks it: a denied delete of a Secret carries no secret value', async () => {
    const x = await setup();
    const k = kubectl(x.s, x.dir);
    const value = 'hunter2-notify-secret-value';
    const made = await k(['-n', 'production', 'create', 'secret', 'generic', 'db', `--from-literal=password=${value}`]);
    expect(made.code, made.stderr).toBe(0);
    const bad = await k(['-n', 'production', 'delete', 'secret', 'db']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('protected-namespace-delete');
    await until(() => x.r.issues.length === 1 && x.r.slack.length === 1, { what: 'the issue of the denied delete' });
    const body = x.r.issues[0]!.body.body as string;
    expect(body).toContain('"name": "db"');
    expect(body).toContain(`"password": "${MASK}"`);
    for (const leaked of [value, Buffer.from(value).toString('base64')]) {
      expect(body).not.toContain(leaked);
      expect(JSON.stringify(x.r.slack)).not.toContain(leaked);
    }
  });

  it('a burst of 100 identical denials produces one message and one issue; the other 99 are counted as duplicates', async () => {
    const x = await setup();
    const body = JSON.stringify(deployment('burst', 'nginx:latest'));
    const answers = await Promise.all(Array.from({ length: 100 }, () => x.s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body })));
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(403));
    const ids = new Set(answers.map((a) => a.headers['x-decision-id']));
    expect(ids.size).toBe(100);
    await until(() => x.r.slack.length === 1 && x.r.issues.length === 1, { what: 'one message and one issue' });
    expect(await metric(x.s, 'writegate_notify_dropped_total', { reason: 'duplicate' })).toBe(99);
    expect(await metric(x.s, 'writegate_notify_deliveries_total', { target: 'slack', result: 'ok' })).toBe(1);
    await x.drain();
    expect(x.r.slack).toHaveLength(1);
    expect(x.r.issues).toHaveLength(1);
    // The one message is of one of the 100 decisions.
    expect(ids.has(/decision ([0-9a-f-]{36})/.exec(x.r.slack[0]!.body.text)![1])).toBe(true);
  });

  it('a receiver that holds its connections does not hold requests: denials are answered while it has not answered', async () => {
    const x = await setup();
    x.r.hold();
    const first = await x.s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment('held-1', 'nginx:latest')) });
    expect(first.status).toBe(403);
    await until(() => x.r.held === 2, { what: 'the receiver holding both deliveries' });
    const second = await x.s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment('held-2', 'busybox')) });
    expect(second.status).toBe(403);
    // Answered while the first deliveries are still unanswered: the request did not wait for them.
    expect(x.r.held).toBe(2);
    expect(await metric(x.s, 'writegate_notify_deliveries_total', { target: 'slack', result: 'ok' })).toBe(0);
    x.r.release();
    await until(() => x.r.slack.length === 2 && x.r.issues.length === 2, { what: 'both denials delivered after the release' });
    await x.drain();
    expect(x.r.slack.map((m) => m.body.text.split('\n')[0])).toEqual([
      expect.stringContaining('held-1'), expect.stringContaining('held-2'),
    ]);
  });

  it('a receiver that is down: requests are answered at once, deliveries are retried with backoff, counted and logged without secrets', async () => {
    const port = await closedPort();
    const x = await setup((_r, tokenFile) => ({
      // The issues API is down (nothing listens on its port); the webhook answers 503 twice, then takes the message.
      issues: { url: `http://127.0.0.1:${port}/api`, repository: REPOSITORY, tokenFile },
      retries: { attempts: 3, backoffMs: 20, maxBackoffMs: 100 },
    }));
    x.r.failNext('slack', [503, 503]);
    const res = await x.s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment('down', 'nginx:latest')) });
    expect(res.status).toBe(403);
    await until(async () => await metric(x.s, 'writegate_notify_deliveries_total', { target: 'issues', result: 'failed' }) === 1
      && await metric(x.s, 'writegate_notify_deliveries_total', { target: 'slack', result: 'ok' }) === 1, { what: 'both targets settled' });
    expect(await metric(x.s, 'writegate_notify_deliveries_total', { target: 'issues', result: 'retry' })).toBe(2);
    expect(await metric(x.s, 'writegate_notify_deliveries_total', { target: 'slack', result: 'retry' })).toBe(2);
    expect(await metric(x.s, 'writegate_notify_deliveries_total', { target: 'issues', result: 'ok' })).toBe(0);
    await x.drain();
    // The same message, three times: two refused with 503, the third taken.
    expect(x.r.slack).toHaveLength(3);
    expect(new Set(x.r.slack.map((m) => JSON.stringify(m.body))).size).toBe(1);
    const log = x.appLog.map((l) => JSON.parse(l) as { msg: string; target?: string; error?: string });
    expect(log.filter((l) => l.msg === 'notification not delivered; will retry').map((l) => [l.target, l.error])).toEqual(expect.arrayContaining([
      ['slack', 'slack: answered 503'], ['issues', 'issues: not delivered (ECONNREFUSED)'],
    ]));
    expect(log.filter((l) => l.msg === 'notification not delivered; given up').map((l) => l.target)).toEqual(['issues']);
    for (const secret of [TOKEN, SLACK_PATH.split('/').at(-1)!]) {
      expect(x.appLog.join('')).not.toContain(secret);
      expect(readFileSync(x.s.logPath, 'utf8')).not.toContain(secret);
    }
  });

  it('the issues token is read at each delivery: a rotated token is used for the next issue', async () => {
    const x = await setup();
    const deny = (name: string) => x.s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment(name, 'nginx:latest')) });
    expect((await deny('before')).status).toBe(403);
    await until(() => x.r.issues.length === 1, { what: 'the first issue' });
    writeFileSync(x.tokenFile, 'ghp_rotatedToken9876543210\n');
    expect((await deny('after')).status).toBe(403);
    await until(() => x.r.issues.length === 2, { what: 'the second issue' });
    expect(x.r.issues.map((i) => i.headers.authorization)).toEqual([`Bearer ${TOKEN}`, 'Bearer ghp_rotatedToken9876543210']);
  });

  it('dryrun_denied is sent when notify.events.dryrunDenied is on, as a would-deny', async () => {
    const x = await setup(() => ({ events: { dryrunDenied: true } }), { mode: 'dryrun' });
    const res = await x.s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment('dry', 'nginx:latest')) });
    expect(res.status).toBe(201);
    await until(() => x.r.slack.length === 1 && x.r.issues.length === 1, { what: 'the would-deny message' });
    const d = x.s.decisions().find((e) => e.outcome === 'dryrun_denied')!;
    expect(x.r.slack[0]!.body.blocks[0].text.text).toBe(`writegate would deny (dry run) ${d.summary} on k8s`);
    expect(x.r.issues[0]!.body.labels).toEqual(['writegate', 'dryrun_denied']);
    expect(x.r.issues[0]!.body.body).toContain(d.decision_id);
  });

  it('a residual allow that OPA contradicts is sent as a residual mismatch, with the decision id and OPA\'s reasons', async () => {
    const x = await setup();
    const policy = 'writegate/kubernetes/decision';
    await until(() => x.s.gateway.app.residual?.residual(policy)?.text !== undefined, { what: 'the residual compiled' });
    // As test/integration/verification.test.ts: polling stopped, the residual stays at its revision while OPA changes.
    x.s.gateway.app.residual!.stop();
    const freeze = 'package writegate.kubernetes\n\ndeny contains {"msg": "configmaps named stale-* are frozen", "rule": "test-freeze"} if {\n'
      + '  input.request.kind.kind == "ConfigMap"\n  startswith(input.request.name, "stale-")\n}\n';
    const put = await request(`${x.s.opa.url}/v1/policies/test-freeze`, { method: 'PUT', body: freeze, headers: { 'content-type': 'text/plain' } });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    const res = await x.s.call('POST', '/api/v1/namespaces/default/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stale-1', namespace: 'default' }, data: { a: 'b' } }),
    });
    expect(res.status).toBe(201);
    const id = res.headers['x-decision-id'] as string;
    await x.s.gateway.app.verifier!.idle();
    await until(() => x.r.slack.length === 1 && x.r.issues.length === 1, { what: 'the mismatch notification' });
    const slack = x.r.slack[0]!.body;
    expect(slack.blocks[0].text.text).toBe('writegate: OPA contradicted a residual allow on k8s; residual off for this revision');
    expect(slack.text).toContain('• deny: configmaps named stale-* are frozen');
    expect(slack.text).toContain(`decision ${id}`);
    expect(x.r.issues[0]!.body.labels).toEqual(['writegate', 'residual_mismatch']);
    expect(x.r.issues[0]!.body.body).toContain(`- **Decision id:** ${id}`);
  });

  it('dryrun_denied is not sent by default', async () => {
    const x = await setup(undefined, { mode: 'dryrun' });
    const dry = await x.s.call('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(deployment('dry', 'nginx:latest')) });
    expect(dry.status).toBe(201);
    expect(x.s.decisions().filter((e) => e.outcome === 'dryrun_denied')).toHaveLength(1);
    await x.drain();
    expect(x.r.slack).toEqual([]);
    expect(x.r.issues).toEqual([]);
  });
});
