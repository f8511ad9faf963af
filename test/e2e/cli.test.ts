import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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
