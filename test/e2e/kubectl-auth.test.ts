/**
 * kubectl authenticating to the gateway itself (listen.auth): with a client certificate and with a token of the
 * gateway's token file, through the TLS gateway to the Kubernetes simulator. The identity kubectl proved reaches the
 * policy (the shipped rule: only platform-admins delete namespaces); what it cannot prove is refused as kubectl
 * expects a 401.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';
import { clientPki, type ClientCertificate } from '../integration/auth-pki.js';

const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

interface Result { code: number; stdout: string; stderr: string }

const TOKENS = 'alice-kubectl-token-01,alice,u-alice,devs\nbob-kubectl-token-02,bob,u-bob,"devs,ci"\n';

describe('kubectl authenticated by the gateway', () => {
  let s: Stack;
  let dir: string;
  let tokenFile: string;
  let asAlice: (args: string[]) => Promise<Result>;
  let asBob: (args: string[]) => Promise<Result>;
  let asCarol: (args: string[]) => Promise<Result>;
  let asStranger: (args: string[]) => Promise<Result>;
  let asNobody: (args: string[]) => Promise<Result>;

  /** kubectl with a kubeconfig for the gateway's Kubernetes mount and the given user entry. */
  function kubectl(name: string, user: string[]): (args: string[]) => Promise<Result> {
    const kubeconfig = join(dir, `${name}.kubeconfig`);
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: wg',
      'clusters:', '- name: wg', '  cluster:', `    server: ${s.k8s}`, `    certificate-authority: ${s.certs.caCert}`,
      'users:', '- name: u', '  user:', ...user.map((l) => `    ${l}`),
      'contexts:', '- name: wg', '  context: {cluster: wg, user: u, namespace: default}', '',
    ].join('\n'));
    return (args) => new Promise((resolve) => {
      const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, `${name}-cache`), '--request-timeout=20s', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  const certUser = (c: ClientCertificate): string[] => [`client-certificate: ${c.cert}`, `client-key: ${c.key}`];

  /** The last decision of a write of `resource` named `name`. */
  function decisionFor(resource: string, name: string): DecisionEvent {
    const found = s.decisions().filter((e) => {
      const request = (e.input as { request?: { name?: string; resource?: { resource?: string } } } | undefined)?.request;
      return request?.name === name && request.resource?.resource === resource;
    }).at(-1);
    if (!found) throw new Error(`no decision for ${resource} ${name}`);
    return found;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubectl-auth-'));
    const pki = clientPki(join(dir, 'clients'), 'clients CA');
    const stranger = clientPki(join(dir, 'stranger'), 'another CA');
    tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, TOKENS);
    s = await startStack({ engine: 'opa', simOpen: true, clientCA: pki.caCert, auth: { tokenFile }, decisionLog: { refusedPerSecond: 1000, refusedBurst: 1000 } });
    asAlice = kubectl('alice', ['token: alice-kubectl-token-01']);
    asBob = kubectl('bob', ['token: bob-kubectl-token-02']);
    asCarol = kubectl('carol', certUser(pki.issue('carol', { cn: 'carol', o: ['platform-admins'] })));
    asStranger = kubectl('stranger', certUser(stranger.issue('carol', { cn: 'carol', o: ['platform-admins'] })));
    asNobody = kubectl('nobody', ['username: nobody', 'password: not-a-gateway-credential']);
  });
  afterAll(async () => { await s?.close(); });

  it('a token of the token file: reads and writes as its user, with its groups', async () => {
    const get = await asAlice(['get', 'pods']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toContain('web-0');
    const create = await asAlice(['create', 'configmap', 'alice-settings', '--from-literal=a=1']);
    expect(create.code, create.stderr).toBe(0);
    expect((decisionFor('configmaps', 'alice-settings').input as any).request.userInfo).toEqual({
      username: 'alice', uid: 'u-alice', groups: ['devs', 'system:authenticated'], authenticatedBy: 'token',
    });
  });

  it('a client certificate: CN and O reach the policy, and platform-admins may delete a namespace', async () => {
    const ns = await asCarol(['create', 'namespace', 'team-carol']);
    expect(ns.code, ns.stderr).toBe(0);
    const info = (decisionFor('namespaces', 'team-carol').input as any).request.userInfo;
    expect(info).toMatchObject({ username: 'carol', groups: ['platform-admins', 'system:authenticated'], authenticatedBy: 'x509' });
    const del = await asCarol(['delete', 'namespace', 'team-carol', '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain('deleted');
  });

  it('someone outside platform-admins may not delete a namespace (the shipped group rule)', async () => {
    expect((await asCarol(['create', 'namespace', 'team-kept'])).code).toBe(0);
    const del = await asAlice(['delete', 'namespace', 'team-kept', '--wait=false']);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain('Error from server (Forbidden)');
    expect(del.stderr).toContain('namespace-delete-group');
    expect(s.sim.store.get('/api/v1/namespaces/team-kept')).toBeDefined();
  });

  it('no gateway credential (basic credentials are not one): refused with 401, for reads too', async () => {
    const before = s.decisions().length;
    const get = await asNobody(['get', 'pods']);
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/You must be logged in to the server|provide credentials/);
    const refused = s.decisions().slice(before);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e.method === 'GET' && e.error?.code === 'WG_ERR_UNAUTHENTICATED')).toBe(true);
  });

  it('a certificate from another CA is refused, whatever its CN and O say', async () => {
    const get = await asStranger(['get', 'pods']);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('the server has asked for the client to provide credentials');
    const ns = await asStranger(['delete', 'namespace', 'team-kept', '--wait=false']);
    expect(ns.code).toBe(1);
    expect(s.sim.store.get('/api/v1/namespaces/team-kept')).toBeDefined();
  });

  it('exec is authenticated before the upgrade (the caller reaches the connect decision)', async () => {
    const ok = await asBob(['exec', 'web-0', '--', 'ls', '/']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((decisionFor('pods', 'web-0').input as any).request.userInfo).toMatchObject({ username: 'bob', authenticatedBy: 'token' });
    const anonymous = await asNobody(['exec', 'web-0', '--', 'ls', '/']);
    expect(anonymous.code).toBe(1);
  });

  it('a token removed from the file is refused once the file is re-read', async () => {
    expect((await asBob(['get', 'pods'])).code).toBe(0);
    writeFileSync(tokenFile, TOKENS.split('\n').filter((l) => !l.startsWith('bob')).join('\n'));
    let last: Result | undefined;
    await until(async () => /You must be logged in to the server|provide credentials/.test((last = await asBob(['get', 'pods'])).stderr), { what: 'bob refused', timeoutMs: 20_000, intervalMs: 200 })
      .catch((err: Error) => { throw new Error(`${err.message}; kubectl last answered ${JSON.stringify(last)}`); });
    expect((await asAlice(['get', 'pods'])).code).toBe(0);
  });
});
