/**
 * Terraform's Kubernetes provider (built from the Go module proxy by scripts/setup-terraform-providers.sh) through
 * the TLS gateway to a real kube-apiserver (test/real-kube/gateway-stack.ts: dry-run resolution, SelfSubjectReview
 * identity), judged by the shipped policies/kubernetes rules. Its typed resources create with protobuf bodies and
 * update with JSON patches, its kubernetes_manifest applies server-side (apply patches with a field manager), so
 * the policy sees objects the gateway resolved by dry run.
 *
 * Every HTTP request the provider sent is read from its own debug log (terraform-plugin-sdk's logging transport),
 * so "every write has its decision record" is checked against what the client sent, not what the gateway saw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { until } from '../helpers/wait.js';
import { startRealStack, type RealStack } from '../real-kube/gateway-stack.js';
import { workspace, type ProviderRequest, type TerraformRun, type Workspace } from './harness.js';

const MOUNT = '/k8s';
const READS = new Set(['GET', 'HEAD']);
const DECISION_ID = /\(decision ([0-9a-f-]{36})\)/g;
/** Each terraform run starts the provider (and, for an apply, twice); on the two shared cores a test took up to 8 s. */
const TEST_MS = 180_000;

/**
 * Terraform's error output with its whitespace collapsed: a diagnostic's detail text is wrapped at 78 columns
 * (without a terminal), breaking only at spaces; its summary line is not.
 */
const oneLine = (text: string): string => text.replace(/\s+/g, ' ');

describe('Terraform Kubernetes provider through the TLS gateway to a real kube-apiserver', () => {
  let s: RealStack;
  const workspaces: Workspace[] = [];

  /** A workspace with the provider pointed at the gateway's mount, trusting the gateway's CA, with the admin token. */
  const kubernetesWorkspace = (resources: string): Workspace => {
    const ws = workspace({ kubernetes: true, env: { TF_VAR_token: s.kube.tokens.admin } });
    workspaces.push(ws);
    ws.write('provider.tf', `
terraform {
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes" }
  }
}
variable "token" {
  type      = string
  sensitive = true
}
provider "kubernetes" {
  host                   = "${s.k8s}"
  cluster_ca_certificate = file(${JSON.stringify(s.certs.caCert)})
  token                  = var.token
}
`);
    ws.write('main.tf', resources);
    return ws;
  };

  /** Runs terraform and answers the run with the decisions the gateway logged meanwhile. */
  const terraform = async (ws: Workspace, ...args: string[]): Promise<{ run: TerraformRun; decisions: DecisionEvent[] }> => {
    const before = s.decisions().length;
    const run = await ws.run(args);
    return { run, decisions: s.decisions().slice(before) };
  };

  /** The provider's writes (anything but GET and HEAD), in the order it logged them. */
  const writesOf = (requests: ProviderRequest[]): ProviderRequest[] => requests.filter((r) => !READS.has(r.method));
  /** A request as "METHOD path?query", to compare what the provider sent with what the gateway recorded. */
  const line = (method: string, url: string): string => `${method} ${url}`;

  /**
   * Each write the provider sent has exactly one decision record, with its method and target, and there is no
   * other; reads have none. Terraform applies independent resources in parallel, so the order is not compared.
   */
  const expectEveryWriteDecided = (run: TerraformRun, decisions: DecisionEvent[]): DecisionEvent[] => {
    const writes = writesOf(run.requests);
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) expect(w.url.startsWith(`${MOUNT}/`), w.url).toBe(true);
    expect(decisions.map((d) => line(d.method, d.url)).sort())
      .toEqual(writes.map((w) => line(w.method, w.url.slice(MOUNT.length))).sort());
    return decisions;
  };

  /** The one decision about `path` (under the mount, without the query). */
  const decisionOn = (decisions: DecisionEvent[], path: string): DecisionEvent => {
    const found = decisions.filter((d) => d.url.split('?')[0] === path);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  /** What the apiserver stores, read past the gateway. */
  const stored = async (path: string): Promise<any> => {
    const res = await s.direct('GET', path);
    return res.status === 200 ? res.json : { status: res.status };
  };

  const deployment = (name: string, labels: Record<string, string>, image: string): string => `
resource "kubernetes_deployment_v1" "${name}" {
  metadata {
    name      = "${name}"
    namespace = "default"
    labels    = ${JSON.stringify(labels)}
  }
  spec {
    replicas = 1
    selector {
      match_labels = { app = "${name}" }
    }
    template {
      metadata {
        labels = { app = "${name}" }
      }
      spec {
        container {
          name  = "app"
          image = "${image}"
        }
      }
    }
  }
  # No controller-manager runs here: the Deployment never rolls out.
  wait_for_rollout = false
}
`;

  const configMap = (name: string, namespace: string, data: Record<string, string>): string => `
resource "kubernetes_config_map_v1" "${name}" {
  metadata {
    name      = "${name}"
    namespace = "${namespace}"
  }
  data = ${JSON.stringify(data)}
}
`;

  const manifest = (name: string, body: string): string => `
resource "kubernetes_manifest" "${name}" {
  manifest = ${body}
}
`;

  beforeAll(async () => {
    s = await startRealStack();
    for (const [path, body] of [
      ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production' } }],
      ['/api/v1/namespaces/production/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }],
    ] as const) {
      const res = await s.direct('POST', path, body);
      expect(res.status, res.text).toBe(201);
    }
  });

  afterAll(async () => {
    for (const ws of workspaces) ws.close();
    await s?.close();
  });

  it('an allowed plan applies (protobuf creates resolved by dry run), updates with a JSON patch and is destroyed, every write decided', async () => {
    const ws = kubernetesWorkspace(configMap('tf-settings', 'default', { tier: 'silver' })
      + deployment('tf-web', { owner: 'team-a', 'app.kubernetes.io/name': 'tf-web' }, 'nginx:1.27'));

    const create = await terraform(ws, 'apply', '-auto-approve');
    expect(create.run.code, create.run.stderr).toBe(0);
    expect(create.run.stdout).toContain('Apply complete! Resources: 2 added, 0 changed, 0 destroyed.');
    const created = expectEveryWriteDecided(create.run, create.decisions);
    expect(writesOf(create.run.requests).map((w) => [line(w.method, w.url), w.headers['content-type']]).sort()).toEqual([
      ['POST /k8s/api/v1/namespaces/default/configmaps', 'application/vnd.kubernetes.protobuf'],
      ['POST /k8s/apis/apps/v1/namespaces/default/deployments', 'application/vnd.kubernetes.protobuf'],
    ]);
    for (const d of created) expect(d.outcome).toBe('allowed');
    // The policy saw the objects the protobuf bodies decode to, as the apiserver then stored them.
    const cm = decisionOn(created, '/api/v1/namespaces/default/configmaps').input as any;
    expect(cm.request.object.data).toEqual((await stored('/api/v1/namespaces/default/configmaps/tf-settings')).data);
    const deploy = decisionOn(created, '/apis/apps/v1/namespaces/default/deployments').input as any;
    const storedDeploy = await stored('/apis/apps/v1/namespaces/default/deployments/tf-web');
    expect(deploy.request.object.metadata.labels).toEqual(storedDeploy.metadata.labels);
    expect(deploy.request.object.spec.template.spec.containers).toEqual(storedDeploy.spec.template.spec.containers);
    // And the gateway told the client what the apiserver answered.
    for (const d of created) {
      expect(s.upstreamEvents().find((u) => u.decision_id === d.decision_id)?.upstream_status).toBe(201);
    }

    ws.write('main.tf', configMap('tf-settings', 'default', { tier: 'gold' })
      + deployment('tf-web', { owner: 'team-a', 'app.kubernetes.io/name': 'tf-web' }, 'nginx:1.27'));
    const update = await terraform(ws, 'apply', '-auto-approve');
    expect(update.run.code, update.run.stderr).toBe(0);
    expect(update.run.stdout).toContain('Apply complete! Resources: 0 added, 1 changed, 0 destroyed.');
    const [patch] = expectEveryWriteDecided(update.run, update.decisions);
    expect(writesOf(update.run.requests).map((w) => [line(w.method, w.url), w.headers['content-type']])).toEqual([
      ['PATCH /k8s/api/v1/namespaces/default/configmaps/tf-settings', 'application/json-patch+json'],
    ]);
    // For a patch the policy sees the resulting object and the one it replaces.
    expect(patch).toMatchObject({ outcome: 'allowed', operation: 'UPDATE' });
    expect((patch!.input as any).request.object.data).toEqual({ tier: 'gold' });
    expect((patch!.input as any).request.oldObject.data).toEqual({ tier: 'silver' });
    expect((await stored('/api/v1/namespaces/default/configmaps/tf-settings')).data).toEqual({ tier: 'gold' });

    const destroy = await terraform(ws, 'destroy', '-auto-approve');
    expect(destroy.run.code, destroy.run.stderr).toBe(0);
    expect(destroy.run.stdout).toContain('Destroy complete! Resources: 2 destroyed.');
    const deleted = expectEveryWriteDecided(destroy.run, destroy.decisions);
    expect(deleted.map((d) => [d.method, d.outcome])).toEqual([['DELETE', 'allowed'], ['DELETE', 'allowed']]);
    expect((await stored('/api/v1/namespaces/default/configmaps/tf-settings')).status).toBe(404);
    expect((await stored('/apis/apps/v1/namespaces/default/deployments/tf-web')).status).toBe(404);

    // The provider's bearer token reaches no decision record.
    expect(JSON.stringify(s.decisions())).not.toContain(s.kube.tokens.admin);
  }, TEST_MS);

  it('a denied plan fails with the policy\'s reasons and the decision id in Terraform\'s error output, and stores nothing', async () => {
    const ws = kubernetesWorkspace(deployment('tf-unowned', { 'app.kubernetes.io/name': 'tf-unowned' }, 'nginx:latest'));
    const { run, decisions } = await terraform(ws, 'apply', '-auto-approve');
    expect(run.code).toBe(1);
    const error = run.stderr;
    expect(error).toContain('writegate denied the request:');
    expect(error).toContain('Deployment "tf-unowned" has no "owner" label: set metadata.labels.owner to the owning team [require-owner-label]');
    expect(error).toContain('container "app" uses image "nginx:latest": pin a tag or digest instead of :latest [no-latest-tag]');
    const [denied] = expectEveryWriteDecided(run, decisions);
    expect(denied).toMatchObject({ method: 'POST', outcome: 'denied', url: '/apis/apps/v1/namespaces/default/deployments' });
    // The provider got the 403 once: a denial is not retried.
    expect(writesOf(run.requests).map((w) => w.status)).toEqual([403]);
    expect(denied!.reasons.map((r) => r.match(/\[([a-z-]+)\]$/)?.[1]).sort()).toEqual(['no-latest-tag', 'require-owner-label']);
    // Terraform prints the id of that decision.
    expect([...error.matchAll(DECISION_ID)].map((m) => m[1])).toEqual([denied!.decision_id]);
    expect((await stored('/apis/apps/v1/namespaces/default/deployments/tf-unowned')).status).toBe(404);
  }, TEST_MS);

  it('terraform destroy of an object in a protected namespace is denied with the reasons; the object stays', async () => {
    const ws = kubernetesWorkspace(configMap('tf-ledger', 'production', { owner: 'payments' }));
    const apply = await terraform(ws, 'apply', '-auto-approve');
    expect(apply.run.code, apply.run.stderr).toBe(0);
    expect(expectEveryWriteDecided(apply.run, apply.decisions).map((d) => d.outcome)).toEqual(['allowed']);

    const { run, decisions } = await terraform(ws, 'destroy', '-auto-approve');
    expect(run.code).toBe(1);
    const error = run.stderr;
    expect(error).toContain('deleting configmaps "tf-ledger" in protected namespace "production" is not allowed [protected-namespace-delete]');
    const [denied] = expectEveryWriteDecided(run, decisions);
    expect(denied).toMatchObject({ method: 'DELETE', outcome: 'denied', url: '/api/v1/namespaces/production/configmaps/tf-ledger' });
    expect(writesOf(run.requests).map((w) => w.status)).toEqual([403]);
    expect([...error.matchAll(DECISION_ID)].map((m) => m[1])).toEqual([denied!.decision_id]);
    expect((await stored('/api/v1/namespaces/production/configmaps/tf-ledger')).data).toEqual({ owner: 'payments' });
  }, TEST_MS);

  it('kubernetes_manifest: server-side apply (apply-patch+yaml, fieldManager=Terraform) creating an object is judged as a create; a denied one fails with every reason', async () => {
    const ws = kubernetesWorkspace(manifest('tf-applied', `{
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "tf-applied", namespace = "default" }
    data       = { tier = "bronze" }
  }`) + manifest('tf-applied-web', `{
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata   = { name = "tf-applied-web", namespace = "default", labels = { "app.kubernetes.io/name" = "tf-applied-web" } }
    spec = {
      selector = { matchLabels = { app = "tf-applied-web" } }
      template = {
        metadata = { labels = { app = "tf-applied-web" } }
        spec     = { containers = [{ name = "app", image = "nginx" }] }
      }
    }
  }`));
    const { run, decisions } = await terraform(ws, 'apply', '-auto-approve');
    expect(run.code).toBe(1);
    expectEveryWriteDecided(run, decisions);
    const allowed = decisionOn(decisions, '/api/v1/namespaces/default/configmaps/tf-applied');
    const denied = decisionOn(decisions, '/apis/apps/v1/namespaces/default/deployments/tf-applied-web');
    expect(writesOf(run.requests).map((w) => [line(w.method, w.url), w.headers['content-type']]).sort()).toEqual([
      ['PATCH /k8s/api/v1/namespaces/default/configmaps/tf-applied?fieldManager=Terraform&force=false', 'application/apply-patch+yaml'],
      ['PATCH /k8s/apis/apps/v1/namespaces/default/deployments/tf-applied-web?fieldManager=Terraform&force=false', 'application/apply-patch+yaml'],
    ]);
    // An apply patch of an object that does not exist yet creates it: the dry run tells the gateway so.
    expect(allowed).toMatchObject({ outcome: 'allowed', operation: 'CREATE' });
    expect((allowed.input as any).request.options).toMatchObject({ kind: 'CreateOptions', fieldManager: 'Terraform' });
    expect((allowed.input as any).request.object.data).toEqual({ tier: 'bronze' });
    expect((await stored('/api/v1/namespaces/default/configmaps/tf-applied')).data).toEqual({ tier: 'bronze' });
    expect(denied).toMatchObject({ outcome: 'denied', operation: 'CREATE' });
    // This half of the provider prints the Status message and then each of its causes as an error of its own.
    const error = oneLine(run.stderr);
    expect(error).toContain(`writegate denied the request: Deployment "tf-applied-web" has no "owner" label`);
    expect(error).toContain('container "app" uses image "nginx" without a tag, which means :latest: pin a tag or digest [no-latest-tag]');
    expect([...error.matchAll(DECISION_ID)].map((m) => m[1])).toEqual([denied.decision_id]);
    expect((await stored('/apis/apps/v1/namespaces/default/deployments/tf-applied-web')).status).toBe(404);
  }, TEST_MS);

  it('kubernetes_manifest of a custom resource without a schema: the plan\'s dry-run apply (dryRun=All) is judged as a dry run, the apply creates, destroy in production is denied', async () => {
    const crd = await s.direct('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.writegate.dev' },
      spec: {
        group: 'example.writegate.dev',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        // No schema to speak of: the provider then cannot type the object from OpenAPI and dry-runs it at plan time
        // (manifest/provider/plan.go).
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    expect(crd.status, crd.text).toBe(201);
    const widgets = '/apis/example.writegate.dev/v1/namespaces/production/widgets';
    await until(async () => (await s.direct('GET', widgets)).status === 200, { timeoutMs: 30_000, what: 'the Widget resource served' });
    const ws = kubernetesWorkspace(manifest('tf-widget', `{
    apiVersion = "example.writegate.dev/v1"
    kind       = "Widget"
    metadata   = { name = "tf-widget", namespace = "production" }
    spec       = { size = 3 }
  }`));

    const plan = await terraform(ws, 'plan');
    expect(plan.run.code, plan.run.stderr).toBe(0);
    const [dryRun] = expectEveryWriteDecided(plan.run, plan.decisions);
    expect(dryRun).toMatchObject({ outcome: 'allowed', operation: 'CREATE', url: `${widgets}/tf-widget?dryRun=All&fieldManager=Terraform&force=false` });
    expect((dryRun!.input as any).request).toMatchObject({ dryRun: true, object: { spec: { size: 3 } } });
    expect((await stored(`${widgets}/tf-widget`)).status).toBe(404);

    const apply = await terraform(ws, 'apply', '-auto-approve');
    expect(apply.run.code, apply.run.stderr).toBe(0);
    const applied = expectEveryWriteDecided(apply.run, apply.decisions);
    // Terraform plans again before it applies (measured: two dry runs, then the apply patch).
    expect(applied.every((d) => d.outcome === 'allowed')).toBe(true);
    expect(applied.filter((d) => !(d.input as any).request.dryRun).map((d) => d.url)).toEqual([`${widgets}/tf-widget?fieldManager=Terraform&force=false`]);
    expect(applied.filter((d) => (d.input as any).request.dryRun).length).toBeGreaterThan(0);
    expect((await stored(`${widgets}/tf-widget`)).spec).toEqual({ size: 3 });

    const destroy = await terraform(ws, 'destroy', '-auto-approve');
    expect(destroy.run.code).toBe(1);
    const denied = expectEveryWriteDecided(destroy.run, destroy.decisions).filter((d) => d.outcome === 'denied');
    expect(denied).toEqual([expect.objectContaining({ method: 'DELETE', url: `${widgets}/tf-widget` })]);
    expect(oneLine(destroy.run.stderr)).toContain('deleting widgets "tf-widget" in protected namespace "production" is not allowed [protected-namespace-delete]');
    expect((await stored(`${widgets}/tf-widget`)).spec).toEqual({ size: 3 });
  }, TEST_MS);
});
