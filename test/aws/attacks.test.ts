/**
 * Attacks on `kind: aws` (SigV4 verification and re-signing) against a real AWS implementation (moto_server, which
 * authenticates every forwarded request with the gateway's held key) and a real OPA with the shipped policies/aws.
 * Requests are signed here byte by byte (src/upstreams/aws/sigv4.ts, checked against AWS's own test suite), so each
 * test can change one thing a real client would not: a body after signing, an unsigned payload hash, a stale date,
 * a key given twice, a write sent as a GET.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amzDateOf, authorizationHeader, sha256Hex, signature } from '../../src/upstreams/aws/sigv4.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { awsCli, heldAwsMount, startMoto, type KeyPair, type Moto } from './harness.js';

const CI: KeyPair = { accessKeyId: 'AKIAATTACKCALLERCI01', secretAccessKey: 'attack-ci-secret-0123456789abcdefghijk' };
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

let moto: Moto;
let stack: Stack;
let iam: URL;
let ec2: string;

interface Signed {
  method?: 'GET' | 'POST';
  /** The raw query (GET). */
  query?: string;
  /** The form body (POST). */
  body?: string;
  /** Pairs the signature covers when they are not the query's (to sign one query and send another). */
  signedQuery?: [string, string][];
  /** The body the signature covers when it is not the one sent. */
  signedBody?: string;
  at?: Date;
  region?: string;
  extraHeaders?: Record<string, string>;
  keys?: KeyPair;
}

function pairsOf(query: string): [string, string][] {
  return query === '' ? [] : query.split('&').map((p) => p.split('=').map((x) => decodeURIComponent(x.replace(/\+/g, ' '))) as [string, string]);
}

/** Sends a request to the IAM mount signed with the caller's key as botocore signs it (host, content-type, x-amz-date). */
async function send(s: Signed): Promise<{ status: number; text: string }> {
  const method = s.method ?? 'POST';
  const keys = s.keys ?? CI;
  const at = s.at ?? new Date();
  const amzDate = amzDateOf(at);
  const scope = { date: amzDate.slice(0, 8), region: s.region ?? 'us-east-1', service: 'iam' };
  const headers: Record<string, string> = { host: iam.host, 'x-amz-date': amzDate, ...(method === 'POST' ? { 'content-type': FORM } : {}) };
  const signedHeaders = Object.keys(headers).sort();
  const query = s.query ?? '';
  const body = s.body ?? '';
  const sig = signature(keys.secretAccessKey, scope, amzDate, {
    method, path: `${iam.pathname}/`, query: s.signedQuery ?? pairsOf(query), headers, signedHeaders,
    payloadHash: sha256Hex(s.signedBody ?? body),
  });
  const res = await request(`${iam.href}/${query === '' ? '' : `?${query}`}`, {
    method, dispatcher: stack.dispatcher,
    headers: { ...headers, authorization: authorizationHeader(keys.accessKeyId, scope, signedHeaders, sig), ...s.extraHeaders },
    ...(method === 'POST' ? { body } : {}),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function direct(args: string[]): Promise<string> {
  const r = await awsCli(moto.url, moto.held!, args);
  if (r.code !== 0) throw new Error(`moto: ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

let seeded = 0;
/** A user of the test's own with one active key, not tagged as a service user: a rotation must be denied. */
async function personWithKey(): Promise<string> {
  const name = `person-${++seeded}`;
  await direct(['iam', 'create-user', '--user-name', name]);
  await direct(['iam', 'create-access-key', '--user-name', name]);
  return name;
}

async function keyCount(user: string): Promise<number> {
  return (JSON.parse(await direct(['iam', 'list-access-keys', '--user-name', user])) as { AccessKeyMetadata: unknown[] }).AccessKeyMetadata.length;
}

beforeAll(async () => {
  moto = await startMoto({ auth: true });
  const dir = mkdtempSync(join(tmpdir(), 'writegate-aws-attacks-'));
  const callers = join(dir, 'aws-callers.csv');
  writeFileSync(callers, `${CI.accessKeyId},${CI.secretAccessKey},ci-bot,ci\n`);
  stack = await startStack({ kinds: [heldAwsMount(moto, dir, 'iam', callers), heldAwsMount(moto, dir, 'ec2', callers)] });
  iam = new URL(stack.url('aws-iam'));
  ec2 = stack.url('aws-ec2');
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await moto?.close();
});

const rotate = (user: string): string => `Action=CreateAccessKey&UserName=${user}&Version=2010-05-08`;

describe('SigV4 attacks on the aws kind', () => {
  it('a correctly signed rotation of a person is denied (the baseline the attacks below try to get around)', async () => {
    const user = await personWithKey();
    const r = await send({ body: rotate(user) });
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('key-rotation-service-user');
    expect(await keyCount(user)).toBe(1);
  });

  it('a signed harmless body swapped for a rotation is refused: the signature covers the body bytes', async () => {
    const user = await personWithKey();
    const r = await send({ body: rotate(user), signedBody: 'Action=ListUsers&Version=2010-05-08' });
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('SignatureDoesNotMatch');
    expect(await keyCount(user)).toBe(1);
  });

  it('UNSIGNED-PAYLOAD and streaming payload hashes are refused', async () => {
    const user = await personWithKey();
    for (const declared of ['UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD']) {
      const r = await send({ body: rotate(user), extraHeaders: { 'x-amz-content-sha256': declared } });
      expect(r.status, r.text).toBe(403);
      expect(r.text).toContain('SignatureDoesNotMatch');
    }
    expect(await keyCount(user)).toBe(1);
  });

  it('a signature older than 15 minutes, or scoped to another region, is refused', async () => {
    const stale = await send({ body: 'Action=ListUsers&Version=2010-05-08', at: new Date(Date.now() - 16 * 60_000) });
    expect(stale.status).toBe(403);
    expect(stale.text).toContain('Signature expired');
    const future = await send({ body: 'Action=ListUsers&Version=2010-05-08', at: new Date(Date.now() + 16 * 60_000) });
    expect(future.status).toBe(403);
    const region = await send({ body: 'Action=ListUsers&Version=2010-05-08', region: 'eu-west-1' });
    expect(region.status).toBe(403);
    expect(region.text).toContain('SignatureDoesNotMatch');
  });

  it('a parameter given twice (moto reads the first, the policy might read another) is refused before moto', async () => {
    const user = await personWithKey();
    const r = await send({ body: `Action=CreateAccessKey&UserName=svc-nobody&UserName=${user}&Version=2010-05-08` });
    expect(r.status, r.text).toBe(400);
    const again = await send({ body: `Action=ListUsers&Action=CreateAccessKey&UserName=${user}&Version=2010-05-08` });
    expect(again.status, again.text).toBe(400);
    expect(await keyCount(user)).toBe(1);
  });

  it('a write sent as a GET with its parameters in the query is judged (denied), not forwarded as a read', async () => {
    const user = await personWithKey();
    const r = await send({ method: 'GET', query: rotate(user) });
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('key-rotation-service-user');
    expect(await keyCount(user)).toBe(1);
  });

  it('a GET whose signed query names a read but whose sent query names a write is refused', async () => {
    const user = await personWithKey();
    const r = await send({ method: 'GET', query: rotate(user), signedQuery: [['Action', 'ListUsers'], ['Version', '2010-05-08']] });
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('SignatureDoesNotMatch');
    expect(await keyCount(user)).toBe(1);
  });

  it('a POST carrying parameters in the query and in the body is refused (moto would merge the two)', async () => {
    const user = await personWithKey();
    const r = await send({ query: `UserName=${user}`, body: 'Action=CreateAccessKey&Version=2010-05-08' });
    expect(r.status, r.text).toBe(400);
    expect(await keyCount(user)).toBe(1);
  });

  it('a body in a charset other than UTF-8, or content-encoded, is refused', async () => {
    const user = await personWithKey();
    const latin = await send({ body: rotate(user), extraHeaders: { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' } });
    expect(latin.status, latin.text).not.toBe(200);
    const gz = await send({ body: rotate(user), extraHeaders: { 'content-encoding': 'gzip' } });
    expect(gz.status, gz.text).not.toBe(200);
    expect(await keyCount(user)).toBe(1);
  });

  it('a method override header cannot turn the judged request into another', async () => {
    const r = await send({ method: 'GET', query: 'Action=ListUsers&Version=2010-05-08', extraHeaders: { 'x-http-method-override': 'POST' } });
    expect(r.status, r.text).toBe(400);
  });

  it('presigned query authentication and an unknown access key are refused', async () => {
    const presigned = await request(`${iam.href}/?Action=ListUsers&Version=2010-05-08&X-Amz-Credential=x&X-Amz-Signature=00`, { dispatcher: stack.dispatcher });
    expect(presigned.statusCode).toBe(403);
    expect(await presigned.body.text()).toContain('MissingAuthenticationToken');
    const unknown = await send({ body: 'Action=ListUsers&Version=2010-05-08', keys: { accessKeyId: moto.held!.accessKeyId, secretAccessKey: moto.held!.secretAccessKey } });
    expect(unknown.status).toBe(403);
    expect(unknown.text).toContain('InvalidClientTokenId');
  });

  it('an Action spelled in another case than the operation\'s is refused in the service\'s envelope, before the policy', async () => {
    const user = await personWithKey();
    for (const action of ['CreateAccessKEY', 'Createaccesskey', 'CreateAccessKeys']) {
      const r = await send({ body: `Action=${action}&UserName=${user}&Version=2010-05-08` });
      expect(r.status, r.text).toBe(400);
      expect(r.text).toContain('<ErrorResponse');
      expect(r.text).toContain(`Action ${action} is not an operation of iam`);
    }
    expect(await keyCount(user)).toBe(1);
  });
});

interface SecurityGroupRule {
  SecurityGroupRuleId: string;
  IsEgress: boolean;
  IpProtocol: string;
  FromPort: number;
  CidrIpv4?: string;
}

describe('security-group attacks on the aws kind (ec2)', () => {
  const viaGateway = (args: string[]) => awsCli(ec2, CI, args, { ca: stack.certs.caCert });
  let groups = 0;

  async function groupWithSsh(cidr: string): Promise<string> {
    const name = `web-${++groups}`;
    const group = (JSON.parse(await direct(['ec2', 'create-security-group', '--group-name', name, '--description', name])) as { GroupId: string }).GroupId;
    await direct(['ec2', 'authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '22', '--cidr', cidr]);
    return group;
  }

  async function rulesOf(group: string): Promise<SecurityGroupRule[]> {
    return (JSON.parse(await direct(['ec2', 'describe-security-group-rules', '--filters', `Name=group-id,Values=${group}`])) as { SecurityGroupRules: SecurityGroupRule[] }).SecurityGroupRules;
  }

  it('ModifySecurityGroupRules cannot turn an SSH rule from 10.0.0.0/8 into one from the world', async () => {
    const group = await groupWithSsh('10.0.0.0/8');
    const open = await viaGateway(['ec2', 'authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '22', '--cidr', '0.0.0.0/0']);
    expect(open.code, open.stderr).not.toBe(0);
    const ssh = (await rulesOf(group)).find((r) => !r.IsEgress && r.CidrIpv4 === '10.0.0.0/8')!;
    const modify = await viaGateway(['ec2', 'modify-security-group-rules', '--group-id', group, '--security-group-rules',
      `SecurityGroupRuleId=${ssh.SecurityGroupRuleId},SecurityGroupRule={IpProtocol=tcp,FromPort=22,ToPort=22,CidrIpv4=0.0.0.0/0}`]);
    expect(modify.code, modify.stdout).not.toBe(0);
    expect(modify.stderr).toContain('sg-admin-port-world');
    expect((await rulesOf(group)).some((r) => !r.IsEgress && r.FromPort === 22 && r.CidrIpv4 === '0.0.0.0/0')).toBe(false);
  });

  it('ModifySecurityGroupRules narrowing an SSH rule goes through', async () => {
    const group = await groupWithSsh('10.0.0.0/8');
    const ssh = (await rulesOf(group)).find((r) => !r.IsEgress && r.CidrIpv4 === '10.0.0.0/8')!;
    const modify = await viaGateway(['ec2', 'modify-security-group-rules', '--group-id', group, '--security-group-rules',
      `SecurityGroupRuleId=${ssh.SecurityGroupRuleId},SecurityGroupRule={IpProtocol=tcp,FromPort=22,ToPort=22,CidrIpv4=10.1.2.0/24}`]);
    expect(modify.code, modify.stderr).toBe(0);
    expect((await rulesOf(group)).some((r) => !r.IsEgress && r.FromPort === 22 && r.CidrIpv4 === '10.1.2.0/24')).toBe(true);
  });

  it('two /1 ranges (the whole IPv4 internet) on SSH are refused, as is any range wider than a /16', async () => {
    const group = await groupWithSsh('10.0.0.0/16');
    const halves = await viaGateway(['ec2', 'authorize-security-group-ingress', '--group-id', group, '--ip-permissions',
      'IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/1},{CidrIp=128.0.0.0/1}]']);
    expect(halves.code, halves.stdout).not.toBe(0);
    expect(halves.stderr).toContain('sg-admin-port-world');
    const wide = await viaGateway(['ec2', 'authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '3389', '--cidr', '172.16.0.0/12']);
    expect(wide.code, wide.stdout).not.toBe(0);
    const v6 = await viaGateway(['ec2', 'authorize-security-group-ingress', '--group-id', group, '--ip-permissions',
      'IpProtocol=tcp,FromPort=22,ToPort=22,Ipv6Ranges=[{CidrIpv6=2000::/3}]']);
    expect(v6.code, v6.stdout).not.toBe(0);
    expect((await rulesOf(group)).filter((r) => !r.IsEgress).map((r) => r.CidrIpv4)).toEqual(['10.0.0.0/16']);
  });

  it('a security-group write the policy does not understand is denied with a reason', async () => {
    const group = await groupWithSsh('10.0.0.0/8');
    const r = await viaGateway(['ec2', 'associate-security-group-vpc', '--group-id', group, '--vpc-id', 'vpc-12345678']);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toContain('sg-action-unknown');
  });
});
