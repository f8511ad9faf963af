import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('writegate demo, as the README starts it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-demo-'));
  let demo: ReturnType<typeof spawn>;
  let printed = '';
  beforeAll(async () => {
    demo = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start: ${printed}`)), 30_000);
      demo.stdout!.on('data', (c: Buffer) => {
        printed += c.toString();
        if (printed.includes('Stop with Ctrl-C')) { clearTimeout(timer); resolve(); }
      });
      demo.on('exit', (code) => reject(new Error(`demo exited ${code}: ${printed}`)));
    });
  });
  afterAll(() => { demo?.kill('SIGINT'); });

  it('prints a kubeconfig and three commands that behave as announced', async () => {
    const commands = printed.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('kubectl ')).map((l) => l.split('#')[0]!.trim());
    expect(commands).toHaveLength(3);
    const results = [];
    for (const c of commands) {
      const args = c.split(/\s+/).slice(1);
      try {
        const { stdout, stderr } = await run(KUBECTL, [...args, '--cache-dir', join(dir, 'kcache')], { timeout: 30_000 });
        results.push({ code: 0, out: stdout + stderr });
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        results.push({ code: e.code, out: e.stdout + e.stderr });
      }
    }
    expect(results[0]!.code).toBe(0);
    expect(results[0]!.out).toContain('web-0');
    expect(results[1]!.code).toBe(0);
    expect(results[1]!.out).toContain('deployment.apps/web created');
    expect(results[2]!.code).toBe(1);
    expect(results[2]!.out).toContain('Error from server (Forbidden)');
    expect(results[2]!.out).toMatch(/decision [0-9a-f-]{36}/);
  });

  it('writegate logs shows the decisions and finds one by id', async () => {
    const all = await cli(['logs', '--file', join(dir, 'decisions.log')]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('ALLOWED');
    expect(all.stdout).toContain('DENIED');
    const id = /DENIED.*?([0-9a-f-]{36})/.exec(all.stdout)![1]!;
    const one = await cli(['logs', '--file', join(dir, 'decisions.log'), '--decision-id', id, '--json']);
    expect(one.code).toBe(0);
    const lines = one.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.every((l) => l.decision_id === id)).toBe(true);
    expect(lines[0].outcome).toBe('denied');
    const none = await cli(['logs', '--file', join(dir, 'decisions.log'), '--decision-id', '00000000-0000-4000-8000-000000000000']);
    expect(none.code).toBe(1);
  });
});

describe('writegate logs --follow', () => {
  it('prints decisions appended after it started', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wg-follow-')), 'decisions.log');
    writeFileSync(file, '');
    const tail = spawn(process.execPath, [CLI, 'logs', '--file', file, '--follow'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    tail.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const event = {
        type: 'writegate/decision', decision_id: '11111111-2222-4333-8444-555555555555', timestamp: new Date().toISOString(), path: 'p',
        labels: {}, upstream: 'k8s', method: 'DELETE', url: '/api/v1/namespaces/production/pods/x', operation: 'DELETE', summary: 'delete pods production/x',
        caller: { username: 'mallory', remote_addr: '127.0.0.1' }, mode: 'enforce', outcome: 'denied', engine: 'opa',
        reasons: ['deleting pods "x" in protected namespace "production" is not allowed'], warnings: [], upstream_status: null, latency_ms: 1,
      };
      appendFileSync(file, `${JSON.stringify(event)}\n`);
      await until(() => out.includes('11111111-2222-4333-8444-555555555555'), { timeoutMs: 5000, intervalMs: 50 }).catch(() => undefined);
      expect(out).toContain('DENIED');
      expect(out).toContain('by mallory');
      expect(out).toContain('deny: deleting pods "x" in protected namespace "production" is not allowed');
    } finally {
      tail.kill();
    }
  });
});

describe('writegate serve and explain', () => {
  it('reports every configuration problem with exit code 3', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wg-cfg-')), 'bad.yaml');
    writeFileSync(file, 'listen: { port: -1 }\nupstreams:\n  - { name: K8S, kind: kubernetes, prefix: k8s, target: nope, policy: x }\n');
    const r = await cli(['serve', '--config', file]);
    expect(r.code).toBe(3);
    for (const key of ['listen.port', 'upstreams.0.name', 'upstreams.0.prefix', 'upstreams.0.target']) expect(r.stderr).toContain(key);
  });

  it('explain --json decides the README examples with the residual and with OPA', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wg-cfg-')), 'wg.yaml');
    writeFileSync(file, `opa: { policies: ["${join(root, 'policies')}"] }\nupstreams:\n  - { name: k8s, kind: kubernetes, prefix: /k8s, target: "https://127.0.0.1:6443", policy: writegate/kubernetes/decision }\n`);
    const ok = await cli(['explain', '-c', file, '-u', 'k8s', '-i', join(root, 'policies/kubernetes/testdata/deployment-create/input.json'), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ allowed: true, engine: 'residual', reasons: [] });
    const bad = await cli(['explain', '-c', file, '-u', 'k8s', '-i', join(root, 'policies/kubernetes/testdata/deployment-patch/input.json'), '--json']);
    expect(bad.code).toBe(1);
    const out = JSON.parse(bad.stdout);
    expect(out).toMatchObject({ allowed: false, engine: 'opa', fallback: 'residual false' });
    expect(out.reasons.join(' ')).toContain('no-latest-tag');
    expect(out.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    const opaOnly = await cli(['explain', '-c', file, '-u', 'k8s', '-i', join(root, 'policies/kubernetes/testdata/deployment-create/input.json'), '--engine', 'opa', '--json']);
    expect(JSON.parse(opaOnly.stdout)).toMatchObject({ allowed: true, engine: 'opa' });
  });
});
