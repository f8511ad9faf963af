import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { projectRoot } from '../../src/opa/binary.js';
import { freePort } from '../../src/net.js';
import { signalGroup, stopGroup, supervise, waitFor, type Supervised } from '../helpers/processes.js';

const run = promisify(execFile);

export type RealKubeUser = 'admin' | 'restricted';

export interface RealKube {
  /** `https://127.0.0.1:PORT`, served with a certificate from `caFile`. */
  url: string;
  /** PEM of the throwaway CA that signed the serving certificate. */
  caFile: string;
  /** Static bearer tokens (`--token-auth-file`): admin is in `system:masters`; restricted only has the Role below. */
  tokens: Record<RealKubeUser, string>;
  /** The apiserver's audit log (JSON lines, level Metadata, one event per request at ResponseComplete), with `auditLog: true`. */
  auditLogPath?: string;
  /**
   * Issues a client certificate the apiserver authenticates (`--client-ca-file` is the harness CA): CN `user`, one O
   * per group. Returns the PEM files' paths.
   */
  clientCertificate(user: string, groups?: string[]): Promise<{ cert: string; key: string }>;
  /** Writes a kubeconfig for `user` pointing at `server` (default: the apiserver itself) and returns its path. */
  kubeconfigFor(user: RealKubeUser, server?: string): string;
  /** Stops kube-apiserver and etcd (their whole process groups) and removes every file the harness wrote. */
  stop(): Promise<void>;
}

/** RBAC granted to the restricted user, in namespace `default` only. */
export const RESTRICTED_ROLE = {
  name: 'writegate-restricted',
  rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create'] }],
} as const;

/** Built by `scripts/setup-kube.sh`; `KUBE_APISERVER_BIN` / `ETCD_BIN` name binaries to use instead. */
function binary(name: 'kube-apiserver' | 'etcd', envVar: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return resolve(fromEnv);
  const built = join(projectRoot(), '.tools', 'bin', name);
  if (!existsSync(built)) {
    throw new Error(`real-kube: ${name} is not built at ${built}; run "bash scripts/setup-kube.sh" (or set ${envVar})`);
  }
  return built;
}


async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/**
 * A throwaway CA, a serving certificate for 127.0.0.1/localhost signed by it,
 * and the service-account token signing key pair (ECDSA P-256 keys, which
 * kube-apiserver accepts for both: `--service-account-signing-key-file` takes
 * RSA or ECDSA, and ES256 is a JWS algorithm it signs with).
 */
async function writeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, 'req', '-x509', ...ec, '-days', '2', '-subj', '/CN=writegate-test-ca',
    '-keyout', 'ca.key', '-out', 'ca.crt',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  // `req -x509 -CA` signs with the CA directly (OpenSSL 3.0+); Go's verifier
  // (kubectl) matches an IP host only against IP subjectAltNames.
  await openssl(dir, 'req', '-x509', ...ec, '-days', '2', '-subj', '/CN=kube-apiserver',
    '-CA', 'ca.crt', '-CAkey', 'ca.key', '-keyout', 'server.key', '-out', 'server.crt',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', 'extendedKeyUsage=serverAuth');
  await openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key');
  await openssl(dir, 'pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

export interface RealKubeOptions {
  /** Called with each line etcd or kube-apiserver writes (both log to stderr). */
  onLog?: (source: 'etcd' | 'kube-apiserver', line: string) => void;
  /** Write the apiserver's audit log (`--audit-log-path`, `--audit-policy-file`): who made each request, impersonation included. */
  auditLog?: boolean;
}

/**
 * Starts etcd 3.5 and kube-apiserver 1.33 (both built by `scripts/setup-kube.sh`)
 * on 127.0.0.1, each on a free port, and waits until `/readyz` passes.
 *
 * There is no controller-manager, scheduler or kubelet: objects are stored and
 * admitted exactly as on a cluster, but namespaces never finish terminating,
 * Deployments never get ReplicaSets and pods stay Pending. Every default
 * admission plugin stays on. The ServiceAccount plugin rejects a pod whose
 * ServiceAccount does not exist; since 1.24 it no longer needs the token
 * controller's Secrets (it mounts a projected token volume), so the harness
 * creates the `default` ServiceAccount in namespace `default`, as the
 * controller-manager's serviceaccount controller would. Pods in namespaces
 * a test creates need that ServiceAccount created too.
 */
export async function startRealKube(options: RealKubeOptions = {}): Promise<RealKube> {
  const { onLog } = options;
  const dir = await mkdtemp(join(tmpdir(), 'writegate-kube-'));
  const procs: Supervised[] = [];
  let agent: Agent | undefined;
  // Kill the groups if the test process exits without calling stop():
  // detached children would otherwise outlive it.
  const onExit = (): void => {
    for (const p of procs) signalGroup(p.child, 'SIGKILL');
  };
  process.on('exit', onExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // kube-apiserver first: it would otherwise log etcd connection errors.
    for (const p of [...procs].reverse()) await stopGroup(p.child);
    process.off('exit', onExit);
    await agent?.close();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const kubeApiserver = binary('kube-apiserver', 'KUBE_APISERVER_BIN');
    const etcdBinary = binary('etcd', 'ETCD_BIN');
    await writeCertificates(dir);
    const tokens = { admin: randomBytes(24).toString('hex'), restricted: randomBytes(24).toString('hex') };
    // Static token file format: token,user,uid[,"group1,group2"]
    // (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file).
    // Every authenticated user also gets system:authenticated.
    writeFileSync(join(dir, 'tokens.csv'),
      `${tokens.admin},admin,writegate-admin,"system:masters"\n${tokens.restricted},restricted,writegate-restricted\n`);

    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const [etcdPort, peerPort, apiPort] = [...ports];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = supervise(etcdBinary, [
      '--name=writegate',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=writegate=http://127.0.0.1:${peerPort}`,
      // A throwaway single-member store: durability buys nothing here.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], onLog && ((line) => onLog('etcd', line)));
    procs.push(etcd);
    await waitFor('real-kube: etcd', etcd, 30_000, async () => (await fetch(`${etcdUrl}/health`)).ok);

    const url = `https://127.0.0.1:${apiPort}`;
    const auditLogPath = options.auditLog ? join(dir, 'audit.log') : undefined;
    if (auditLogPath) {
      writeFileSync(join(dir, 'audit-policy.yaml'), stringify({
        apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'], rules: [{ level: 'Metadata' }],
      }));
    }
    const apiserver = supervise(kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'kas')}`,
      `--tls-cert-file=${join(dir, 'server.crt')}`,
      `--tls-private-key-file=${join(dir, 'server.key')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      '--authorization-mode=RBAC',
      // Off by default in the binary, on in kubeadm, kind and managed clusters; with it off the apiserver
      // rejects privileged containers itself (422) before any policy could.
      '--allow-privileged=true',
      // Needed for ServiceAccount tokens (TokenRequest) and the admission
      // plugin that mounts them; the issuer is the in-cluster default.
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // The "kubernetes" Service's Endpoints would carry the advertise
      // address, and 127.0.0.1 fails Endpoints validation (loopback), so the
      // reconciler would log an error every few seconds.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      ...(auditLogPath ? [`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${auditLogPath}`] : []),
    ], onLog && ((line) => onLog('kube-apiserver', line)));
    procs.push(apiserver);

    const tls = new Agent({ connect: { ca: readFileSync(join(dir, 'ca.crt')) } });
    agent = tls;
    const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string }> => {
      const res = await request(`${url}${path}`, {
        method,
        dispatcher: tls,
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    // /readyz includes the etcd check and the post-start hooks that create the
    // system namespaces, bootstrap RBAC roles and priority classes.
    await waitFor('real-kube: kube-apiserver', apiserver, 120_000, async () => (await call('GET', '/readyz')).status === 200);

    const ensure = async (path: string, object: { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, unknown>): Promise<void> => {
      const res = await call('POST', path, object);
      if (res.status !== 201 && res.status !== 409) {
        throw new Error(`real-kube: creating ${object.kind} ${object.metadata.name} failed (${res.status}): ${res.text}`);
      }
    };
    await ensure('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    await ensure('/api/v1/namespaces/default/serviceaccounts',
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    await ensure('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role',
      metadata: { name: RESTRICTED_ROLE.name }, rules: RESTRICTED_ROLE.rules,
    });
    await ensure('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
      metadata: { name: RESTRICTED_ROLE.name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: RESTRICTED_ROLE.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'restricted' }],
    });

    const caFile = join(dir, 'ca.crt');
    let kubeconfigs = 0;
    let certificates = 0;
    return {
      url,
      caFile,
      tokens,
      ...(auditLogPath ? { auditLogPath } : {}),
      async clientCertificate(user, groups = []) {
        const name = `client-${++certificates}`;
        const subject = `/CN=${user}${groups.map((g) => `/O=${g}`).join('')}`;
        await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', subject,
          '-CA', 'ca.crt', '-CAkey', 'ca.key', '-keyout', `${name}.key`, '-out', `${name}.crt`,
          '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=clientAuth');
        return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
      },
      kubeconfigFor(user, server = url) {
        const file = join(dir, `kubeconfig-${user}-${++kubeconfigs}.yaml`);
        writeFileSync(file, stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{
            name: 'real-kube',
            // The CA only applies to https; a plain-http gateway in front needs none.
            cluster: { server, ...(server.startsWith('https:') ? { 'certificate-authority': caFile } : {}) },
          }],
          users: [{ name: user, user: { token: tokens[user] } }],
          contexts: [{ name: user, context: { cluster: 'real-kube', user, namespace: 'default' } }],
          'current-context': user,
        }));
        return file;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
