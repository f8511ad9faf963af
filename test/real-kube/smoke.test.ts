import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealKube, type RealKube, type RealKubeUser } from './harness.js';

const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('real kube-apiserver harness', () => {
  let kube: RealKube;
  let work: string;
  const kubeconfigs = new Map<RealKubeUser, string>();

  // A fresh discovery cache per run: a cache left by another apiserver on a
  // reused port would otherwise answer discovery for this one.
  const kubectl = (user: RealKubeUser, ...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const kubeconfig = kubeconfigs.get(user) ?? kube.kubeconfigFor(user);
      kubeconfigs.set(user, kubeconfig);
      execFile(KUBECTL, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(work, 'cache')}`, ...args],
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
    });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'writegate-kubectl-'));
    kube = await startRealKube();
  });

  afterAll(async () => {
    await kube?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('serves the system namespaces over TLS with the generated CA', async () => {
    expect(kube.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await kubectl('admin', 'get', 'ns', '-o', 'name');
    expect(res.stderr).toBe('');
    expect(res.stdout.split('\n')).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']));
  });

  it('stores a configmap from kubectl apply -f', async () => {
    const file = join(work, 'cm.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  colour: blue\n');
    const applied = await kubectl('admin', 'apply', '-f', file);
    expect(applied).toMatchObject({ code: 0, stdout: 'configmap/applied created\n' });
    const got = await kubectl('admin', 'get', 'configmap', 'applied', '-o', 'json');
    const cm = JSON.parse(got.stdout) as { data: Record<string, string>; metadata: { annotations: Record<string, string> } };
    expect(cm.data).toEqual({ colour: 'blue' });
    expect(cm.metadata.annotations).toHaveProperty('kubectl.kubernetes.io/last-applied-configuration');
  });

  it('stores a configmap from kubectl create, sent as protobuf', async () => {
    // -v=8 logs each request's headers; kubectl 1.32 creates with a protobuf body.
    const created = await kubectl('admin', 'create', 'configmap', 'created', '--from-literal=k=v', '-v=8');
    expect(created.code).toBe(0);
    expect(created.stdout).toBe('configmap/created created\n');
    expect(created.stderr).toMatch(/POST https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/default\/configmaps/);
    expect(created.stderr).toMatch(/Content-Type: application\/vnd\.kubernetes\.protobuf/);
    const got = await kubectl('admin', 'get', 'configmap', 'created', '-o', 'jsonpath={.data.k}');
    expect(got.stdout).toBe('v');
  });

  it('admits the kinds the e2e suite writes, with no controller-manager running', async () => {
    for (const args of [
      ['create', 'namespace', 'smoke'],
      ['create', 'secret', 'generic', 's1', '--from-literal=password=hunter2'],
      ['create', 'deployment', 'web', '--image=registry.k8s.io/pause:3.10'],
      ['run', 'pod1', '--image=registry.k8s.io/pause:3.10', '--restart=Never'],
    ]) {
      const res = await kubectl('admin', ...args);
      expect({ args, ...res }).toMatchObject({ args, code: 0, stderr: '' });
    }
    // The ServiceAccount admission plugin mounted the projected token volume.
    const pod = await kubectl('admin', 'get', 'pod', 'pod1', '-o', 'jsonpath={.spec.serviceAccountName} {.spec.volumes[0].name}');
    expect(pod.stdout).toMatch(/^default kube-api-access-\w+$/);
  });

  it('applies the restricted user RBAC: configmaps only, in default', async () => {
    const can = async (...args: string[]): Promise<string> =>
      (await kubectl('restricted', 'auth', 'can-i', ...args)).stdout.trim();
    expect(await can('create', 'configmaps')).toBe('yes');
    expect(await can('list', 'configmaps')).toBe('yes');
    expect(await can('delete', 'configmaps')).toBe('no');
    expect(await can('create', 'secrets')).toBe('no');
    expect(await can('create', 'configmaps', '-n', 'kube-system')).toBe('no');
    expect(await kubectl('admin', 'auth', 'can-i', 'delete', 'nodes')).toMatchObject({ stdout: 'yes\n' });

    const allowed = await kubectl('restricted', 'create', 'configmap', 'by-restricted', '--from-literal=a=b');
    expect(allowed).toMatchObject({ code: 0, stdout: 'configmap/by-restricted created\n' });
    const denied = await kubectl('restricted', 'create', 'secret', 'generic', 'nope', '--from-literal=a=b');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('secrets is forbidden: User "restricted" cannot create resource "secrets"');
  });
});
