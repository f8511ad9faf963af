/**
 * `writegate check kubernetes -f` against the gateway itself: the manifests of fixtures/check/manifests (a
 * multi-document YAML with a List, a JSON file) are checked by the CLI, then created with a real kubectl through a
 * gateway stack; each object must get the same deny and warn violations from both.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubernetesSubjects, resourceOf, yamlDocuments } from '../../src/check/kubernetes.js';
import { projectRoot } from '../../src/opa/binary.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const MANIFESTS = join(root, 'test', 'e2e', 'fixtures', 'check', 'manifests');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Result { code: number; stdout: string; stderr: string }

async function exec(file: string, args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const cli = (args: string[]): Promise<Result> => exec(process.execPath, [CLI, ...args]);

interface JsonReport {
  passed: boolean;
  violations: number;
  warnings: number;
  results: { file: string; subject: string; decision_id: string | null; deny: { rule: string; msg: string }[]; warn: { rule: string; msg: string }[] }[];
}

/** "Kind namespace/name" (or "Kind name" when cluster-scoped): the subject without its "file#n " prefix. */
const objectOf = (subject: string): string => subject.slice(subject.indexOf(' ') + 1);

/** `kubectl create -f` of the manifests folder through the stack's gateway, as alice. */
async function kubectlCreate(stack: Stack): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-check-kubectl-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: wg',
    'clusters:', '- name: wg', '  cluster:', `    server: ${stack.k8s}`, `    certificate-authority: ${stack.certs.caCert}`,
    'users:', '- name: u', '  user:', `    token: ${TOKENS.alice}`,
    'contexts:', '- name: wg', '  context: {cluster: wg, user: u, namespace: default}', '',
  ].join('\n'));
  // --validate=false: client-side schema validation asks for OpenAPI documents the simulator does not serve for List.
  return exec(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'create', '--validate=false', '-f', MANIFESTS]);
}

/** The gateway's CREATE decisions, by "Kind namespace/name". */
function createDecisions(stack: Stack): Map<string, DecisionEvent> {
  const out = new Map<string, DecisionEvent>();
  for (const d of stack.decisions()) {
    const request = (d.input as { request: { kind: { kind: string }; namespace: string; name: string; operation: string } }).request;
    if (request.operation !== 'CREATE') continue;
    out.set(`${request.kind.kind} ${request.namespace ? `${request.namespace}/` : ''}${request.name}`, d);
  }
  return out;
}

describe('writegate check kubernetes', () => {
  let report: JsonReport;
  beforeAll(async () => {
    const out = await cli(['check', 'kubernetes', '-f', MANIFESTS, '--format', 'json']);
    expect(out.code, out.stderr).toBe(1);
    report = JSON.parse(out.stdout) as JsonReport;
  });

  it('reads every document of a multi-document YAML, the items of a List and a JSON file, each with its own decision', () => {
    expect(report.results.map((r) => objectOf(r.subject)).sort()).toEqual([
      'ConfigMap production/settings', 'Deployment default/api', 'Deployment default/web', 'Job production/migrate', 'Namespace team-a', 'Pod default/debug',
    ]);
    const ids = report.results.map((r) => r.decision_id);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    const rules = (object: string): string[] => report.results.find((r) => objectOf(r.subject) === object)!.deny.map((f) => f.rule).sort();
    // `privileged: yes` is a boolean, as kubectl and the apiserver read YAML.
    expect(rules('Deployment default/web')).toEqual(['no-latest-tag', 'no-privileged-containers', 'require-owner-label']);
    expect(rules('Pod default/debug')).toEqual(['no-direct-scheduling', 'no-host-path']);
    expect(rules('Deployment default/api')).toEqual([]);
    expect(rules('Namespace team-a')).toEqual([]);
  });

  it('gives each object the violations the gateway gives it when kubectl creates it', async () => {
    const stack = await startStack();
    try {
      const created = await kubectlCreate(stack);
      expect(created.code).toBe(1);
      expect(created.stderr).toContain('Error from server (Forbidden)');
      const gateway = new Map<string, { deny: string[]; warn: string[]; outcome: string }>();
      for (const [key, d] of createDecisions(stack)) gateway.set(key, { deny: [...d.reasons].sort(), warn: [...d.warnings].sort(), outcome: d.outcome });
      expect([...gateway.keys()].sort()).toEqual(report.results.map((r) => objectOf(r.subject)).sort());
      for (const r of report.results) {
        const g = gateway.get(objectOf(r.subject))!;
        expect({ object: r.subject, deny: g.deny, warn: g.warn }).toEqual({
          object: r.subject, deny: r.deny.map((f) => f.msg).sort(), warn: r.warn.map((f) => f.msg).sort(),
        });
        expect(g.outcome).toBe(r.deny.length ? 'denied' : 'allowed');
      }
    } finally {
      await stack.close();
    }
  });

  it('builds the input the gateway builds for the create, with resolve: local and no identity', async () => {
    const stack = await startStack({ resolve: 'local', identity: 'none' });
    try {
      await kubectlCreate(stack);
      const gateway = createDecisions(stack);
      const subjects = kubernetesSubjects(MANIFESTS, { recursive: false, namespace: 'default', cwd: root });
      expect(subjects).toHaveLength(gateway.size);
      // What the request sent differs (kubectl's fieldManager, headers, the upstream's name, a fresh uid); what
      // the request is and the object it creates do not.
      const same = (input: any) => ({
        top: [input.apiVersion, input.kind, input.version, input.upstreamKind, input.verb, input.method, input.path],
        request: {
          kind: input.request.kind, resource: input.request.resource, requestKind: input.request.requestKind,
          requestResource: input.request.requestResource, name: input.request.name, namespace: input.request.namespace,
          operation: input.request.operation, userInfo: input.request.userInfo, object: input.request.object,
          oldObject: input.request.oldObject, dryRun: input.request.dryRun, optionsKind: input.request.options.kind,
        },
      });
      for (const s of subjects) {
        const d = gateway.get(objectOf(s.subject));
        expect(d, s.subject).toBeDefined();
        expect(same(s.input)).toEqual(same(d!.input));
      }
    } finally {
      await stack.close();
    }
  });

  it('builds inputs valid under the kubernetes input schema', () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
    for (const name of ['common', 'kubernetes']) {
      ajv.addSchema(JSON.parse(readFileSync(join(root, 'policies/schemas', name, `${name}.input.schema.json`), 'utf8')) as object);
    }
    const validate = ajv.getSchema('https://writegate.dev/schemas/v1/kubernetes.input.schema.json')!;
    const subjects = kubernetesSubjects(MANIFESTS, { recursive: true, namespace: 'default', cwd: root });
    expect(subjects).toHaveLength(7);
    for (const s of subjects) expect(validate(s.input), `${s.subject}: ${JSON.stringify(validate.errors)}`).toBe(true);
  });

  it('reads subfolders with -R, and objects without a namespace go to -n', async () => {
    const out = await cli(['check', 'kubernetes', '-f', MANIFESTS, '-R', '-n', 'staging', '--format', 'json']);
    expect(out.code, out.stderr).toBe(1);
    const r = JSON.parse(out.stdout) as JsonReport;
    const subjects = r.results.map((x) => objectOf(x.subject));
    expect(subjects).toContain('Pod staging/nested');
    expect(subjects).toContain('Deployment staging/web');
    expect(subjects).toContain('ConfigMap production/settings');
    expect(r.results.find((x) => objectOf(x.subject) === 'Pod staging/nested')!.deny.map((f) => f.rule)).toEqual(['no-privileged-containers']);
  });

  it('reads standard input with -f -: a YAML stream, or JSON', () => {
    const stdin = (input: string): Result => {
      const r = spawnSync(process.execPath, [CLI, 'check', 'kubernetes', '-f', '-', '--format', 'json'], { input, encoding: 'utf8', timeout: 60_000 });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const yaml = stdin(readFileSync(join(MANIFESTS, 'workloads.yaml'), 'utf8'));
    expect(yaml.code, yaml.stderr).toBe(1);
    const fromStdin = (JSON.parse(yaml.stdout) as JsonReport).results;
    const fromFile = report.results.filter((r) => r.file.endsWith('workloads.yaml'));
    expect(fromStdin.map((r) => r.subject)).toEqual(fromFile.map((r) => r.subject.replace(/^\S*workloads\.yaml#/, 'stdin#')));
    const msgs = (r: JsonReport['results'][number]): string[] => r.deny.map((f) => f.msg);
    expect(fromStdin.map(msgs)).toEqual(fromFile.map(msgs));
    const json = stdin(readFileSync(join(MANIFESTS, 'namespace.json'), 'utf8'));
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as JsonReport).results.map((r) => r.subject)).toEqual(['stdin#1 Namespace team-a']);
  });

  it('passes a clean manifest (exit 0) and writes JUnit XML an XML parser reads', async () => {
    const text = await cli(['check', 'kubernetes', '-f', join(MANIFESTS, 'namespace.json')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^OK {4}\S*namespace\.json#1 Namespace team-a {2}\(decision [0-9a-f-]{36}\)$/m);
    const junit = await cli(['check', 'kubernetes', '-f', MANIFESTS, '--format', 'junit']);
    expect(junit.code, junit.stderr).toBe(1);
    const parsed = JSON.parse(execFileSync('python3', ['-c', `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
print(json.dumps({"tests": root.get("tests"), "failures": root.get("failures"),
  "suites": [s.get("name").rsplit("/", 1)[-1] for s in root.findall("testsuite")],
  "failing": sorted(c.get("name").split(" ", 1)[1] for c in root.iter("testcase") if c.find("failure") is not None)}))
`], { input: junit.stdout }).toString()) as { tests: string; failures: string; suites: string[]; failing: string[] };
    expect(parsed.suites).toEqual(['namespace.json', 'workloads.yaml']);
    expect(parsed.tests).toBe('6');
    expect(parsed.failing).toEqual(['Deployment default/web', 'Job production/migrate', 'Pod default/debug']);
    expect(parsed.failures).toBe('3');
  });

  describe('errors exit 3, never 0 or 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-check-k8s-bad-'));
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    mkdirSync(join(dir, 'empty'));
    const cases: [string, () => string[], RegExp][] = [
      ['a missing path', () => ['check', 'kubernetes', '-f', join(dir, 'nope.yaml')], /nope\.yaml: no such file or folder/],
      ['a folder without manifests', () => ['check', 'kubernetes', '-f', join(dir, 'empty')], /no \.json, \.yaml or \.yml files/],
      ['a YAML syntax error in the second document', () => ['check', 'kubernetes', '-f', file('broken.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n')], /broken\.yaml#2 \(document from line 5\)/],
      ['a document that is not an object', () => ['check', 'kubernetes', '-f', file('scalar.yaml', 'just text\n')], /scalar\.yaml#1: not a Kubernetes object/],
      ['an object without a kind', () => ['check', 'kubernetes', '-f', file('nokind.yaml', 'apiVersion: v1\nmetadata: {name: a}\n')], /nokind\.yaml#1: not a Kubernetes object \(no apiVersion or kind\)/],
      ['a JSON file with a repeated key', () => ['check', 'kubernetes', '-f', file('dup.json', '{"apiVersion": "v1", "kind": "ConfigMap", "kind": "Secret"}')], /dup\.json#1.*a key repeats/],
      ['a YAML merge key', () => ['check', 'kubernetes', '-f', file('merge.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  <<: {name: a}\n')], /merge\.yaml#1/],
      ['a value the policy input cannot hold exactly', () => ['check', 'kubernetes', '-f', file('big.json', '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"n": 1e400}}')], /big\.json#1 ConfigMap default\/a: .*a number that is not finite/],
      ['an OPA that does not answer', () => ['check', 'kubernetes', '-f', MANIFESTS, '--opa', 'http://127.0.0.1:1'], /policy engine unavailable/],
      ['no -f', () => ['check', 'kubernetes'], /required option/],
    ];
    it.each(cases)('%s', async (_what, args, message) => {
      const out = await cli(args());
      expect(out.code, out.stderr).toBe(3);
      expect(out.stderr).toMatch(message);
      expect(out.stdout).toBe('');
    });
  });

  it('splits YAML streams as kubectl does, and names resources as Kubernetes guesses them', () => {
    const docs = yamlDocuments('# head\n---\na: 1\n--- # two\nb: 2\n---x: 3\n---\n\n---\n# only a comment\n');
    expect(docs).toEqual([{ text: 'a: 1', line: 3 }, { text: 'b: 2\n---x: 3', line: 5 }]);
    expect(['Pod', 'Ingress', 'NetworkPolicy', 'Endpoints', 'StorageClass', 'Deployment'].map(resourceOf))
      .toEqual(['pods', 'ingresses', 'networkpolicies', 'endpoints', 'storageclasses', 'deployments']);
  });
});
