/**
 * `writegate audit` end to end: a real kube-apiserver, a real NetBox, the Cloudflare simulator, a Terraform state
 * made by a real `terraform apply` (offline) and IAM on moto, each seeded with violations beside clean objects. The
 * compiled CLI reads every source directly with the held credentials of a gateway configuration and a local OPA
 * on policies/; each finding must carry a decision id that OPA's own decision log (kept beside the report) records
 * for that object.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import type { AuditReport } from '../../src/audit/report.js';
import { projectRoot } from '../../src/opa/binary.js';
import { freePort } from '../../src/net.js';
import { awsCli, startMoto, type Moto } from '../aws/harness.js';
import { authorization, SEED, startNetBox, type NetBox } from '../netbox/harness.js';
import { startRealKube, type RealKube } from '../real-kube/harness.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');

interface CliResult { code: number; stdout: string; stderr: string }

async function audit(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'audit', ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

interface LoggedDecision { path: string; input?: { address?: string; source?: string; operation?: string; object?: unknown } }

/** OPA's decision-log records beside a report, by decision id. */
function decisionLog(dir: string): Map<string, LoggedDecision> {
  const out = new Map<string, LoggedDecision>();
  for (const line of readFileSync(join(dir, 'opa-decisions.log'), 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as LoggedDecision & { decision_id: string };
    out.set(r.decision_id, r);
  }
  return out;
}

/** Every violation of `report` names an evaluation of its own object that OPA logged under its decision id. */
function expectTraceable(report: AuditReport, dir: string): void {
  const log = decisionLog(dir);
  for (const v of report.violations) {
    expect(v.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    const record = log.get(v.decision_id);
    expect(record, `${v.address} ${v.rule}: ${v.decision_id} in OPA's decision log`).toBeDefined();
    expect(record!.path).toBe(`writegate/${v.source}/audit/violations`);
    expect(record!.input).toMatchObject({ operation: 'AUDIT', source: v.source, address: v.address });
  }
}

/** What the tests list in Kubernetes: Secrets too, whose values must reach neither OPA nor its log. */
const KUBE_RESOURCES = ['v1/namespaces', 'v1/pods', 'v1/secrets', 'apps/v1/deployments'];
const SECRET_VALUE = 'hunter2-audit-secret-value';
/** A device name that is markup: the HTML report must show it, not run it. */
const MARKUP_NAME = 'Core Router <script>alert(1)</script>';

const findings = (report: AuditReport, source: string): string[] =>
  report.violations.filter((v) => v.source === source).map((v) => `${v.address} ${v.rule}`).sort();

describe('writegate audit against real upstreams', () => {
  let work: string;
  let kube: RealKube;
  let netbox: NetBox;
  let cf: CloudflareSim;
  let moto: Moto;
  let kubeAgent: Agent;
  let stateFile: string;
  let deployKeys: string[];

  async function kubeApply(path: string, body: object): Promise<void> {
    const res = await request(`${kube.url}${path}`, {
      method: 'POST', dispatcher: kubeAgent, body: JSON.stringify(body),
      headers: { authorization: `Bearer ${kube.tokens.admin}`, 'content-type': 'application/json' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`POST ${path}: ${res.statusCode} ${text}`);
  }

  async function netboxCreate(path: string, body: object): Promise<void> {
    const res = await fetch(`${netbox.url}${path}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { authorization: authorization(netbox.tokens.admin.v2), 'content-type': 'application/json', accept: 'application/json' },
    });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  }

  async function cfCreate(sim: CloudflareSim, record: object): Promise<string> {
    const res = await fetch(`${sim.apiUrl}/zones/${SEED_IDS.zone}/dns_records`, {
      method: 'POST', body: JSON.stringify(record), headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
    });
    const body = await res.json() as { result: { id: string } };
    if (res.status !== 200) throw new Error(`create record: ${res.status} ${JSON.stringify(body)}`);
    return body.result.id;
  }

  /** A gateway configuration whose upstreams hold their credentials, as `writegate serve` would take it. */
  function config(name: string, upstreams: object[]): string {
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, stringify({ opa: { policies: [join(root, 'policies')] }, audit: { pageSize: 2, kubernetes: { resources: KUBE_RESOURCES } }, upstreams }));
    return file;
  }

  const secret = (name: string, value: string): string => {
    const file = join(work, name);
    writeFileSync(file, `${value}\n`);
    return file;
  };

  const kubeUpstream = (): object => ({
    name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: kube.url, policy: 'writegate/kubernetes/decision',
    tls: { ca: kube.caFile }, credentials: { mode: 'held', tokenFile: secret('kube-token', kube.tokens.admin) },
  });
  const netboxUpstream = (): object => ({
    name: 'nb', kind: 'netbox', prefix: '/netbox', target: netbox.url, policy: 'writegate/netbox/decision',
    credentials: { mode: 'held', tokenFile: secret('netbox-token', netbox.tokens.admin.v2) },
  });
  const cfUpstream = (target: string): object => ({
    name: 'cf', kind: 'cloudflare', prefix: '/cf', target, policy: 'writegate/cloudflare/decision',
    credentials: { mode: 'held', tokenFile: secret('cf-token', DEFAULT_TOKEN) },
  });
  const iamUpstream = (): object => ({
    name: 'iam', kind: 'aws', prefix: '/iam', target: moto.url, policy: 'writegate/aws/decision',
    aws: { service: 'iam', region: 'us-east-1', callers: secret('callers.csv', '') },
    credentials: { mode: 'held', accessKeyIdFile: secret('aws-id', moto.held!.accessKeyId), secretAccessKeyFile: secret('aws-secret', moto.held!.secretAccessKey) },
  });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'writegate-audit-'));
    [kube, netbox, moto] = await Promise.all([startRealKube(), startNetBox({ basePath: 'netbox' }), startMoto({ auth: true })]);
    cf = await startCloudflareSim();
    kubeAgent = new Agent({ connect: { ca: readFileSync(kube.caFile) } });

    // Kubernetes: a privileged pod and a deployment on :latest (three objects on one page of two, so the pages
    // are followed), and clean pods.
    const pod = (name: string, container: object): object => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [container] } });
    await kubeApply('/api/v1/namespaces/default/pods', pod('root-shell', { name: 'sh', image: 'busybox:1.36', securityContext: { privileged: true } }));
    await kubeApply('/api/v1/namespaces/default/pods', pod('web-1', { name: 'web', image: 'nginx:1.27' }));
    await kubeApply('/api/v1/namespaces/default/pods', pod('web-2', { name: 'web', image: 'nginx:1.27' }));
    await kubeApply('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'registry.example/api:latest' }] } } },
    });
    await kubeApply('/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: SECRET_VALUE } });

    // NetBox: a device whose name breaks the pattern, three that follow it.
    const device = (name: string): object => ({
      name, status: 'active', site: { slug: SEED.objects.site.slug }, device_type: { slug: SEED.objects.deviceType.slug }, role: { slug: SEED.objects.deviceRole.slug },
    });
    for (const name of [MARKUP_NAME, 'ams1-leaf-01', 'ams1-leaf-02', 'ams1-leaf-03']) await netboxCreate('/api/dcim/devices/', device(name));
    await netboxCreate('/api/ipam/prefixes/', { prefix: '10.20.0.0/24' });

    // Cloudflare: a 30-second TTL and an unproxied AAAA at the apex, beside the seeded (clean) records.
    await cfCreate(cf, { type: 'A', name: 'short.example.com', content: '192.0.2.30', ttl: 30 });
    await cfCreate(cf, { type: 'AAAA', name: 'example.com', content: '2001:db8::1', proxied: false });

    // Terraform: a real apply whose provisioner fails leaves terraform_data.broken tainted.
    const tf = join(work, 'tf');
    mkdirSync(join(tf, 'mirror'), { recursive: true });
    writeFileSync(join(tf, 'cli.tfrc'), `disable_checkpoint = true\nprovider_installation {\n  filesystem_mirror {\n    path = "${join(tf, 'mirror')}"\n  }\n}\n`);
    writeFileSync(join(tf, 'main.tf'), [
      'resource "terraform_data" "ok" {\n  input = "fine"\n}',
      'resource "terraform_data" "broken" {\n  input = "half made"\n  provisioner "local-exec" {\n    command = "exit 1"\n  }\n}',
    ].join('\n'));
    const env = { ...process.env, TF_CLI_CONFIG_FILE: join(tf, 'cli.tfrc'), CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
    await run('terraform', ['init', '-input=false', '-no-color'], { cwd: tf, env });
    await expect(run('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: tf, env })).rejects.toThrow(/local-exec provisioner error/);
    stateFile = join(tf, 'terraform.tfstate');

    // IAM: "deploy" with two active keys, "alice" with one (and the gateway's own user with one).
    const iam = async (args: string[]): Promise<string> => {
      const r = await awsCli(moto.url, moto.held!, ['iam', ...args]);
      if (r.code !== 0) throw new Error(`aws iam ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await iam(['create-user', '--user-name', 'deploy']);
    await iam(['create-user', '--user-name', 'alice']);
    deployKeys = [];
    for (const user of ['deploy', 'deploy', 'alice']) {
      const key = (JSON.parse(await iam(['create-access-key', '--user-name', user])) as { AccessKey: { AccessKeyId: string } }).AccessKey.AccessKeyId;
      if (user === 'deploy') deployKeys.push(key);
    }
  });

  afterAll(async () => {
    await kubeAgent?.close();
    await Promise.all([kube?.stop(), netbox?.stop(), cf?.close(), moto?.close()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('finds every seeded violation in every source, each with a decision id in OPA\'s decision log, and nothing on clean objects', async () => {
    const out = join(work, 'all');
    const cfg = config('all', [kubeUpstream(), netboxUpstream(), cfUpstream(cf.url), iamUpstream()]);
    const r = await audit(['--config', cfg, '--terraform-state', stateFile, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const report = readJson<AuditReport>(join(out, 'report.json'));
    expect(report.status).toBe('violations');
    expect(report.sources.map((s) => [s.source, s.error])).toEqual([
      ['kubernetes', null], ['netbox', null], ['cloudflare', null], ['terraform', null], ['aws', null],
    ]);
    expect(findings(report, 'kubernetes')).toEqual([
      '/api/v1/namespaces/default/pods/root-shell no-privileged-containers',
      '/apis/apps/v1/namespaces/default/deployments/api no-latest-tag',
    ]);
    const badDevice = report.violations.find((v) => v.source === 'netbox')!;
    expect(findings(report, 'netbox')).toEqual([`${badDevice.address} device-name-pattern`]);
    expect(badDevice.message).toContain(JSON.stringify(MARKUP_NAME));
    expect(report.violations.filter((v) => v.source === 'cloudflare').map((v) => v.rule).sort()).toEqual(['apex-proxied', 'dns-min-ttl']);
    expect(findings(report, 'terraform')).toEqual(['terraform_data.broken tainted-resource']);
    expect(findings(report, 'aws')).toEqual(['iam/users/deploy one-active-key']);
    expect(report.violations.find((v) => v.source === 'aws')!.message).toContain(deployKeys.sort()[0]);
    expectTraceable(report, out);

    // Every object was read (pages of two followed to the end) and evaluated: the kube pods alone are three.
    const objects = Object.fromEntries(report.sources.map((s) => [s.source, s.objects]));
    expect(objects.terraform).toBe(2);
    expect(objects.aws).toBe(3);
    expect(objects.netbox).toBe(5);
    expect(objects.kubernetes).toBeGreaterThanOrEqual(5);
    expect(report.totals.bySource).toEqual({ kubernetes: 2, netbox: 1, cloudflare: 2, terraform: 1, aws: 1 });
    expect(report.totals.byRule['no-latest-tag']).toBe(1);
    expect(report.run.policyRevision.from).toBe('opa-modules');
    expect(report.change).toBeNull();
    // The Secret was evaluated with its values masked: neither its value nor its base64 is in OPA's log.
    const opaLog = readFileSync(join(out, 'opa-decisions.log'), 'utf8');
    const secretRecord = [...decisionLog(out).values()].find((r) => r.input?.address === '/api/v1/namespaces/default/secrets/db');
    expect(secretRecord?.input).toMatchObject({ object: { data: { password: '**masked**' } } });
    expect(opaLog).not.toContain(SECRET_VALUE);
    expect(opaLog).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
    // The device name is text in the HTML report, never markup.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).not.toContain('<script>');
    expect(html).toContain('Core Router &lt;script&gt;alert(1)&lt;/script&gt;');
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    for (const v of report.violations) expect(md).toContain(v.decision_id);
  });

  it('reports clean sources clean (exit 0), and the change since the previous report in the same folder', async () => {
    const sim = await startCloudflareSim();
    try {
      const out = join(work, 'cf-only');
      const cfg = config('cf-only', [{ ...cfUpstream(sim.url), name: 'cf-clean' }]);
      const id = await cfCreate(sim, { type: 'A', name: 'tiny.example.com', content: '192.0.2.31', ttl: 45 });
      const first = await audit(['--config', cfg, '--out', out]);
      expect(first.code).toBe(1);
      const before = readJson<AuditReport>(join(out, 'report.json'));
      expect(before.violations.map((v) => `${v.address} ${v.rule}`)).toEqual([`zones/${SEED_IDS.zone}/dns_records/${id} dns-min-ttl`]);

      const res = await fetch(`${sim.apiUrl}/zones/${SEED_IDS.zone}/dns_records/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } });
      expect(res.status).toBe(200);
      const second = await audit(['--config', cfg, '--out', out]);
      expect(second.code).toBe(0);
      const after = readJson<AuditReport>(join(out, 'report.json'));
      expect(after.status).toBe('clean');
      expect(after.violations).toEqual([]);
      expect(after.sources).toEqual([{ source: 'cloudflare', origin: 'cf-clean', objects: before.sources[0]!.objects - 1, violations: 0, error: null }]);
      expect(after.change).toMatchObject({ previousStartedAt: before.run.startedAt, previousViolations: 1, added: [] });
      expect(after.change!.resolved.map((v) => v.decision_id)).toEqual([before.violations[0]!.decision_id]);
    } finally {
      await sim.close();
    }
  });

  it('reports a source that is down (exit 3, in the report and on stderr) and still audits the others', async () => {
    const out = join(work, 'down');
    const closed = `http://127.0.0.1:${await freePort()}`;
    const cfg = config('down', [kubeUpstream(), cfUpstream(closed)]);
    const r = await audit(['--config', cfg, '--sources', 'kubernetes,cloudflare,terraform', '--terraform-state', stateFile, '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/audit of cloudflare \(cf\) failed: .*ECONNREFUSED/);
    const report = readJson<AuditReport>(join(out, 'report.json'));
    expect(report.status).toBe('error');
    const cfOutcome = report.sources.find((s) => s.source === 'cloudflare')!;
    expect(cfOutcome.error).toMatch(/ECONNREFUSED/);
    expect(cfOutcome.objects).toBe(0);
    expect(findings(report, 'kubernetes')).toHaveLength(2);
    expect(findings(report, 'terraform')).toEqual(['terraform_data.broken tainted-resource']);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| cloudflare \| cf \| 0 \| 0 \| \*\*failed\*\*/);
    expectTraceable(report, out);
  });

  it('refuses bad flags with exit 3 before reading anything', async () => {
    const cfg = config('flags', [kubeUpstream()]);
    const cases: [string[], RegExp][] = [
      [['--sources', 'kubernetes,mainframe'], /--sources takes a comma-separated list/],
      [['--sources', 'terraform'], /--sources terraform needs --terraform-state/],
      [['--format', 'pdf'], /--format takes a comma-separated list/],
      [['--every', '1 day'], /--every takes a duration/],
      [['--notify'], /--notify needs a notify: block/],
    ];
    for (const [args, message] of cases) {
      const r = await audit(['--config', cfg, '--out', join(work, 'flags'), ...args]);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(message);
    }
  });
});
