/**
 * F10 (issue 8) with real kubectl binaries through the gateway and the simulator: `kubectl drain` evicts, and
 * `kubectl debug` adds an ephemeral container. The policy must treat both as what they do: an eviction in a
 * protected namespace is refused like the delete it is, and so is a debug container there, like exec.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource } from '../../sim/kubernetes/resources.js';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const BIN = '/usr/lib/google-cloud-sdk/bin';
const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;

interface Result { code: number; stdout: string; stderr: string }

function kubectlFor(s: Stack, version: string, token: string): (args: string[]) => Promise<Result> {
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
      const { stdout, stderr } = await run(`${BIN}/kubectl.${version}`, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}

describe.each(['1.29', '1.32'])('kubectl %s: drain and debug through the gateway (F10)', (version) => {
  let s: Stack;
  let admin: ReturnType<typeof kubectlFor>;
  beforeAll(async () => {
    s = await startStack();
    admin = kubectlFor(s, version, TOKENS.admin);
  });
  afterAll(async () => { await s?.close(); });

  it('drain evicts the pod in default and is refused the one in production', async () => {
    const r = await admin(['drain', 'sim-node-1', '--force', '--ignore-daemonsets', '--timeout=20s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('protected-namespace-delete');
    // The cordon (a node update) went through, the unprotected pod was evicted, the protected one is still there.
    expect((s.sim.store.find(NODES, undefined, 'sim-node-1')?.spec as { unschedulable?: boolean }).unschedulable).toBe(true);
    expect(s.sim.store.find(PODS, 'default', 'web-0')).toBeUndefined();
    expect(s.sim.store.find(PODS, 'production', 'api-0')).toBeDefined();
    const evictions = s.decisions().filter((e) => e.summary.startsWith('create pods/eviction'));
    expect(evictions.map((e) => [e.summary, e.outcome]).sort()).toEqual([
      ['create pods/eviction default/web-0', 'allowed'],
      ['create pods/eviction production/api-0', 'denied'],
    ]);
  });

  it('debug adds an ephemeral container in default and is refused one in production', async () => {
    s.sim.store.put({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug-me', namespace: 'default' },
      spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }], nodeName: 'sim-node-1' },
      status: { phase: 'Running' },
    });
    const ok = await admin(['debug', 'debug-me', '--image=busybox:1.36', '--target=main', '--attach=false']);
    expect(ok.code, ok.stderr).toBe(0);
    const ephemeral = (s.sim.store.find(PODS, 'default', 'debug-me')?.spec as { ephemeralContainers?: { image: string }[] }).ephemeralContainers;
    expect(ephemeral?.map((c) => c.image)).toEqual(['busybox:1.36']);

    const denied = await admin(['debug', '-n', 'production', 'api-0', '--image=busybox:1.36', '--target=api', '--attach=false']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('protected-namespace-connect');
    expect((s.sim.store.find(PODS, 'production', 'api-0')?.spec as { ephemeralContainers?: unknown }).ephemeralContainers).toBeUndefined();
  });
});
