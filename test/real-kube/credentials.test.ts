/**
 * A held service-account token with `impersonate: true`, end to end: kubectl authenticates to the TLS gateway with
 * a token the gateway issued (`listen.auth.tokenFile`), the gateway calls the real kube-apiserver with its own
 * service-account token and tells it who the caller is (Impersonate-User/-Group/-Uid). The apiserver's own RBAC
 * then judges the caller — a caller without rights is refused by the apiserver although the service account could
 * do it — and its audit log names the service account as the user and the caller as `impersonatedUser`, for the
 * gateway's dry runs and lookups as for the write itself. kubectl never sees the service-account token.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../app/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates, type DevCertificates } from '../../src/tls.js';
import { until } from '../helpers/wait.js';
import { startRealKube, type RealKube } from './harness.js';

const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';
const SA = 'writegate-gateway';
const SA_USER = `system:serviceaccount:default:${SA}`;
/** The user of the client certificate the gateway holds for its second mount. */
const CERT_USER = 'writegate-gateway-cert';

interface AuditEvent {
  verb: string;
  requestURI: string;
  objectRef?: { resource?: string; subresource?: string; name?: string; namespace?: string };
  user: { username: string; extra?: Record<string, string[]> };
  impersonatedUser?: { username: string; uid?: string; groups?: string[] };
  responseStatus?: { code?: number };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('held service-account token with impersonation, kubectl through the gateway to the real kube-apiserver', () => {
  let kube: RealKube;
  let opa: LocalOpa;
  let gateway: Gateway;
  let certs: DevCertificates;
  let work: string;
  let toKube: Agent;
  const heldToken = (): string => readFileSync(join(work, 'sa-token'), 'utf8');
  /** The gateway-issued tokens of two callers the apiserver knows by name only through impersonation. */
  const callers = { restricted: `gw-${randomBytes(16).toString('hex')}`, nobody: `gw-${randomBytes(16).toString('hex')}` };
  const outputs: string[] = [];

  const admin = async (method: string, path: string, body?: unknown, token = kube.tokens.admin): Promise<{ status: number; json: any }> => {
    const res = await request(`${kube.url}${path}`, {
      method: method as 'GET', dispatcher: toKube,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: JSON.parse(text) };
  };
  const mustCreate = async (path: string, body: unknown): Promise<any> => {
    const res = await admin('POST', path, body);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    return res.json;
  };
  /** Every service-account token the test issued, for the leak check. */
  const issued: string[] = [];
  const issueToken = async (): Promise<string> => {
    const token = (await mustCreate(`/api/v1/namespaces/default/serviceaccounts/${SA}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
    })).status.token as string;
    issued.push(token);
    return token;
  };

  /** kubectl as `caller` through the gateway's mount `mount` (the held token's, or the held certificate's). */
  const kubectlVia = (mount: '/k8s' | '/k8s-cert', caller: keyof typeof callers, ...args: string[]): Promise<Result> => {
    const kubeconfig = join(work, `kubeconfig-${caller}-${mount.slice(1)}`);
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: wg',
      'clusters:', '- name: wg', '  cluster:', `    server: ${gateway.url}${mount}`, `    certificate-authority: ${certs.caCert}`,
      'users:', `- name: ${caller}`, '  user:', `    token: ${callers[caller]}`,
      'contexts:', '- name: wg', `  context: {cluster: wg, user: ${caller}, namespace: default}`, '',
    ].join('\n'));
    return new Promise((resolve) => {
      execFile(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(work, `cache-${caller}-${mount.slice(1)}`), ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
        outputs.push(stdout, stderr);
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  };
  const kubectl = (caller: keyof typeof callers, ...args: string[]): Promise<Result> => kubectlVia('/k8s', caller, ...args);
  const audit = (): AuditEvent[] => readFileSync(kube.auditLogPath!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
  /** The audit events of requests on `resource` named `name` (as the apiserver wrote them, once it has). */
  const audited = async (resource: string, name: string, count: number): Promise<AuditEvent[]> => {
    let found: AuditEvent[] = [];
    await until(() => (found = audit().filter((e) => e.objectRef?.resource === resource && e.objectRef.name === name)).length >= count, { what: `${count} audit events of ${resource}/${name}` });
    return found;
  };
  const decisions = (): DecisionEvent[] => {
    gateway.decisionLog.flush();
    return readFileSync(join(work, 'decisions.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'writegate/decision');
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'wg-real-held-'));
    kube = await startRealKube({ auditLog: true });
    toKube = new Agent({ connect: { ca: readFileSync(kube.caFile) } });
    // The gateway's service account may do anything (cluster-admin) and impersonate anyone: only the impersonated
    // caller's own rights can make the apiserver refuse.
    await mustCreate('/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA } });
    await mustCreate('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'writegate-impersonator' },
      rules: [
        { apiGroups: [''], resources: ['users', 'groups', 'serviceaccounts'], verbs: ['impersonate'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['uids', 'userextras'], verbs: ['impersonate'] },
      ],
    });
    for (const role of ['writegate-impersonator', 'cluster-admin']) {
      await mustCreate('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${SA}-${role}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: SA, namespace: 'default' }, { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: CERT_USER }],
      });
    }
    // "nobody" may read pods (kubectl exec reads the pod first) but not exec into them; a pod to exec into (Pending:
    // there is no node).
    await mustCreate('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    });
    await mustCreate('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'pod-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'nobody' }],
    });
    await mustCreate('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });
    const gatewayCert = await kube.clientCertificate(CERT_USER);
    writeFileSync(join(work, 'sa-token'), await issueToken());
    // The gateway's own callers (kube-apiserver --token-auth-file format): "restricted" is a user the apiserver's
    // RBAC knows (configmaps in default, see harness.ts), "nobody" has no rights there at all.
    writeFileSync(join(work, 'callers.csv'), `${callers.restricted},restricted,uid-restricted,"devs"\n${callers.nobody},nobody,uid-nobody\n`);

    certs = devCertificates(join(work, 'certs'));
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    gateway = await startGateway(parseConfig({
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certs.cert, key: certs.key }, auth: { tokenFile: join(work, 'callers.csv') } },
      opa: { url: opa.url, timeoutMs: 5000 },
      decisionLog: { path: join(work, 'decisions.log') },
      upstreams: [{
        name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: kube.url, policy: 'writegate/kubernetes/decision',
        tls: { ca: kube.caFile },
        identity: 'gateway',
        credentials: { mode: 'held', tokenFile: join(work, 'sa-token'), impersonate: true },
      }, {
        name: 'k8s-cert', kind: 'kubernetes', prefix: '/k8s-cert', target: kube.url, policy: 'writegate/kubernetes/decision',
        tls: { ca: kube.caFile },
        identity: 'gateway',
        credentials: { mode: 'held', clientCert: gatewayCert.cert, clientKey: gatewayCert.key, impersonate: true },
      }],
    }));
  }, 180_000);

  afterAll(async () => {
    await gateway?.close();
    await opa?.stop();
    await toKube?.close();
    await kube?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a write runs as the caller: the policy and the apiserver see it, and the audit log names the service account impersonating it', async () => {
    const created = await kubectl('restricted', 'create', 'configmap', 'held-cm', '--from-literal=a=1');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('configmap/held-cm created');

    const [d] = decisions().filter((e) => e.summary === 'create configmaps default/held-cm');
    expect(d).toMatchObject({ outcome: 'allowed', caller: { username: 'restricted', authenticated_by: 'token' } });
    expect((d!.input as any).request.userInfo).toMatchObject({ username: 'restricted', uid: 'uid-restricted', groups: ['devs', 'system:authenticated'] });

    // The gateway's dry run and the write itself: both as the service account, impersonating the caller.
    const events = (await audited('configmaps', 'held-cm', 2)).filter((e) => e.verb === 'create');
    expect(events.map((e) => e.requestURI.includes('dryRun=All')).sort()).toEqual([false, true]);
    for (const e of events) {
      expect(e.user.username).toBe(SA_USER);
      expect(e.impersonatedUser).toMatchObject({ username: 'restricted', uid: 'uid-restricted', groups: ['devs', 'system:authenticated'] });
      expect(e.responseStatus?.code).toBe(201);
    }
  });

  it('a caller without rights is refused by the apiserver\'s own RBAC, although the service account could', async () => {
    const denied = await kubectl('restricted', 'create', 'secret', 'generic', 'held-secret', '--from-literal=a=1');
    expect(denied.code).not.toBe(0);
    // kubectl create secret prints the apiserver's Forbidden status as "failed to create secret secrets is forbidden: ...".
    expect(denied.stderr).toContain('secrets is forbidden: User "restricted" cannot create resource "secrets" in API group "" in the namespace "default"');
    const read = await kubectl('nobody', 'get', 'configmaps');
    expect(read.code).not.toBe(0);
    expect(read.stderr).toContain('User "nobody" cannot list resource "configmaps"');
    // The gateway's own token could have done both.
    expect((await admin('GET', '/api/v1/namespaces/default/secrets', undefined, heldToken())).status).toBe(200);
    expect((await admin('GET', '/api/v1/namespaces/default/secrets/held-secret')).status).toBe(404);
  });

  it('reads run as the caller too', async () => {
    const read = await kubectl('restricted', 'get', 'configmap', 'held-cm', '-o', 'jsonpath={.data.a}');
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('1');
    const [get] = (await audited('configmaps', 'held-cm', 3)).filter((e) => e.verb === 'get');
    expect(get).toMatchObject({ user: { username: SA_USER }, impersonatedUser: { username: 'restricted' } });
  });

  it('a caller asking to impersonate someone else (kubectl --as) is refused by the gateway', async () => {
    const res = await kubectl('restricted', 'get', 'configmaps', '--as', 'admin');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('impersonate-user: the gateway holds this upstream\'s credential');
  });

  it('after the token file is rotated, the next request is made with the new token', async () => {
    const next = await issueToken();
    writeFileSync(join(work, 'sa-token'), next);
    const jti = (JSON.parse(Buffer.from(next.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string }).jti;
    const created = await kubectl('restricted', 'create', 'configmap', 'rotated-cm', '--from-literal=a=1');
    expect(created.code, created.stderr).toBe(0);
    // kube-apiserver records which service-account token authenticated a request in the user's extra.
    for (const e of await audited('configmaps', 'rotated-cm', 2)) {
      expect(e.user.extra?.['authentication.kubernetes.io/credential-id']).toEqual([`JTI=${jti}`]);
    }
  });

  it('a held client certificate is the gateway\'s TLS identity for requests and for exec upgrades, impersonating the caller', async () => {
    const created = await kubectlVia('/k8s-cert', 'restricted', 'create', 'configmap', 'cert-cm', '--from-literal=a=1');
    expect(created.code, created.stderr).toBe(0);
    for (const e of (await audited('configmaps', 'cert-cm', 2)).filter((x) => x.verb === 'create')) {
      expect(e.user.username).toBe(CERT_USER);
      expect(e.impersonatedUser?.username).toBe('restricted');
    }
    // The exec upgrade goes on a connection of its own, with the same certificate and impersonation: the apiserver
    // refuses it for "nobody", who may read the pod but not exec into it.
    const exec = await kubectlVia('/k8s-cert', 'nobody', 'exec', 'web', '--', 'true');
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toMatch(/User "nobody" cannot \w+ resource "pods\/exec"/);
    let execs: AuditEvent[] = [];
    await until(() => (execs = audit().filter((e) => e.objectRef?.subresource === 'exec' && e.objectRef.name === 'web')).length > 0, { what: 'the audit event of the exec' });
    expect(execs[0]).toMatchObject({ user: { username: CERT_USER }, impersonatedUser: { username: 'nobody' }, responseStatus: { code: 403 } });
  });

  it('kubectl\'s output and the decision log never carry a service-account token', () => {
    const logged = readFileSync(join(work, 'decisions.log'), 'utf8');
    expect(logged.length).toBeGreaterThan(0);
    expect(issued).toHaveLength(2);
    for (const token of issued) {
      expect(outputs.join('\n')).not.toContain(token);
      expect(logged).not.toContain(token);
    }
  });
});
