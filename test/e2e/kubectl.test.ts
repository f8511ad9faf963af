import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const BIN = '/usr/lib/google-cloud-sdk/bin';

interface Result { code: number; stdout: string; stderr: string }

function kubectlFor(s: Stack, version: string, token: string): (args: string[], stdin?: string) => Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), `kubectl-${version}-`));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: wg',
    'clusters:', '- name: wg', '  cluster:', `    server: ${s.k8s}`, `    certificate-authority: ${s.certs.caCert}`,
    'users:', '- name: u', '  user:', `    token: ${token}`,
    'contexts:', '- name: wg', '  context: {cluster: wg, user: u, namespace: default}', '',
  ].join('\n'));
  return async (args) => {
    try {
      const { stdout, stderr } = await run(`${BIN}/kubectl.${version}`, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}

function manifest(dir: string, name: string, image: string, labels = true): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `  name: ${name}`, '  namespace: default',
    ...(labels ? ['  labels:', '    owner: team-a', `    app.kubernetes.io/name: ${name}`] : []),
    'spec:', '  replicas: 1', '  selector:', `    matchLabels: {app: ${name}}`, '  template:', '    metadata:',
    `      labels: {app: ${name}}`, '    spec:', '      containers:', `      - name: app`, `        image: ${image}`, '',
  ].join('\n'));
  return file;
}

describe.each(['1.29', '1.32'])('kubectl %s through the TLS gateway', (version) => {
  let s: Stack;
  let k: ReturnType<typeof kubectlFor>;
  let dir: string;
  const v = version.replace('.', '-');
  beforeAll(async () => {
    s = await startStack();
    k = kubectlFor(s, version, TOKENS.alice);
    dir = mkdtempSync(join(tmpdir(), 'manifests-'));
  });
  afterAll(async () => { await s?.close(); });

  it('get passes through', async () => {
    const r = await k(['get', 'pods', '-A']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('web-0');
    expect(r.stdout).toContain('api-0');
  });

  it('client-side apply: create, then update (strategic-merge PATCH), then a denied update', async () => {
    const ok = await k(['apply', '-f', manifest(dir, `web-${v}`, 'nginx:1.27')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`deployment.apps/web-${v} created`);
    const upd = await k(['apply', '-f', manifest(dir, `web-${v}`, 'nginx:1.28')]);
    expect(upd.code, upd.stderr).toBe(0);
    expect(upd.stdout).toContain('configured');
    const bad = await k(['apply', '-f', manifest(dir, `web-${v}`, 'nginx:latest')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Error from server (Forbidden)');
    expect(bad.stderr).toContain('no-latest-tag');
    const stored = s.sim.store.get(`/apis/apps/v1/namespaces/default/deployments/web-${v}`) as any;
    expect(stored.spec.template.spec.containers[0].image).toBe('nginx:1.28');
  });

  it('prints the policy warnings as kubectl Warning lines', async () => {
    const r = await k(['apply', '-f', manifest(dir, `nolabels-${v}`, 'nginx:1.27', false)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Warning:');
    expect(r.stderr).toContain('recommend-app-name-label');
    expect(r.stderr).toContain('require-owner-label');
  });

  it('server-side apply is gated on the resulting object', async () => {
    const ok = await k(['apply', '--server-side', '-f', manifest(dir, `ssa-${v}`, 'nginx:1.27')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('serverside-applied');
    const bad = await k(['apply', '--server-side', '-f', manifest(dir, `ssa-${v}`, 'busybox')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Forbidden');
    expect(bad.stderr).toContain('busybox');
  });

  it('create configmap (protobuf body on 1.32) is decided on the decoded object', async () => {
    const r = await k(['create', 'configmap', `cm-${v}`, '--from-literal=a=b']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`configmap/cm-${v} created`);
    const posts = s.decisions().filter((e) => e.url.startsWith('/api/v1/namespaces/default/configmaps') && e.method === 'POST');
    const last = posts.at(-1)!;
    expect((last.input as any).request.object.data).toEqual({ a: 'b' });
    expect((last.input as any).headers['content-type'])
      .toBe(version === '1.32' ? 'application/vnd.kubernetes.protobuf' : 'application/json');
  });

  it('delete is allowed in default and denied in production', async () => {
    const ok = await k(['delete', 'configmap', `cm-${v}`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('deleted');
    const bad = await k(['-n', 'production', 'delete', 'pod', 'api-0', '--wait=false']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Error from server (Forbidden)');
    expect(bad.stderr).toContain('protected-namespace-delete');
  });

  it('exec is gated: denied in production, allowed with a warning elsewhere', async () => {
    const bad = await k(['-n', 'production', 'exec', 'api-0', '--', 'ls']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('protected-namespace-connect');
    if (version === '1.29') return; // the simulator speaks websocket exec only; 1.29 uses SPDY
    const ok = await k(['exec', 'web-0', '--', 'ls', '/']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('ls /');
  });
});
