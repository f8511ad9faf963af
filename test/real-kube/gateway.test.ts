import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { encodeKubeProtobuf, KUBE_PROTOBUF_CONTENT_TYPE } from '../../src/upstreams/kubernetes/protobuf.js';
import { startRealStack, type RealStack } from './gateway-stack.js';
import type { RealKubeUser } from './harness.js';

const BIN = '/usr/lib/google-cloud-sdk/bin';
const VERSIONS = ['1.29', '1.32'] as const;
type Version = (typeof VERSIONS)[number];

interface Result { code: number; stdout: string; stderr: string }

/** Fields the apiserver sets on every write that the policy cannot know in advance (a dry-run create gets its own uid). */
const SERVER_SET = ['resourceVersion', 'managedFields', 'creationTimestamp', 'generation', 'uid'];

/** A copy without server-set metadata and without any timestamp (pod templates carry `creationTimestamp: null`). */
function comparable(obj: unknown): unknown {
  const strip = (v: unknown, top: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x) => strip(x, false));
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'creationTimestamp' || k.endsWith('Timestamp') || k === 'time') continue;
      if (top && k === 'metadata' && typeof x === 'object' && x !== null) {
        out[k] = strip(Object.fromEntries(Object.entries(x).filter(([mk]) => !SERVER_SET.includes(mk))), false);
      } else {
        out[k] = strip(x, false);
      }
    }
    return out;
  };
  return strip(obj, true);
}

/** Secrets are masked in the decision log: compare everything but the values, and the keys of the data. */
function withoutSecretValues(obj: any): any {
  const { data, stringData: _s, ...rest } = obj;
  return { ...rest, dataKeys: Object.keys(data ?? {}).sort() };
}

function deployment(name: string, image: string, opts: { owner?: boolean; privileged?: boolean; namespace?: string } = {}): string {
  const { owner = true, privileged = false } = opts;
  return [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `  name: ${name}`,
    ...(opts.namespace ? [`  namespace: ${opts.namespace}`] : []),
    '  labels:', `    app.kubernetes.io/name: ${name}`, ...(owner ? ['    owner: team-a'] : []),
    'spec:', '  replicas: 1', '  selector:', `    matchLabels: {app: ${name}}`, '  template:', '    metadata:',
    `      labels: {app: ${name}}`, '    spec:', '      containers:', '      - name: app', `        image: ${image}`,
    ...(privileged ? ['        securityContext: {privileged: true}'] : []), '',
  ].join('\n');
}

describe('writegate in front of a real kube-apiserver (etcd, RBAC, static tokens)', () => {
  let s: RealStack;
  let work: string;
  const kubeconfigs = new Map<string, string>();

  const file = (name: string, text: string): string => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };

  /** A kubeconfig for `user` pointing at the gateway's mount (with the gateway's CA) or at the apiserver. */
  const kubeconfigOf = (user: RealKubeUser, target: 'gateway' | 'apiserver'): string => {
    const key = `${user}-${target}`;
    let kubeconfig = kubeconfigs.get(key);
    if (!kubeconfig) {
      kubeconfig = target === 'apiserver' ? s.kube.kubeconfigFor(user) : file(`kubeconfig-${key}`, [
        'apiVersion: v1', 'kind: Config', 'current-context: wg',
        'clusters:', '- name: wg', '  cluster:', `    server: ${s.k8s}`, `    certificate-authority: ${s.certs.caCert}`,
        'users:', `- name: ${user}`, '  user:', `    token: ${s.kube.tokens[user]}`,
        'contexts:', '- name: wg', `  context: {cluster: wg, user: ${user}, namespace: default}`, '',
      ].join('\n'));
      kubeconfigs.set(key, kubeconfig);
    }
    return kubeconfig;
  };

  /** kubectl `version` as `user`, through the gateway or straight at the apiserver, with its own discovery cache. */
  const kubectl = (version: Version, user: RealKubeUser, args: string[], target: 'gateway' | 'apiserver' = 'gateway'): Promise<Result> => {
    const kubeconfig = kubeconfigOf(user, target);
    return new Promise((resolve) => {
      execFile(`${BIN}/kubectl.${version}`, ['--kubeconfig', kubeconfig, '--cache-dir', join(work, `cache-${version}-${user}-${target}`), ...args],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
    });
  };

  /** Runs `action` and returns its result with the decisions the gateway logged meanwhile. */
  const decided = async <T>(action: () => Promise<T>): Promise<{ result: T; events: DecisionEvent[] }> => {
    const before = s.decisions().length;
    const result = await action();
    return { result, events: s.decisions().slice(before) };
  };

  /** The object as the apiserver stores it, read with the admin token straight from the apiserver. */
  const stored = async (path: string): Promise<any> => {
    const res = await s.direct('GET', path);
    return res.status === 200 ? res.json : { status: res.status };
  };

  /** The one decision of a command, with the object the policy saw equal to what was stored afterwards. */
  const expectSawStored = async (events: DecisionEvent[], path: string, compare: (o: any) => unknown = (o) => o): Promise<any> => {
    expect(events.map((e) => e.outcome)).toEqual(['allowed']);
    const seen = (events[0]!.input as any).request.object;
    const now = await stored(path);
    expect(compare(comparable(seen))).toEqual(compare(comparable(now)));
    return events[0]!.input as any;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'writegate-real-e2e-'));
    s = await startRealStack();
    // Set up with the admin token directly against the apiserver: a protected namespace with something to
    // delete, and pods to exec into. Without a scheduler they stay Pending, without a node.
    const setup: Array<[string, unknown]> = [
      ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production' } }],
      ['/api/v1/namespaces/production/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }],
      ['/api/v1/namespaces/production/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { tier: 'gold' } }],
      ['/api/v1/namespaces/production/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vault-0' }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } }],
      ['/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shell-0' }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } }],
    ];
    for (const [path, body] of setup) {
      const res = await s.direct('POST', path, body);
      expect(res.status, res.text).toBe(201);
    }
  });

  afterAll(async () => {
    await s?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe.each(VERSIONS)('kubectl %s', (version) => {
    const v = version.replace('.', '-');
    const k = (...args: string[]): Promise<Result> => kubectl(version, 'admin', args);

    it('client-side apply: create (POST) and update (strategic merge PATCH) are stored as the policy saw them; denied updates store nothing', async () => {
      const name = `csa-${v}`;
      const path = `/apis/apps/v1/namespaces/default/deployments/${name}`;
      const create = await decided(() => k('apply', '-f', file(`${name}.yaml`, deployment(name, 'nginx:1.27'))));
      expect(create.result.code, create.result.stderr).toBe(0);
      expect(create.result.stdout).toBe(`deployment.apps/${name} created\n`);
      expect(create.events.map((e) => [e.method, e.outcome, (e.input as any).headers['content-type']]))
        .toEqual([['POST', 'allowed', 'application/json']]);
      // A JSON create is resolved by a dry run too (kubernetes.dryRunWrites): the policy saw the object as stored,
      // the apiserver's defaults (e.g. spec.strategy) included.
      await expectSawStored(create.events, path);

      const update = await decided(() => k('apply', '-f', file(`${name}.yaml`, deployment(name, 'nginx:1.28'))));
      expect(update.result.code, update.result.stderr).toBe(0);
      expect(update.result.stdout).toBe(`deployment.apps/${name} configured\n`);
      const input = await expectSawStored(update.events, path);
      expect(input.headers['content-type']).toBe('application/strategic-merge-patch+json');
      expect(input.request.operation).toBe('UPDATE');
      expect(input.request.oldObject.spec.template.spec.containers[0].image).toBe('nginx:1.27');
      expect(input.request.object.spec.template.spec.containers[0].image).toBe('nginx:1.28');

      const before = await stored(path);
      for (const [manifest, rule] of [
        [deployment(name, 'nginx:latest'), 'no-latest-tag'],
        [deployment(name, 'nginx:1.28', { privileged: true }), 'no-privileged-containers'],
        [deployment(name, 'nginx:1.28', { owner: false }), 'require-owner-label'],
      ] as const) {
        const denied = await decided(() => k('apply', '-f', file(`${name}-bad.yaml`, manifest)));
        expect(denied.result.code).toBe(1);
        expect(denied.result.stderr).toContain('Error from server (Forbidden)');
        expect(denied.result.stderr).toContain(`writegate denied the request: `);
        expect(denied.result.stderr).toContain(`[${rule}]`);
        expect(denied.events).toHaveLength(1);
        expect(denied.events[0]).toMatchObject({ method: 'PATCH', outcome: 'denied' });
        expect(denied.result.stderr).toContain(`(decision ${denied.events[0]!.decision_id})`);
        expect(denied.events[0]!.reasons.some((r) => r.endsWith(`[${rule}]`))).toBe(true);
      }
      expect((await stored(path)).metadata.resourceVersion).toBe(before.metadata.resourceVersion);

      const deniedCreate = await decided(() => k('apply', '-f', file(`${name}-new.yaml`, deployment(`${name}-new`, 'nginx:1.27', { owner: false }))));
      expect(deniedCreate.result.code).toBe(1);
      expect(deniedCreate.result.stderr).toContain('Error from server (Forbidden)');
      expect(deniedCreate.result.stderr).toContain('[require-owner-label]');
      expect(deniedCreate.events.map((e) => [e.method, e.outcome])).toEqual([['POST', 'denied']]);
      expect(await stored(`${path}-new`)).toEqual({ status: 404 });
    });

    it('server-side apply (apply-patch+yaml): a create and an update are stored as the policy saw them; a denied one is not', async () => {
      const name = `ssa-${v}`;
      const path = `/apis/apps/v1/namespaces/default/deployments/${name}`;
      const create = await decided(() => k('apply', '--server-side', '-f', file(`${name}.yaml`, deployment(name, 'nginx:1.27'))));
      expect(create.result.code, create.result.stderr).toBe(0);
      expect(create.result.stdout).toBe(`deployment.apps/${name} serverside-applied\n`);
      const created = await expectSawStored(create.events, path);
      expect(created.headers['content-type']).toBe('application/apply-patch+yaml');
      // The apiserver admits a patch that creates its object as a CREATE with CreateOptions.
      expect(created.request).toMatchObject({ operation: 'CREATE', oldObject: null, options: { kind: 'CreateOptions', fieldManager: 'kubectl' } });
      expect(create.events[0]!.operation).toBe('CREATE');

      const update = await decided(() => k('apply', '--server-side', '-f', file(`${name}.yaml`, deployment(name, 'nginx:1.28'))));
      expect(update.result.code, update.result.stderr).toBe(0);
      const updated = await expectSawStored(update.events, path);
      expect(updated.request).toMatchObject({ operation: 'UPDATE', options: { kind: 'PatchOptions', fieldManager: 'kubectl' } });
      expect(updated.request.object.spec.template.spec.containers[0].image).toBe('nginx:1.28');

      const denied = await decided(() => k('apply', '--server-side', '-f', file(`${name}.yaml`, deployment(name, 'nginx:1.28', { privileged: true }))));
      expect(denied.result.code).toBe(1);
      expect(denied.result.stderr).toContain('Error from server (Forbidden)');
      expect(denied.result.stderr).toContain('[no-privileged-containers]');
      expect(denied.events.map((e) => e.outcome)).toEqual(['denied']);
      expect((await stored(path)).spec.template.spec.containers[0].securityContext).toBeUndefined();
    });

    it('kubectl patch --type=merge|json|strategic: each allowed patch is stored as the policy saw it; each denied one is not', async () => {
      const name = `patched-${v}`;
      const path = `/apis/apps/v1/namespaces/default/deployments/${name}`;
      expect((await k('apply', '-f', file(`${name}.yaml`, deployment(name, 'nginx:1.27')))).code).toBe(0);
      const container = (image: string, extra: Record<string, unknown> = {}) => ({ spec: { template: { spec: { containers: [{ name: 'app', image, ...extra }] } } } });
      const cases = [
        ['merge', 'application/merge-patch+json', container('nginx:1.28'), container('nginx:latest')],
        ['strategic', 'application/strategic-merge-patch+json', container('nginx:1.29'), container('nginx:1.29', { securityContext: { privileged: true } })],
        ['json', 'application/json-patch+json',
          [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.30' }],
          [{ op: 'remove', path: '/metadata/labels/owner' }]],
      ] as const;
      for (const [type, contentType, good, bad] of cases) {
        const ok = await decided(() => k('patch', 'deployment', name, `--type=${type}`, '-p', JSON.stringify(good)));
        expect(ok.result.code, ok.result.stderr).toBe(0);
        expect(ok.result.stdout).toBe(`deployment.apps/${name} patched\n`);
        const input = await expectSawStored(ok.events, path);
        expect(input.headers['content-type']).toBe(contentType);
        expect(input.request).toMatchObject({ operation: 'UPDATE', options: { kind: 'PatchOptions' } });

        const before = await stored(path);
        const no = await decided(() => k('patch', 'deployment', name, `--type=${type}`, '-p', JSON.stringify(bad)));
        expect(no.result.code).toBe(1);
        expect(no.result.stderr).toMatch(/^Error from server \(Forbidden\): writegate denied the request: /);
        expect(no.events.map((e) => [e.outcome, (e.input as any).headers['content-type']])).toEqual([['denied', contentType]]);
        expect(no.events[0]!.reasons.join('\n')).toMatch(/\[(no-latest-tag|no-privileged-containers|require-owner-label)\]/);
        expect(await stored(path)).toEqual(before);
      }
      expect((await stored(path)).spec.template.spec.containers[0].image).toBe('nginx:1.30');
    });

    it(`create configmap|secret|namespace (${version === '1.32' ? 'protobuf' : 'JSON'} bodies) are allowed and stored as the policy saw them`, async () => {
      const body = version === '1.32' ? KUBE_PROTOBUF_CONTENT_TYPE : 'application/json';
      const cm = await decided(() => k('create', 'configmap', `cm-${v}`, '--from-literal=colour=blue'));
      expect(cm.result).toEqual({ code: 0, stdout: `configmap/cm-${v} created\n`, stderr: '' });
      const cmInput = await expectSawStored(cm.events, `/api/v1/namespaces/default/configmaps/cm-${v}`);
      expect(cmInput.headers['content-type']).toBe(body);
      expect(cmInput.request.object.data).toEqual({ colour: 'blue' });

      const secret = await decided(() => k('create', 'secret', 'generic', `secret-${v}`, '--from-literal=password=hunter2'));
      expect(secret.result).toEqual({ code: 0, stdout: `secret/secret-${v} created\n`, stderr: '' });
      const secretPath = `/api/v1/namespaces/default/secrets/secret-${v}`;
      // Protobuf and JSON creates alike are resolved by a dry run: `type: Opaque` is in what the policy saw.
      const secretInput = await expectSawStored(secret.events, secretPath, withoutSecretValues);
      expect(secretInput.request.object.type).toBe('Opaque');
      expect(secretInput.headers['content-type']).toBe(body);
      expect(secretInput.request.object.data).toEqual({ password: '**masked**' });
      expect(JSON.stringify(secret.events)).not.toContain(Buffer.from('hunter2').toString('base64'));
      expect((await stored(secretPath)).data).toEqual({ password: Buffer.from('hunter2').toString('base64') });

      const ns = await decided(() => k('create', 'namespace', `team-${v}`));
      expect(ns.result).toEqual({ code: 0, stdout: `namespace/team-${v} created\n`, stderr: '' });
      const nsInput = await expectSawStored(ns.events, `/api/v1/namespaces/team-${v}`);
      expect(nsInput.headers['content-type']).toBe(body);
    });

    it('create deployment with nginx:latest is denied with the policy\'s reasons, decided on the decoded object', async () => {
      const name = `latest-${v}`;
      const r = await decided(() => k('create', 'deployment', name, '--image=nginx:latest'));
      expect(r.result.code).toBe(1);
      // kubectl create prints its own prefix before the Status message.
      expect(r.result.stderr).toContain(`error: failed to create deployment: writegate denied the request: Deployment "${name}" has no "owner" label`);
      expect(r.result.stderr).toContain('container "nginx" uses image "nginx:latest": pin a tag or digest instead of :latest [no-latest-tag]');
      expect(r.result.stderr).toContain('Warning: Deployment');
      expect(r.result.stderr).toContain('[recommend-app-name-label]');
      expect(r.events).toHaveLength(1);
      const event = r.events[0]!;
      expect(event.outcome).toBe('denied');
      expect(event.reasons.map((m) => /\[([a-z-]+)\]$/.exec(m)?.[1]).sort()).toEqual(['no-latest-tag', 'require-owner-label']);
      const input = event.input as any;
      expect(input.headers['content-type']).toBe(version === '1.32' ? KUBE_PROTOBUF_CONTENT_TYPE : 'application/json');
      expect(input.request).toMatchObject({ operation: 'CREATE', name, namespace: 'default', kind: { group: 'apps', version: 'v1', kind: 'Deployment' } });
      expect(input.request.object).toMatchObject({
        kind: 'Deployment',
        metadata: { name, namespace: 'default', labels: { app: name } },
        spec: { replicas: 1, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:latest' }] } } },
      });
      if (version === '1.32') {
        // Decoded by the apiserver's dry run: its defaults are there.
        expect(input.request.object.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
      }
      expect(await stored(`/apis/apps/v1/namespaces/default/deployments/${name}`)).toEqual({ status: 404 });
    });

    it('delete is allowed in default and denied in production', async () => {
      const path = `/api/v1/namespaces/default/configmaps/cm-${v}`;
      const ok = await decided(() => k('delete', 'configmap', `cm-${v}`));
      expect(ok.result).toEqual({ code: 0, stdout: `configmap "cm-${v}" deleted\n`, stderr: '' });
      expect(ok.events.map((e) => [e.method, e.outcome])).toEqual([['DELETE', 'allowed']]);
      expect((ok.events[0]!.input as any).request).toMatchObject({ operation: 'DELETE', object: null, oldObject: { data: { colour: 'blue' } } });
      expect(await stored(path)).toEqual({ status: 404 });

      const before = await stored('/api/v1/namespaces/production/configmaps/settings');
      const no = await decided(() => k('-n', 'production', 'delete', 'configmap', 'settings'));
      expect(no.result.code).toBe(1);
      expect(no.result.stderr).toMatch(/^Error from server \(Forbidden\): writegate denied the request: .*\[protected-namespace-delete\] \(decision [0-9a-f-]{36}\)\n$/);
      expect(no.events.map((e) => [e.method, e.outcome])).toEqual([['DELETE', 'denied']]);
      expect(await stored('/api/v1/namespaces/production/configmaps/settings')).toEqual(before);
    });

    it('apply --dry-run=server shows the gate\'s verdict and stores nothing', async () => {
      const name = `csa-${v}`;
      const path = `/apis/apps/v1/namespaces/default/deployments/${name}`;
      const before = await stored(path);
      const ok = await decided(() => k('apply', '--dry-run=server', '-f', file(`${name}-dry.yaml`, deployment(name, 'nginx:1.29'))));
      expect(ok.result).toEqual({ code: 0, stdout: `deployment.apps/${name} configured (server dry run)\n`, stderr: '' });
      expect(ok.events.map((e) => e.outcome)).toEqual(['allowed']);
      expect((ok.events[0]!.input as any).request).toMatchObject({ dryRun: true, object: { spec: { template: { spec: { containers: [{ image: 'nginx:1.29' }] } } } } });

      const no = await decided(() => k('apply', '--dry-run=server', '-f', file(`${name}-dry.yaml`, deployment(name, 'busybox'))));
      expect(no.result.code).toBe(1);
      expect(no.result.stderr).toContain('Error from server (Forbidden)');
      expect(no.result.stderr).toContain('writegate denied the request: container "app" uses image "busybox" without a tag, which means :latest: pin a tag or digest [no-latest-tag]');
      expect(no.events.map((e) => [e.outcome, (e.input as any).request.dryRun])).toEqual([['denied', true]]);
      expect(await stored(path)).toEqual(before);
    });

    it('get -w streams through the gateway: a configmap created while the watch runs shows up', async () => {
      const name = `watched-${v}`;
      const seed = await s.direct('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `seed-${v}` } });
      expect(seed.status).toBe(201);
      const child = spawn(`${BIN}/kubectl.${version}`, [
        '--kubeconfig', kubeconfigOf('admin', 'gateway'), '--cache-dir', join(work, `cache-${version}-watch`),
        'get', 'configmaps', '-w', '--output-watch-events', '--request-timeout=30s',
      ]);
      let out = '';
      const seen = (text: string) => new Promise<void>((resolve, reject) => {
        const check = () => { if (out.includes(text)) { child.stdout.off('data', check); resolve(); } };
        child.stdout.on('data', check);
        child.once('exit', (code) => reject(new Error(`kubectl exited (${code}) before "${text}":\n${out}`)));
        check();
      });
      child.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
      try {
        // kubectl lists, then watches from the list's resourceVersion: once the list is printed, every later
        // change reaches the output.
        await seen(`seed-${v}`);
        const created = await k('create', 'configmap', name, '--from-literal=seen=yes');
        expect(created.code, created.stderr).toBe(0);
        await seen(name);
        expect(out).toMatch(new RegExp(`ADDED\\s+${name}\\s+1\\s`));
      } finally {
        const exited = child.exitCode === null && child.signalCode === null ? once(child, 'exit') : Promise.resolve();
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('an RBAC denial by the apiserver comes back unchanged, and the decision log records it', async () => {
      const args = ['create', 'secret', 'generic', `rbac-${v}`, '--from-literal=a=b'];
      const direct = await kubectl(version, 'restricted', args, 'apiserver');
      const through = await decided(() => kubectl(version, 'restricted', args));
      expect(direct.code).toBe(1);
      expect(direct.stderr).toBe(`error: failed to create secret secrets is forbidden: User "restricted" cannot create resource "secrets" in API group "" in the namespace "default"\n`);
      expect(through.result).toEqual(direct);
      expect(through.events).toHaveLength(1);
      const event = through.events[0]!;
      // A create (protobuf for 1.32, JSON for 1.29) is resolved by a dry run with the caller's token; the apiserver
      // refused it and its answer went back instead of a decision.
      expect(event).toMatchObject({ outcome: 'error', error: { code: 'WG_ERR_RESOLVE_FAILED' } });
      expect(event.error!.message).toContain('answered 403');
      expect(await stored(`/api/v1/namespaces/default/secrets/rbac-${v}`)).toEqual({ status: 404 });
    });

    it('exec is gated: allowed ends with the apiserver\'s own error (no node), denied with the gate\'s 403', async () => {
      const direct = await kubectl(version, 'admin', ['exec', 'shell-0', '--', 'ls'], 'apiserver');
      expect(direct).toEqual({ code: 1, stdout: '', stderr: 'Error from server (BadRequest): pod shell-0 does not have a host assigned\n' });
      const allowed = await decided(() => k('exec', 'shell-0', '--', 'ls'));
      expect(allowed.result).toEqual(direct);
      // kubectl 1.29 speaks SPDY (POST); 1.32 tries WebSocket (GET) first, then falls back to SPDY.
      expect(allowed.events.map((e) => [e.method, e.outcome])).toEqual(version === '1.32'
        ? [['GET', 'allowed'], ['POST', 'allowed']]
        : [['POST', 'allowed']]);
      for (const e of allowed.events) {
        expect((e.input as any).request).toMatchObject({ operation: 'CONNECT', subResource: 'exec', object: { kind: 'PodExecOptions', command: ['ls'] } });
        expect(s.upstreamEvents().find((u) => u.decision_id === e.decision_id)?.upstream_status).toBe(400);
      }

      const denied = await decided(() => k('-n', 'production', 'exec', 'vault-0', '--', 'ls'));
      expect(denied.result.code).toBe(1);
      expect(denied.result.stderr).toMatch(
        /^Error from server \(Forbidden\): writegate denied the request: exec into pods "vault-0" in protected namespace "production" is not allowed \[protected-namespace-connect\] \(decision [0-9a-f-]{36}\)\n$/,
      );
      expect(denied.events.length).toBeGreaterThan(0);
      for (const e of denied.events) {
        expect(e.outcome).toBe('denied');
        expect(s.upstreamEvents().some((u) => u.decision_id === e.decision_id)).toBe(false);
      }
    });

    it('create (JSON or protobuf) and replace (PUT) of a ConfigMap: the policy saw exactly what was stored', async () => {
      const name = `put-${v}`;
      const path = `/api/v1/namespaces/default/configmaps/${name}`;
      const manifest = (data: string) => file(`${name}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels: {team: a}\ndata:\n  ${data}\n`);
      const create = await decided(() => k('create', '-f', manifest('k: one')));
      expect(create.result.stdout).toBe(`configmap/${name} created\n`);
      const createInput = await expectSawStored(create.events, path);
      expect(createInput.request.operation).toBe('CREATE');
      const put = await decided(() => k('replace', '-f', manifest('k: two')));
      expect(put.result.stdout).toBe(`configmap/${name} replaced\n`);
      const putInput = await expectSawStored(put.events, path);
      expect(put.events[0]!.method).toBe('PUT');
      expect(putInput.request).toMatchObject({ operation: 'UPDATE', options: { kind: 'UpdateOptions' }, oldObject: { data: { k: 'one' } }, object: { data: { k: 'two' } } });
    });
  });

  it('the raw 403 of an RBAC denial keeps the apiserver\'s status and body, byte for byte, for a JSON and a protobuf body', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'raw-rbac' }, data: { a: Buffer.from('b').toString('base64') } };
    const path = '/api/v1/namespaces/default/secrets';
    for (const [body, type] of [[JSON.stringify(secret), 'application/json'], [encodeKubeProtobuf(secret).toString('latin1'), KUBE_PROTOBUF_CONTENT_TYPE]] as const) {
      const raw = type === KUBE_PROTOBUF_CONTENT_TYPE ? Buffer.from(body, 'latin1') : body;
      const direct = await s.direct('POST', path, raw, 'restricted', type);
      const through = await s.viaGateway('POST', path, raw, 'restricted', type);
      expect(direct.status).toBe(403);
      expect(direct.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      const mediaType = (h: unknown) => String(h).split(';')[0];
      expect({ status: through.status, text: through.text, type: mediaType(through.headers['content-type']) })
        .toEqual({ status: direct.status, text: direct.text, type: mediaType(direct.headers['content-type']) });
      expect(through.headers['x-decision-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('a TokenRequest dry run would mint a real token: the gateway never puts one in the policy input or the logs', async () => {
    const r = await decided(() => kubectl('1.32', 'admin', ['create', 'token', 'default']));
    expect(r.result.code, r.result.stderr).toBe(0);
    const token = r.result.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    expect(r.events).toHaveLength(1);
    const input = r.events[0]!.input as any;
    expect(input.headers['content-type']).toBe(KUBE_PROTOBUF_CONTENT_TYPE);
    expect(input.request).toMatchObject({ operation: 'CREATE', subResource: 'token', kind: { kind: 'TokenRequest' } });
    expect(input.request.object.status).toBeUndefined();
    const logged = JSON.stringify(r.events);
    expect(logged).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    expect(logged).not.toContain(token.split('.')[2]);
  });

  describe('@kubernetes/client-node', () => {
    let core: CoreV1Api;
    let apps: AppsV1Api;
    beforeAll(() => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'wg', server: s.k8s, caFile: s.certs.caCert, skipTLSVerify: false }],
        users: [{ name: 'admin', token: s.kube.tokens.admin }],
        contexts: [{ name: 'wg', cluster: 'wg', user: 'admin', namespace: 'default' }],
        currentContext: 'wg',
      });
      core = kc.makeApiClient(CoreV1Api);
      apps = kc.makeApiClient(AppsV1Api);
    });

    it('creates a ConfigMap (allowed) and stores what the policy saw', async () => {
      const r = await decided(() => core.createNamespacedConfigMap({
        namespace: 'default',
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-node' }, data: { client: 'node' } },
      }));
      expect(r.result.metadata?.uid).toBeDefined();
      expect(r.result.data).toEqual({ client: 'node' });
      const input = await expectSawStored(r.events, '/api/v1/namespaces/default/configmaps/from-node');
      expect(input.headers['user-agent']).toMatch(/kubernetes-client|node/i);
    });

    it('a Deployment with :latest is denied: HTTP 403 with the Status message', async () => {
      const err = await apps.createNamespacedDeployment({
        namespace: 'default',
        body: {
          apiVersion: 'apps/v1', kind: 'Deployment',
          metadata: { name: 'node-latest', labels: { owner: 'team-a', 'app.kubernetes.io/name': 'node-latest' } },
          spec: {
            selector: { matchLabels: { app: 'n' } },
            template: { metadata: { labels: { app: 'n' } }, spec: { containers: [{ name: 'app', image: 'nginx:latest' }] } },
          },
        },
      }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ApiException);
      const e = err as ApiException<string>;
      expect(e.code).toBe(403);
      const status = JSON.parse(e.body) as { kind: string; reason: string; message: string; code: number };
      expect(status).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      expect(status.message).toMatch(/^writegate denied the request: container "app" uses image "nginx:latest": pin a tag or digest instead of :latest \[no-latest-tag\] \(decision [0-9a-f-]{36}\)$/);
      expect(await stored('/apis/apps/v1/namespaces/default/deployments/node-latest')).toEqual({ status: 404 });
    });

    it('patches with a merge patch, stored as the policy saw it', async () => {
      const r = await decided(() => core.patchNamespacedConfigMap(
        { name: 'from-node', namespace: 'default', body: { data: { patched: 'yes' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ));
      expect(r.result.data).toEqual({ client: 'node', patched: 'yes' });
      const input = await expectSawStored(r.events, '/api/v1/namespaces/default/configmaps/from-node');
      expect(input.headers['content-type']).toBe('application/merge-patch+json');
      expect(input.request.oldObject.data).toEqual({ client: 'node' });
    });
  });
});
