/**
 * `writegate policy drift` with the configuration's notify: targets: drift found in a real OPA against a real git
 * repository is sent through the notifier (the Slack-compatible message and an issue), beside `--notify URL`'s plain
 * text, and a target that fails makes the report's `notified` false.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { notifierFromConfig, type Notifier } from '../../src/notify/index.js';
import { OpaClient } from '../../src/opa/client.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { drift, type DriftOptions } from '../../src/policy/lifecycle.js';
import { REPOSITORY, SLACK_PATH, startReceiver, type Receiver } from './notify-receiver.js';

const GATE = 'package prod.gate\n\nallow if input.user == "alice"\n';

describe('policy drift through the notifier', () => {
  let opa: LocalOpa;
  let client: OpaClient;
  let r: Receiver;
  let work: string;
  let repo: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'notify-drift-'));
    repo = join(work, 'repo');
    mkdirSync(join(repo, 'policies'), { recursive: true });
    writeFileSync(join(repo, 'policies', 'gate.rego'), GATE);
    const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, encoding: 'utf8' });
    git('init', '--quiet', '--initial-branch=main');
    git('add', '--all');
    git('commit', '--quiet', '--message', 'initial');
    opa = await startLocalOpa({ paths: [] });
    client = new OpaClient({ url: opa.url, timeoutMs: 10_000 });
    // OPA runs a module Git does not have: drift.
    await client.putPolicy('hand/extra.rego', 'package hand\n\nx := 1\n');
    r = await startReceiver();
  });
  afterAll(async () => {
    await r?.close();
    await client?.close();
    await opa?.stop();
  });

  function notifier(slackUrl: string): Notifier {
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, 'ghp_driftToken0123456789');
    const config = parseConfig({
      upstreams: [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' }],
      notify: { slack: { url: slackUrl }, issues: { url: r.apiUrl, repository: REPOSITORY, tokenFile }, retries: { attempts: 1 } },
    });
    return notifierFromConfig(config)!;
  }

  const options = (): DriftOptions => ({ source: repo, cache: join(work, 'cache'), opa: client, protect: [], pushLog: join(work, 'push.log') });

  it('sends the drift as a message and an issue, and --notify URL still gets its plain text', async () => {
    const n = notifier(r.slackUrl);
    // --notify URL posts to the same webhook path: its plain {"text"} has no blocks.
    const report = await drift({ ...options(), notify: r.slackUrl, notifier: n });
    await n.close();
    expect(report).toMatchObject({ inSync: false, extra: ['hand/extra.rego'], notified: { ok: true } });
    const [plain, rich] = r.slack.map((m) => m.body);
    expect(plain.blocks).toBeUndefined();
    expect(plain.text).toContain('in OPA, not in Git: hand/extra.rego');
    expect(rich.blocks[0].text.text).toBe(`writegate: OPA at ${opa.url} has drifted from ${repo}`);
    expect(rich.text).toContain('• in OPA, not in Git: hand/extra.rego');
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]!.body.labels).toEqual(['writegate', 'drift']);
    expect(r.issues[0]!.body.body).toContain('- in OPA, not in Git: hand/extra.rego');
  });

  it('a target that fails makes notified false, with the target named and not its URL', async () => {
    const n = notifier(r.slackUrl.replace(SLACK_PATH, '/nowhere'));
    const report = await drift({ ...options(), notifier: n });
    await n.close();
    expect(report.notified).toEqual({ ok: false, error: 'slack: answered 404' });
  });
});
