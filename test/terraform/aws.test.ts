/**
 * Terraform's AWS provider 5.100 (from the image's filesystem mirror) through the TLS gateway's `kind: aws` mounts
 * (IAM and EC2) to a real AWS implementation, moto_server (test/aws/harness.ts), that authenticates every request
 * with the key pair the gateway holds; real OPA with the shipped policies/aws. The provider signs for the gateway
 * with a key pair of the gateway's callers file, so each write moto carries out was judged and signed again by the
 * gateway. Every write the provider sent — read from its own debug log — has exactly one decision record.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { awsCli, heldAwsMount, startMoto, type KeyPair, type Moto } from '../aws/harness.js';
import { workspace, type TerraformRun, type Workspace } from './harness.js';

const CALLER: KeyPair = { accessKeyId: 'AKIAGATEWAYCALLERTF1', secretAccessKey: 'tf-caller-secret-0123456789abcdefghijklmn' };
const READ_ACTIONS = /^(Get|List|Describe)/;
const DECISION_ID = /\(decision ([0-9a-f-]{36})\)/g;
/** `init` and an apply start the 675 MB provider several times; on the two shared cores one took up to 75 s. */
const TEST_MS = 300_000;

describe('Terraform AWS provider 5.100 through the gateway to moto', () => {
  let moto: Moto;
  let stack: Stack;
  let dir: string;
  const workspaces: Workspace[] = [];

  /** A workspace whose provider calls the gateway's IAM and EC2 mounts as the caller, trusting the gateway's CA. */
  const awsWorkspace = async (resources: string): Promise<Workspace> => {
    const ws = workspace({
      aws: true,
      // The machine's environment sets AWS_CA_BUNDLE to the system bundle; the workspace's replaces it.
      env: { AWS_CA_BUNDLE: stack.certs.caCert, AWS_EC2_METADATA_DISABLED: 'true', TF_VAR_secret_key: CALLER.secretAccessKey },
    });
    workspaces.push(ws);
    ws.write('provider.tf', `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
variable "secret_key" {
  type      = string
  sensitive = true
}
provider "aws" {
  region     = "us-east-1"
  access_key = "${CALLER.accessKeyId}"
  secret_key = var.secret_key
  endpoints {
    iam = "${stack.url('aws-iam')}"
    ec2 = "${stack.url('aws-ec2')}"
  }
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
`);
    ws.write('main.tf', resources);
    const init = await ws.run(['init']);
    expect(init.code, init.stderr).toBe(0);
    return ws;
  };

  /** `terraform apply` and the decisions the gateway logged meanwhile. */
  const apply = async (ws: Workspace): Promise<{ run: TerraformRun; decisions: DecisionEvent[] }> => {
    const before = stack.decisions().length;
    const run = await ws.run(['apply', '-auto-approve']);
    return { run, decisions: stack.decisions().slice(before) };
  };

  /**
   * Each write action the provider sent has exactly one decision record on the mount it was sent to, and there is
   * no other (Get*, List* and Describe* have none). Terraform applies independent resources in parallel, so the
   * order is not compared. Answers the decisions by action.
   */
  const expectEveryWriteDecided = (run: TerraformRun, decisions: DecisionEvent[]): Map<string, DecisionEvent[]> => {
    const writes = run.requests.filter((r) => !READ_ACTIONS.test(r.action ?? ''));
    expect(writes.length).toBeGreaterThan(0);
    expect(run.requests.every((r) => r.method === 'POST' && r.headers['content-type'] === 'application/x-www-form-urlencoded')).toBe(true);
    expect(decisions.map((d) => `${d.upstream} ${(d.input as any).request.action}`).sort())
      .toEqual(writes.map((w) => `aws-${w.url.split('/')[2]} ${w.action}`).sort());
    const byAction = new Map<string, DecisionEvent[]>();
    for (const d of decisions) {
      const action = (d.input as any).request.action as string;
      byAction.set(action, [...(byAction.get(action) ?? []), d]);
    }
    return byAction;
  };

  /** moto's answer to the aws CLI, signed with the gateway's held key pair: what is stored, past the gateway. */
  const stored = async (args: string[]): Promise<any> => {
    const r = await awsCli(moto.url, moto.held!, args);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    moto = await startMoto({ auth: true });
    dir = mkdtempSync(join(tmpdir(), 'writegate-tf-aws-'));
    const callers = join(dir, 'aws-callers.csv');
    writeFileSync(callers, `${CALLER.accessKeyId},${CALLER.secretAccessKey},terraform,ci\n`);
    stack = await startStack({ kinds: [heldAwsMount(moto, dir, 'iam', callers), heldAwsMount(moto, dir, 'ec2', callers)] });
  }, 180_000);

  afterAll(async () => {
    for (const ws of workspaces) ws.close();
    await stack?.close();
    await moto?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // One apply of three independent parts (each test's apply costs a minute on two busy cores: Terraform starts the
  // 675 MB provider several times), each part checked on its own below.
  it('one apply: a service user and its key are created; a forbidden rotation and port 22 open to the world fail with the reasons and decision ids; every write decided', async () => {
    const ws = await awsWorkspace(`
resource "aws_iam_user" "svc" {
  name = "svc-terraform"
  tags = { "writegate/service-user" = "true" }
}
resource "aws_iam_access_key" "svc" {
  user = aws_iam_user.svc.name
}

resource "aws_iam_user" "alice" {
  name = "alice-terraform"
}
resource "aws_iam_access_key" "first" {
  user = aws_iam_user.alice.name
}
resource "aws_iam_access_key" "second" {
  user       = aws_iam_user.alice.name
  depends_on = [aws_iam_access_key.first]
}

resource "aws_security_group" "admin" {
  name        = "tf-admin"
  description = "admin hosts"
}
resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = aws_security_group.admin.id
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["0.0.0.0/0"]
}
`);
    const { run, decisions } = await apply(ws);
    expect(run.code).toBe(1);
    const byAction = expectEveryWriteDecided(run, decisions);
    for (const d of decisions) expect((d.input as any).request.userInfo).toMatchObject({ username: 'terraform', groups: ['ci'] });
    const keyFor = (user: string): DecisionEvent[] => byAction.get('CreateAccessKey')!.filter((d) => (d.input as any).request.params.UserName === user);

    // A service user and its first key: allowed, and stored by moto.
    const [created] = byAction.get('CreateUser')!.filter((d) => (d.input as any).request.params.UserName === 'svc-terraform');
    expect((created!.input as any).request.params.Tags).toEqual([{ Key: 'writegate/service-user', Value: 'true' }]);
    expect([created!, ...keyFor('svc-terraform')].map((d) => d.outcome)).toEqual(['allowed', 'allowed']);
    expect(run.stdout).toContain('aws_iam_access_key.svc: Creation complete');
    const svcKeys = await stored(['iam', 'list-access-keys', '--user-name', 'svc-terraform']);
    expect(svcKeys.AccessKeyMetadata.map((k: { Status: string }) => k.Status)).toEqual(['Active']);

    // A second key for a user who is not a service user, whose key is new: denied, moto keeps one key.
    const rotation = keyFor('alice-terraform');
    expect(rotation.map((d) => d.outcome).sort()).toEqual(['allowed', 'denied']);
    const denied = rotation.find((d) => d.outcome === 'denied')!;
    expect(denied.reasons.map((r) => r.match(/\[([a-z-]+)\]$/)?.[1]).sort()).toEqual(['key-rotation-min-age', 'key-rotation-service-user']);
    expect(run.stderr).toContain('Error: creating IAM Access Key (alice-terraform): operation error IAM: CreateAccessKey, https response error StatusCode: 403');
    expect(run.stderr).toContain('api error AccessDenied: writegate denied the request: user "alice-terraform" already has an active access key and is not tagged writegate/service-user=true');
    expect((await stored(['iam', 'list-access-keys', '--user-name', 'alice-terraform'])).AccessKeyMetadata).toHaveLength(1);

    // Port 22 from 0.0.0.0/0: denied on the EC2 mount; creating the group (and the provider's removal of its default
    // egress rules) was allowed, and the group keeps no ingress rule.
    const [ingress] = byAction.get('AuthorizeSecurityGroupIngress')!;
    expect(ingress).toMatchObject({ upstream: 'aws-ec2', outcome: 'denied' });
    expect((ingress!.input as any).request.permissions).toEqual([
      expect.objectContaining({ ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: ['0.0.0.0/0'] }),
    ]);
    expect(decisions.filter((d) => d.upstream === 'aws-ec2' && d !== ingress).map((d) => d.outcome)).not.toContain('denied');
    expect(run.stderr).toContain('operation error EC2: AuthorizeSecurityGroupIngress, https response error StatusCode: 403');
    expect(run.stderr).toContain('ingress from 0.0.0.0/0 would open admin port 22 (tcp); allow a narrower CIDR [sg-admin-port-world]');
    const groups = await stored(['ec2', 'describe-security-groups', '--group-names', 'tf-admin']);
    expect(groups.SecurityGroups[0].IpPermissions).toEqual([]);

    // Terraform printed the ids of exactly the two denials; the denied writes were sent once (the SDK would try a
    // request up to 25 times, but not after an AccessDenied).
    expect([...run.stderr.matchAll(DECISION_ID)].map((m) => m[1]).sort()).toEqual([denied.decision_id, ingress!.decision_id].sort());
    expect(decisions.filter((d) => d.outcome === 'denied')).toHaveLength(2);
    expect(new Set(run.requests.map((r) => r.headers['amz-sdk-request']))).toEqual(new Set(['attempt=1; max=25']));

    // The gateway's key pair reaches neither Terraform nor the decision log.
    const seen = `${run.stdout}${run.stderr}${JSON.stringify(stack.decisions())}`;
    expect(seen).not.toContain(moto.held!.secretAccessKey);
    expect(seen).not.toContain(moto.held!.accessKeyId);
  }, TEST_MS);
});
