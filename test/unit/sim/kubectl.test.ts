/**
 * The simulator against real kubectl binaries (1.29: v2beta1 discovery, SPDY-only
 * exec; 1.32/1.33: v2 discovery, protobuf typed creates, WebSocket exec), over
 * HTTPS so kubectl sends its bearer token.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeSim, type KubeSim } from '../../../sim/kubernetes/index.js';
import { until } from '../../helpers/wait.js';

const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
// Required on the machine image (README); a missing binary fails the suite rather than skipping it.
const VERSIONS = ['1.29', '1.32', '1.33'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
      - name: sidecar
        image: busybox:1.36
`;

describe.each(VERSIONS)('kubectl %s against the simulator', (version) => {
  let dir: string;
  let sim: KubeSim;
  const minor = Number(version.split('.')[1]);

  const args = (extra: string[]) => [
    '--kubeconfig',
    '/dev/null',
    '--server',
    sim.url,
    '--certificate-authority',
    join(dir, 'cert.pem'),
    '--token',
    't',
    // A fresh discovery/OpenAPI cache per run, so every run talks to the server.
    '--cache-dir',
    mkdtempSync(join(dir, 'cache-')),
    ...extra,
  ];

  const kubectl = (...extra: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(join(KUBECTL_DIR, `kubectl.${version}`), args(extra), { timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  const deployment = () => sim.store.get('/apis/apps/v1/namespaces/default/deployments/web') as
    | { metadata: Record<string, unknown>; spec: { replicas: number; template: { spec: { containers: { name: string; image: string }[] } } } }
    | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wg-kubesim-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    sim = await startKubeSim({
      tls: { cert: await readFile(join(dir, 'cert.pem')), key: await readFile(join(dir, 'key.pem')) },
      tokens: { t: { username: 'alice', uid: 'u-1', groups: ['devs'] } },
    });
    writeFileSync(join(dir, 'deploy.yaml'), DEPLOYMENT);
    writeFileSync(join(dir, 'deploy2.yaml'), DEPLOYMENT.replace('nginx:1.27', 'nginx:1.28').replace('replicas: 2', 'replicas: 3'));
  });

  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get ns lists the seeded namespaces through aggregated discovery and a Table', async () => {
    const r = await kubectl('get', 'ns');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+STATUS\s+AGE/);
    for (const ns of ['default', 'kube-system', 'production']) expect(r.stdout).toMatch(new RegExp(`^${ns}\\s+Active`, 'm'));
    const discovery = sim.requests.find((q) => q.url.startsWith('/apis?'));
    // 1.30+ offers v2 first; 1.29 only v2beta1.
    expect(discovery?.headers.accept).toContain(minor >= 30 ? 'v=v2;' : 'v=v2beta1');
  });

  it('apply -f creates, then a modified apply sends a strategic merge patch', async () => {
    const created = await kubectl('apply', '-f', join(dir, 'deploy.yaml'));
    expect(created).toMatchObject({ code: 0, stdout: 'deployment.apps/web created\n' });
    expect(deployment()?.spec.replicas).toBe(2);
    expect(sim.requests.some((q) => q.method === 'POST' && q.url.includes('fieldValidation=Strict'))).toBe(true);

    sim.clearRequests();
    const configured = await kubectl('apply', '-f', join(dir, 'deploy2.yaml'));
    expect(configured).toMatchObject({ code: 0, stdout: 'deployment.apps/web configured\n' });
    const patch = sim.requests.find((q) => q.method === 'PATCH');
    expect(patch?.headers['content-type']).toBe('application/strategic-merge-patch+json');
    const d = deployment()!;
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers).toEqual([
      { name: 'web', image: 'nginx:1.28', ports: [{ containerPort: 80 }] },
      { name: 'sidecar', image: 'busybox:1.36' },
    ]);
    expect(d.metadata.generation).toBe(2);
  });

  it('apply --server-side sends an apply patch', async () => {
    sim.clearRequests();
    const r = await kubectl('apply', '--server-side', '-f', join(dir, 'deploy.yaml'));
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/web serverside-applied\n' });
    expect(sim.requests.find((q) => q.method === 'PATCH')?.headers['content-type']).toBe('application/apply-patch+yaml');
    expect(deployment()?.spec.replicas).toBe(2);
    expect(deployment()?.spec.template.spec.containers[0]?.image).toBe('nginx:1.27');
  });

  it('apply --dry-run=server answers without storing', async () => {
    const r = await kubectl('apply', '--dry-run=server', '-f', join(dir, 'deploy2.yaml'));
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/web configured (server dry run)\n' });
    expect(deployment()?.spec.template.spec.containers[0]?.image).toBe('nginx:1.27');
  });

  it('create configmap succeeds (protobuf request body from 1.32 on)', async () => {
    sim.clearRequests();
    const r = await kubectl('create', 'configmap', 'x', '--from-literal=a=b');
    expect(r).toMatchObject({ code: 0, stdout: 'configmap/x created\n' });
    expect(sim.store.get('/api/v1/namespaces/default/configmaps/x')).toMatchObject({ data: { a: 'b' }, metadata: { name: 'x', namespace: 'default' } });
    const post = sim.requests.find((q) => q.method === 'POST');
    expect(post?.headers['content-type']).toBe(minor >= 32 ? 'application/vnd.kubernetes.protobuf' : 'application/json');
  });

  it('patch --type=merge and --type=json', async () => {
    const merge = await kubectl('patch', 'deployment', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"team":"a"}}}');
    expect(merge).toMatchObject({ code: 0, stdout: 'deployment.apps/web patched\n' });
    expect(deployment()?.metadata.labels).toEqual({ app: 'web', team: 'a' });
    const json = await kubectl('patch', 'deployment', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.29"}]');
    expect(json).toMatchObject({ code: 0, stdout: 'deployment.apps/web patched\n' });
    expect(deployment()?.spec.template.spec.containers[0]?.image).toBe('nginx:1.29');
  });

  it('scale patches the scale subresource', async () => {
    const r = await kubectl('scale', 'deployment', 'web', '--replicas=5');
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/web scaled\n' });
    expect(deployment()?.spec.replicas).toBe(5);
  });

  it('get -w streams changes', async () => {
    const child = spawn(join(KUBECTL_DIR, `kubectl.${version}`), args(['get', 'configmaps', '-w']));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await until(() => /^x\s/m.test(out), { what: 'the first watch line' });
      sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched', namespace: 'default' }, data: { k: 'v' } });
      await until(() => /^watched\s/m.test(out), { what: 'the watched event' });
    } finally {
      child.kill();
    }
    expect(sim.requests.some((q) => q.url.includes('watch=true'))).toBe(true);
  });

  it('logs prints the canned log', async () => {
    const r = await kubectl('logs', 'web-0');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('log line 1 from default/web-0/web');
  });

  // Each version gets the exec test that matches its protocol (WebSocket from 1.30, SPDY before).
  if (minor >= 30) it('exec runs over a WebSocket and exits 0', async () => {
    const r = await kubectl('exec', 'web-0', '--', 'ls', '/');
    expect(r).toMatchObject({ code: 0, stdout: 'exec: ls /\n' });
    const upgrade = sim.requests.find((q) => q.url.includes('/pods/web-0/exec'));
    expect(upgrade?.headers.upgrade).toBe('websocket');
  });

  else it('exec (SPDY only before 1.30) is refused with a Status', async () => {
    const r = await kubectl('exec', 'web-0', '--', 'ls');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not SPDY');
  });

  it('auth whoami reports the token user', async () => {
    const r = await kubectl('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}');
    expect(r).toMatchObject({ code: 0, stdout: 'alice' });
  });

  it('delete removes the object', async () => {
    const r = await kubectl('delete', 'deployment', 'web');
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps "web" deleted\n' });
    expect(deployment()).toBeUndefined();
    const missing = await kubectl('get', 'deployment', 'web');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "web" not found');
  });
});
