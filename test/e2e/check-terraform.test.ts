/**
 * `writegate check terraform` on plans made by a real `terraform` (1.11, offline): `terraform_data` resources, and
 * resources of the AWS provider 5.100 from the image's Terraform filesystem mirror, planned with fake credentials
 * and the provider's skip_* settings (no AWS call is made), then `terraform show -json`. Each Terraform run has
 * its own CLI configuration (TF_CLI_CONFIG_FILE) that installs the AWS provider from the mirror and nothing from
 * the network. Without the mirror the AWS tests fail and say where they looked.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SENSITIVE, terraformSubject } from '../../src/check/terraform.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');
const TERRAFORM = process.env.TERRAFORM_BIN ?? 'terraform';
/** The image's Terraform filesystem mirror (see ../shared/research/terraform.md). */
const MIRROR = process.env.WRITEGATE_TF_MIRROR ?? '/opt/tf-plugins';
const AWS_PROVIDER = join(MIRROR, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET = 'hunter2-not-for-opa';

const AWS_PROVIDER_BLOCK = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "AKIAIOSFODNN7EXAMPLE"
  secret_key                  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
`;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function requireAwsMirror(): void {
  if (!existsSync(AWS_PROVIDER)) {
    throw new Error(`the AWS provider 5.100.0 is not in the Terraform filesystem mirror: ${AWS_PROVIDER} does not exist `
      + '(the machine image ships it; set WRITEGATE_TF_MIRROR to the folder that holds registry.terraform.io/)');
  }
}

/** A Terraform working folder with `files`, planned offline; answers the path of `terraform show -json` of the plan. */
async function plan(files: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-check-tf-'));
  writeFileSync(join(dir, 'cli.tfrc'), `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(MIRROR)}
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const env = {
    ...process.env, TF_CLI_CONFIG_FILE: join(dir, 'cli.tfrc'), CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const tf = async (args: string[]): Promise<string> => {
    try {
      return (await run(TERRAFORM, args, { cwd: dir, env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
    } catch (err) {
      const e = err as { code?: string; stderr?: string; message: string };
      if (e.code === 'ENOENT') throw new Error(`terraform is not installed (looked for "${TERRAFORM}"; the machine image ships it)`);
      throw new Error(`terraform ${args.join(' ')} failed in ${dir}: ${e.stderr ?? e.message}`);
    }
  };
  await tf(['init', '-input=false', '-no-color']);
  // -refresh=false: nothing is read from AWS; orphaned state entries are planned as deletes all the same.
  await tf(['plan', '-input=false', '-no-color', '-refresh=false', '-out=plan.bin']);
  const path = join(dir, 'plan.json');
  writeFileSync(path, await tf(['show', '-json', 'plan.bin']));
  return path;
}

const CLEAN = `
resource "terraform_data" "build" {
  input = { image = "registry.example.com/app:1.4.2" }
}
resource "terraform_data" "token" {
  input = sensitive(${JSON.stringify(SECRET)})
}
`;

const AWS = `${AWS_PROVIDER_BLOCK}
resource "aws_s3_bucket" "site" {
  bucket = "site-bucket"
}
resource "aws_s3_bucket_acl" "site" {
  bucket = aws_s3_bucket.site.id
  acl    = "public-read"
}
resource "aws_s3_bucket_policy" "site" {
  bucket = "site-bucket"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "arn:aws:s3:::site-bucket/*" }]
  })
}
resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = "other-bucket"
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_security_group" "bastion" {
  name = "bastion"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }
}
resource "aws_vpc_security_group_ingress_rule" "rdp" {
  security_group_id = aws_security_group.web.id
  cidr_ipv6         = "::/0"
  from_port         = 3389
  to_port           = 3389
  ip_protocol       = "tcp"
}
resource "aws_iam_user" "alice" {
  name = "alice"
}
resource "aws_iam_access_key" "alice" {
  user = aws_iam_user.alice.name
}
resource "aws_iam_user" "deployer" {
  name = "deployer"
  path = "/service/"
}
resource "aws_iam_access_key" "deployer" {
  user = aws_iam_user.deployer.name
}
resource "aws_route53_record" "short" {
  zone_id = "Z0123456789ABCDEFGHIJ"
  name    = "short.example.com"
  type    = "A"
  ttl     = 30
  records = ["192.0.2.10"]
}
resource "aws_route53_record" "www" {
  zone_id = "Z0123456789ABCDEFGHIJ"
  name    = "www.example.com"
  type    = "A"
  ttl     = 300
  records = ["192.0.2.11"]
}
resource "terraform_data" "marker" {
  input = "aws"
}
`;

const AWS_VIOLATIONS = [
  ['aws_iam_access_key.alice', 'iam-access-key-service-user'],
  ['aws_route53_record.short', 'dns-min-ttl'],
  ['aws_s3_bucket_acl.site', 's3-public-bucket'],
  ['aws_s3_bucket_policy.site', 's3-public-bucket'],
  ['aws_security_group.bastion', 'sg-admin-port-open'],
  ['aws_vpc_security_group_ingress_rule.rdp', 'sg-admin-port-open'],
];

/** Two buckets in the state and none in the configuration: the plan destroys both. */
function stateWithBuckets(): string {
  const bucket = (name: string, tags: Record<string, string>) => ({
    mode: 'managed', type: 'aws_s3_bucket', name, provider: 'provider["registry.terraform.io/hashicorp/aws"]',
    instances: [{ schema_version: 0, attributes: { id: `${name}-bucket`, bucket: `${name}-bucket`, tags, tags_all: tags }, sensitive_attributes: [] }],
  });
  return JSON.stringify({
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: '0b6c2f0e-6d1a-4c43-9d57-1f2e3d4c5b6a', outputs: {},
    resources: [bucket('archive', { protected: 'true', team: 'data' }), bucket('scratch', { team: 'data' })],
  });
}

interface JsonReport {
  passed: boolean;
  violations: number;
  results: { decision_id: string | null; cases: string[]; deny: { rule: string; address: string; msg: string }[]; warn: unknown[] }[];
}

const pairs = (r: JsonReport): string[][] => r.results.flatMap((x) => x.deny.map((f) => [f.address, f.rule])).sort();

describe('writegate check terraform', () => {
  let cleanPlan: string;
  let awsPlan: string;
  let deletePlan: string;

  beforeAll(async () => {
    cleanPlan = await plan({ 'main.tf': CLEAN });
    requireAwsMirror();
    awsPlan = await plan({ 'main.tf': AWS });
    deletePlan = await plan({ 'main.tf': AWS_PROVIDER_BLOCK, 'terraform.tfstate': stateWithBuckets() });
  }, 300_000);

  it('passes a clean plan of terraform_data resources (exit 0), naming its decision', async () => {
    const text = await cli(['check', 'terraform', cleanPlan]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^OK {4}\S*plan\.json {2}\(decision [0-9a-f-]{36}\)$/m);
    expect(text.stdout).toContain('PASS: 0 violations, 0 warnings in 1 evaluation of writegate/terraform/decision');
    const json = await cli(['check', 'terraform', cleanPlan, '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report.passed).toBe(true);
    expect(report.results).toHaveLength(1);
    expect(report.results[0]!.decision_id).toMatch(UUID);
    expect(report.results[0]!.cases).toEqual(['terraform_data.build', 'terraform_data.token']);
  });

  it('finds every violation of an AWS plan by resource address and rule, and no other (exit 1)', async () => {
    const json = await cli(['check', 'terraform', awsPlan, '--format', 'json']);
    expect(json.code, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report.passed).toBe(false);
    expect(pairs(report)).toEqual(AWS_VIOLATIONS);
    expect(report.results[0]!.warn).toEqual([]);
    // The clean resources are there, as passing cases.
    expect(report.results[0]!.cases).toEqual(expect.arrayContaining([
      'aws_iam_access_key.deployer', 'aws_security_group.web', 'aws_route53_record.www', 'aws_s3_bucket_public_access_block.site', 'terraform_data.marker',
    ]));

    const text = await cli(['check', 'terraform', awsPlan]);
    expect(text.code, text.stderr).toBe(1);
    const deny = text.stdout.split('\n').filter((l) => l.startsWith('DENY'));
    expect(deny).toHaveLength(AWS_VIOLATIONS.length);
    const ids = new Set(deny.map((l) => /\(decision ([0-9a-f-]{36})\)$/.exec(l)?.[1]));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(UUID);
    for (const [address, rule] of AWS_VIOLATIONS) {
      expect(deny.some((l) => l.startsWith(`DENY  ${address}  ${rule}  ${address}: `))).toBe(true);
    }
    expect(text.stdout).toContain('FAIL: 6 violations, 0 warnings in 1 evaluation');
  });

  it('writes JUnit XML that an XML parser reads: one case per resource, one failure per violating resource', async () => {
    const out = await cli(['check', 'terraform', awsPlan, '--format', 'junit']);
    expect(out.code, out.stderr).toBe(1);
    // Python's ElementTree, a parser independent of the code under test.
    const parsed = JSON.parse(execFileSync('python3', ['-c', `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
suites = root.findall('testsuite')
cases = [{"name": c.get("name"), "failure": (c.find("failure").get("type") if c.find("failure") is not None else None),
          "decision": c.find("properties/property[@name='decision_id']").get("value")} for s in suites for c in s.findall("testcase")]
print(json.dumps({"root": root.tag, "tests": root.get("tests"), "failures": root.get("failures"), "suites": len(suites), "cases": cases}))
`], { input: out.stdout }).toString()) as { root: string; tests: string; failures: string; suites: number; cases: { name: string; failure: string | null; decision: string }[] };
    expect(parsed.root).toBe('testsuites');
    expect(parsed.suites).toBe(1);
    const failing = parsed.cases.filter((c) => c.failure !== null).map((c) => [c.name, c.failure]).sort();
    expect(failing).toEqual(AWS_VIOLATIONS);
    expect(Number(parsed.failures)).toBe(AWS_VIOLATIONS.length);
    expect(Number(parsed.tests)).toBe(parsed.cases.length);
    expect(parsed.cases.map((c) => c.name)).toContain('aws_iam_access_key.deployer');
    expect(new Set(parsed.cases.map((c) => c.decision)).size).toBe(1);
    expect(parsed.cases[0]!.decision).toMatch(UUID);
  });

  it('refuses to destroy a resource tagged protected, and lets an untagged one go', async () => {
    const out = await cli(['check', 'terraform', deletePlan, '--format', 'json']);
    expect(out.code, out.stderr).toBe(1);
    const report = JSON.parse(out.stdout) as JsonReport;
    expect(pairs(report)).toEqual([['aws_s3_bucket.archive', 'protected-delete']]);
    expect(report.results[0]!.cases.sort()).toEqual(['aws_s3_bucket.archive', 'aws_s3_bucket.scratch']);
  });

  it('builds inputs valid under policies/schemas/terraform, with sensitive values replaced', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'policies/schemas/terraform/terraform.input.schema.json'), 'utf8')) as object);
    for (const path of [cleanPlan, awsPlan, deletePlan]) {
      const { input } = terraformSubject(readFileSync(path, 'utf8'), path);
      expect(validate(input), JSON.stringify(validate.errors)).toBe(true);
    }
    expect(readFileSync(cleanPlan, 'utf8')).toContain(SECRET);
    const { input } = terraformSubject(readFileSync(cleanPlan, 'utf8'), cleanPlan);
    expect(JSON.stringify(input)).not.toContain(SECRET);
    const token = (input.resource_changes as { address: string; after: { input: unknown } }[]).find((c) => c.address === 'terraform_data.token');
    expect(token?.after.input).toBe(SENSITIVE);
  });

  it('takes a hand-made plan that has only addresses, types and changes (mode read from the address)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-check-tf-hand-'));
    const path = join(dir, 'plan.json');
    writeFileSync(path, JSON.stringify({ resource_changes: [
      { address: 'aws_route53_record.short', type: 'aws_route53_record', change: { actions: ['create'], after: { ttl: 5 } } },
      { address: 'module.dns.data.aws_route53_record.old', type: 'aws_route53_record', change: { actions: ['read'], after: { ttl: 5 } } },
    ] }));
    const out = await cli(['check', 'terraform', path, '--format', 'json']);
    expect(out.code, out.stderr).toBe(1);
    const report = JSON.parse(out.stdout) as JsonReport;
    expect(pairs(report)).toEqual([['aws_route53_record.short', 'dns-min-ttl']]);
    expect(report.results[0]!.cases).toEqual(['aws_route53_record.short']);
  });

  it('--policy and --decision: another library, whose violations need no rule or address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-check-tf-policy-'));
    writeFileSync(join(dir, 'custom.rego'), 'package custom\n\ndecision := {"deny": {"no changes on Fridays"}}\n\nclosed := false\n');
    const out = await cli(['check', 'terraform', cleanPlan, '--policy', dir, '--decision', 'custom/decision']);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toMatch(new RegExp(`^DENY  \\S*plan\\.json  -  no changes on Fridays  \\(decision [0-9a-f-]{36}\\)$`, 'm'));
    const closed = await cli(['check', 'terraform', cleanPlan, '--policy', dir, '--decision', 'custom/closed']);
    expect(closed.code, closed.stderr).toBe(1);
    expect(closed.stdout).toContain('the policy denies without a violation (allow is false)');
  });

  describe('--opa URL', () => {
    let opa: LocalOpa;
    const log: string[] = [];
    beforeAll(async () => {
      opa = await startLocalOpa({ paths: [join(root, 'policies')], onLog: (line) => log.push(line) });
    });
    afterAll(async () => { await opa?.stop(); });

    it('asks that OPA: its decision log has the decision ids printed, and no sensitive value', async () => {
      const out = await cli(['check', 'terraform', awsPlan, '--opa', opa.url, '--format', 'json']);
      expect(out.code, out.stderr).toBe(1);
      const report = JSON.parse(out.stdout) as JsonReport;
      expect(pairs(report)).toEqual(AWS_VIOLATIONS);
      const clean = JSON.parse((await cli(['check', 'terraform', cleanPlan, '--opa', opa.url, '--format', 'json'])).stdout) as JsonReport;
      const logged = (id: string | null): boolean => log.some((l) => l.includes('"Decision Log"') && l.includes(`"decision_id":"${id}"`));
      await until(() => logged(report.results[0]!.decision_id) && logged(clean.results[0]!.decision_id), { what: 'the decisions in OPA\'s decision log' });
      const entry = log.find((l) => l.includes(`"decision_id":"${clean.results[0]!.decision_id}"`))!;
      expect(entry).toContain('terraform_data.token');
      expect(log.join('\n')).not.toContain(SECRET);
    });
  });

  describe('errors exit 3, never 0 or 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-check-tf-bad-'));
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const cases: [string, () => string[], RegExp][] = [
      ['a missing file', () => ['check', 'terraform', join(dir, 'nope.json')], /nope\.json: no such file/],
      ['HCL instead of JSON', () => ['check', 'terraform', file('main.tf', CLEAN)], /main\.tf: .*malformed JSON.*terraform show -json PLANFILE/],
      ['JSON that is not a plan', () => ['check', 'terraform', file('other.json', '{"planned": []}')], /not a Terraform JSON plan \(no resource_changes\)/],
      ['a plan format of another major version', () => ['check', 'terraform', file('v2.json', '{"format_version": "2.0", "resource_changes": []}')], /plan format "2\.0" is not supported/],
      ['a change without a type', () => ['check', 'terraform', file('notype.json', '{"resource_changes": [{"address": "a.b", "change": {"actions": ["create"]}}]}')], /resource_changes\[0\]\.type is not a non-empty string/],
      ['a state', () => ['check', 'terraform', file('state.json', '{"format_version": "1.0", "terraform_version": "1.11.4", "values": {}}')], /a Terraform state, not a plan/],
      ['an errored plan', () => ['check', 'terraform', file('errored.json', '{"format_version": "1.2", "configuration": {}, "errored": true, "resource_changes": []}')], /the plan errored/],
      ['a change without actions', () => ['check', 'terraform', file('noactions.json', JSON.stringify({ format_version: '1.2', configuration: {}, resource_changes: [{ address: 'a.b', mode: 'managed', type: 'a', name: 'b', change: { actions: [] } }] }))], /resource_changes\[0\]\.change\.actions is not a list of actions/],
      ['an OPA that does not answer', () => ['check', 'terraform', cleanPlan, '--opa', 'http://127.0.0.1:1'], /policy engine unavailable/],
      ['a decision path nothing defines', () => ['check', 'terraform', cleanPlan, '--decision', 'writegate/nothing/decision'], /writegate\/nothing\/decision is undefined/],
      ['--policy with --opa', () => ['check', 'terraform', cleanPlan, '--opa', 'http://127.0.0.1:1', '--policy', 'policies'], /--policy and --opa exclude each other/],
      ['an unknown format', () => ['check', 'terraform', cleanPlan, '--format', 'xml'], /xml/],
      ['no plan argument', () => ['check', 'terraform'], /missing required argument/],
    ];
    it.each(cases)('%s', async (_what, args, message) => {
      const out = await cli(args());
      expect(out.code, out.stderr).toBe(3);
      expect(out.stderr).toMatch(message);
      expect(out.stdout).toBe('');
    });
  });
});
