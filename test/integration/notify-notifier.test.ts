/**
 * The notifier alone (src/notify/), against the test's own receiver on 127.0.0.1: configuration errors, the events
 * the gateway does not send itself (audit, drift, residual mismatch), deduplication, the bounded queue, the rate
 * limit, answers not worth a retry, and a shutdown that does not wait for a target that does not answer.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import { isWritegateError } from '../../src/errors.js';
import { Metrics } from '../../src/metrics.js';
import { notifierFromConfig, type AuditEvent, type DeniedEvent, type DriftEvent, type MismatchEvent, type Notifier } from '../../src/notify/index.js';
import { until } from '../helpers/wait.js';
import { REPOSITORY, startReceiver, type Receiver } from './notify-receiver.js';

const TOKEN = 'ghp_notifierTestToken0123456789';
const UPSTREAM = { name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' } as const;

function config(notify: RawConfig['notify']): ReturnType<typeof parseConfig> {
  return parseConfig({ upstreams: [UPSTREAM], notify } satisfies RawConfig);
}

/** The configuration error's issues, as `key: why`. */
function problems(notify: unknown): string[] {
  try {
    parseConfig({ upstreams: [UPSTREAM], notify });
  } catch (err) {
    if (isWritegateError(err) && err.code === 'WG_ERR_CONFIG_INVALID') return (err.details.issues as Array<{ key: string; why: string }>).map((i) => `${i.key}: ${i.why}`);
    throw err;
  }
  return [];
}

const denied = (id: string, reasons = ['container "app" uses image "nginx:latest" [no-latest-tag]']): DeniedEvent => ({
  type: 'denied', decision_id: id, timestamp: '2026-12-02T10:00:00.000Z', upstream: 'k8s', caller: { username: 'alice', remote_addr: '127.0.0.1' },
  method: 'POST', url: '/apis/apps/v1/namespaces/default/deployments', operation: 'CREATE', summary: 'create deployments.apps default/web',
  reasons, input: { request: { name: 'web' } },
});

let receiver: Receiver | undefined;
let notifier: Notifier | undefined;
afterEach(async () => {
  await notifier?.close();
  await receiver?.close();
  notifier = undefined;
  receiver = undefined;
});

async function start(notify: (r: Receiver, tokenFile: string) => RawConfig['notify']): Promise<{ r: Receiver; n: Notifier; metrics: Metrics }> {
  const r = await startReceiver();
  receiver = r;
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'notifier-')), 'token');
  writeFileSync(tokenFile, TOKEN);
  const metrics = new Metrics();
  const n = notifierFromConfig(config(notify(r, tokenFile)), { metrics })!;
  notifier = n;
  return { r, n, metrics };
}

async function count(metrics: Metrics, name: 'notifyDeliveries' | 'notifyDropped', labels: Record<string, string>): Promise<number> {
  const { values } = await metrics[name].get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))?.value ?? 0;
}

describe('notify: configuration', () => {
  it('refuses a notify block without a target, a link without {decision_id}, a repository that is not owner/name, a non-http URL', () => {
    expect(problems({})).toEqual(['notify: name a target: slack, issues or both']);
    expect(problems({ slack: { url: 'http://127.0.0.1:1/hook' }, linkTemplate: 'https://logs.example/' })).toEqual(['notify.linkTemplate: an http(s) URL containing {decision_id}']);
    expect(problems({ issues: { url: 'https://api.github.example', repository: 'acme', tokenFile: '/t' } })).toEqual(['notify.issues.repository: owner/name']);
    expect(problems({ slack: { url: 'file:///etc/passwd' } })).toHaveLength(1);
    expect(problems({ slack: { url: 'file:///etc/passwd' } })[0]).toMatch(/^notify\.slack\.url: /);
    expect(problems({ slack: { url: 'http://127.0.0.1:1/hook' }, dedupWindow: 5 })[0]).toMatch(/^notify: .*dedupWindow/);
  });

  it('fills in the defaults: dryrunDenied off, the other events on; no notifier without notify:', () => {
    const c = config({ slack: { url: 'http://127.0.0.1:1/hook' } });
    expect(c.notify!.events).toEqual({ denied: true, dryrunDenied: false, drift: true, audit: true, residualMismatch: true });
    expect(notifierFromConfig(parseConfig({ upstreams: [UPSTREAM] }))).toBeUndefined();
  });
});

describe('the notifier', () => {
  it('sends an audit run with its violations and decision ids, drift and a residual mismatch, each with its label', async () => {
    const { r, n } = await start((x, tokenFile) => ({ slack: { url: x.slackUrl }, issues: { url: x.apiUrl, repository: REPOSITORY, tokenFile }, linkTemplate: 'https://logs.example/{decision_id}' }));
    const audit: AuditEvent = {
      type: 'audit', timestamp: '2026-12-02T10:00:00.000Z', revision: 'abc123',
      violations: [
        { source: 'kubernetes', resource: 'default/pods/web-0', rule: 'privileged', message: 'privileged container', decision_id: 'd-1' },
        { source: 'cloudflare', resource: 'zone/example.com/dns/www', rule: 'ttl-too-low', message: 'TTL 30 < 60', decision_id: 'd-2' },
      ],
      failedSources: [{ source: 'netbox', error: 'connection refused' }],
      report: '/var/reports/report.html',
    };
    expect(await n.deliver(audit)).toEqual([{ target: 'slack', ok: true }, { target: 'issues', ok: true }]);
    expect(r.slack[0]!.body.blocks[0].text.text).toBe('writegate audit: 2 violations, 1 source(s) failed');
    expect(r.slack[0]!.body.text).toContain('kubernetes default/pods/web-0: privileged: privileged container (decision d-1)');
    expect(r.slack[0]!.body.text).toContain('cloudflare zone/example.com/dns/www: ttl-too-low: TTL 30 < 60 (decision d-2)');
    expect(r.issues[0]!.body.labels).toEqual(['writegate', 'audit']);
    expect(r.issues[0]!.body.body).toContain('- **Failed: netbox:** connection refused');
    expect(r.issues[0]!.body.body).toContain('- **Report:** /var/reports/report.html');

    const drift: DriftEvent = {
      type: 'drift', timestamp: '2026-12-02T10:00:00.000Z', opa: 'http://opa:8181', source: '/srv/policies', ref: 'main', revision: '0123456789abcdef',
      missing: ['kubernetes/images.rego'], extra: ['rogue.rego'], changed: [],
    };
    expect(await n.deliver(drift)).toEqual([{ target: 'slack', ok: true }, { target: 'issues', ok: true }]);
    expect(r.slack[1]!.body.text).toBe([
      'writegate: OPA at http://opa:8181 has drifted from /srv/policies', '• missing in OPA: kubernetes/images.rego', '• in OPA, not in Git: rogue.rego',
    ].join('\n'));
    expect(r.issues[1]!.body.labels).toEqual(['writegate', 'drift']);

    const mismatch: MismatchEvent = {
      type: 'residual_mismatch', decision_id: 'd-3', timestamp: '2026-12-02T10:00:00.000Z', upstream: 'k8s', path: 'writegate/kubernetes/decision', revision: 'r1', reasons: ['deny: x'],
    };
    await n.deliver(mismatch);
    expect(r.slack[2]!.body.blocks.at(-1).text.text).toBe('<https://logs.example/d-3|Decision d-3>');
    expect(r.issues[2]!.body.labels).toEqual(['writegate', 'residual_mismatch']);
  });

  it('deduplicates by upstream, operation, resource and reasons, not by decision id; an event turned off is not sent', async () => {
    const { r, n, metrics } = await start((x) => ({ slack: { url: x.slackUrl }, events: { drift: false } }));
    n.notify(denied('id-1'));
    n.notify(denied('id-2'));
    n.notify(denied('id-3', ['another reason']));
    expect(await n.deliver({ type: 'drift', timestamp: '', opa: 'o', source: 's', ref: 'r', revision: 'v', missing: ['a'], extra: [], changed: [] })).toEqual([]);
    await until(() => r.slack.length === 2, { what: 'two messages' });
    await n.close();
    expect(r.slack.map((m) => /decision (\S+)/.exec(m.body.text)![1])).toEqual(['id-1', 'id-3']);
    expect(await count(metrics, 'notifyDropped', { reason: 'duplicate' })).toBe(1);
  });

  it('a full queue drops and counts; close() does not wait past drainMs for a target that does not answer', async () => {
    const { r, n, metrics } = await start((x) => ({ slack: { url: x.slackUrl }, queue: 2, drainMs: 50, dedupWindowMs: 0 }));
    r.hold();
    const sent = [1, 2, 3, 4, 5].map((i) => n.deliver(denied(`id-${i}`)));
    // The first is being delivered (held), two wait, two find the queue full.
    expect((await Promise.all(sent.slice(3))).flat()).toEqual([{ target: 'slack', ok: false, error: 'queue full' }, { target: 'slack', ok: false, error: 'queue full' }]);
    expect(await count(metrics, 'notifyDropped', { reason: 'queue_full' })).toBe(2);
    await until(() => r.held === 1, { what: 'the first delivery held' });
    await n.close();
    expect((await Promise.all(sent.slice(0, 3))).flat()).toEqual(Array(3).fill({ target: 'slack', ok: false, error: 'dropped at shutdown' }));
    expect(await count(metrics, 'notifyDropped', { reason: 'closed' })).toBe(3);
    expect(await n.deliver(denied('late'))).toEqual([]);
  });

  it('the rate limit holds a message back until a token is free', async () => {
    const { r, n, metrics } = await start((x) => ({ slack: { url: x.slackUrl }, rateLimit: { perMinute: 1, burst: 1 }, drainMs: 0 }));
    const first = n.deliver(denied('id-1'));
    n.notify(denied('id-2', ['another reason']));
    expect(await first).toEqual([{ target: 'slack', ok: true }]);
    // One message a minute: the second waits for its token (not sent within this test), and is dropped on close.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.slack).toHaveLength(1);
    await n.close();
    expect(r.slack).toHaveLength(1);
    expect(await count(metrics, 'notifyDropped', { reason: 'closed' })).toBe(1);
  });

  it('an answer not worth a retry (400) is given up at once; 429 and 5xx are retried', async () => {
    const { r, n, metrics } = await start((x) => ({ slack: { url: x.slackUrl }, retries: { attempts: 4, backoffMs: 10, maxBackoffMs: 20 } }));
    r.failNext('slack', [400]);
    expect(await n.deliver(denied('id-1'))).toEqual([{ target: 'slack', ok: false, error: 'slack: answered 400' }]);
    expect(r.slack).toHaveLength(1);
    r.failNext('slack', [429, 502]);
    expect(await n.deliver(denied('id-2', ['other']))).toEqual([{ target: 'slack', ok: true }]);
    expect(r.slack).toHaveLength(4);
    expect(await count(metrics, 'notifyDeliveries', { target: 'slack', result: 'retry' })).toBe(2);
    expect(await count(metrics, 'notifyDeliveries', { target: 'slack', result: 'failed' })).toBe(1);
    expect(await count(metrics, 'notifyDeliveries', { target: 'slack', result: 'ok' })).toBe(1);
  });
});
