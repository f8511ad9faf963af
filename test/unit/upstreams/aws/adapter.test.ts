import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import { isWritegateError, type WritegateError } from '../../../../src/errors.js';
import { AwsAdapter } from '../../../../src/upstreams/aws/adapter.js';
import { amzDateOf, authorizationHeader, sha256Hex, signature } from '../../../../src/upstreams/aws/sigv4.js';
import { verifySignature } from '../../../../src/upstreams/aws/verify.js';
import { CallersFile } from '../../../../src/upstreams/aws/callers.js';
import { childText, child, parseXml } from '../../../../src/upstreams/aws/xml.js';
import { UpstreamClient } from '../../../../src/upstreams/client.js';
import type { Classified, GateRequest } from '../../../../src/upstreams/types.js';

const dir = mkdtempSync(join(tmpdir(), 'writegate-aws-unit-'));
const callers = join(dir, 'callers.csv');
writeFileSync(callers, 'AKIACALLER0000000001,caller-secret,ci-bot,"ci,deployers"\n');
writeFileSync(join(dir, 'akid'), 'AKIAHELD000000000001\n');
writeFileSync(join(dir, 'secret'), 'held-secret-value\n');
const CALLER = { accessKeyId: 'AKIACALLER0000000001', secretAccessKey: 'caller-secret' };
const HOST = '127.0.0.1:8443';

function upstream(service: 'iam' | 'ec2', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `aws-${service}`, kind: 'aws', prefix: `/aws/${service}`, target: 'http://127.0.0.1:1', policy: 'writegate/aws/decision',
    aws: { service, region: 'us-east-1', callers },
    credentials: { mode: 'held', accessKeyIdFile: join(dir, 'akid'), secretAccessKeyFile: join(dir, 'secret') },
    ...extra,
  };
}

const cfg = parseConfig({ upstreams: [upstream('iam'), upstream('ec2')] });
const clients = cfg.upstreams.map((u) => new UpstreamClient(u));
const iam = new AwsAdapter(ofKind(cfg.upstreams[0]!, 'aws'), clients[0]!);
const ec2 = new AwsAdapter(ofKind(cfg.upstreams[1]!, 'aws'), clients[1]!);
afterAll(async () => { await Promise.all(clients.map((c) => c.close())); });

interface Signed {
  method?: string;
  /** The path the client sends to the gateway (prefix included) and the query. */
  path?: string;
  body?: string;
  keys?: { accessKeyId: string; secretAccessKey: string };
  scope?: { region: string; service: string };
  at?: Date;
  signedHeaders?: string[];
  headers?: Record<string, string>;
}

/** A request as the aws CLI signs it for the gateway, as the gate hands it to the adapter. */
function signed(o: Signed = {}): { req: GateRequest; body: Buffer } {
  const method = o.method ?? 'POST';
  const full = o.path ?? '/aws/iam';
  const body = Buffer.from(o.body ?? (method === 'POST' ? 'Action=CreateUser&UserName=bob&Version=2010-05-08' : ''));
  const amzDate = amzDateOf(o.at ?? new Date());
  const headers: Record<string, string> = {
    host: HOST, 'x-amz-date': amzDate, ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } : {}), ...o.headers,
  };
  const signedHeaders = o.signedHeaders ?? Object.keys(headers).filter((h) => ['content-type', 'host', 'x-amz-date'].includes(h)).sort();
  const q = full.indexOf('?');
  const path = q < 0 ? full : full.slice(0, q);
  const query = q < 0 ? [] : full.slice(q + 1).split('&').map((p) => p.split('=').map(decodeURIComponent) as [string, string]);
  const scope = { date: amzDate.slice(0, 8), ...(o.scope ?? { region: 'us-east-1', service: 'iam' }) };
  const keys = o.keys ?? CALLER;
  const sig = signature(keys.secretAccessKey, scope, amzDate, {
    method, path, query, headers: Object.fromEntries(signedHeaders.map((h) => [h, headers[h] ?? ''])), signedHeaders, payloadHash: sha256Hex(body),
  });
  headers.authorization = authorizationHeader(keys.accessKeyId, scope, signedHeaders, sig);
  const url = full.slice('/aws/iam'.length) || '/';
  return { req: { method, url, headers, upgrade: false, remoteAddress: '127.0.0.1' }, body };
}

function classify(adapter: AwsAdapter, r: { req: GateRequest; body: Buffer }): Classified {
  return adapter.classifyBody(r.req, adapter.classify(r.req), r.body);
}

function refusal(fn: () => unknown): WritegateError {
  try {
    fn();
  } catch (err) {
    if (isWritegateError(err)) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('AwsAdapter classification', () => {
  it('reads Get*/List*/Describe* from the form body or the query, judges everything else', () => {
    expect(classify(iam, signed({ body: 'Action=ListUsers&Version=2010-05-08' }))).toMatchObject({ isRead: true, operation: undefined, summary: 'ListUsers iam' });
    expect(classify(iam, signed({ method: 'GET', path: '/aws/iam/?Action=GetUser&UserName=bob&Version=2010-05-08' }))).toMatchObject({ isRead: true });
    expect(classify(iam, signed())).toMatchObject({ isRead: false, operation: 'CREATE', summary: 'CreateUser iam' });
    expect(classify(iam, signed({ method: 'GET', path: '/aws/iam/?Action=DeleteUser&UserName=bob&Version=2010-05-08' }))).toMatchObject({ isRead: false, operation: 'DELETE' });
    expect(classify(iam, signed({ body: 'Action=UpdateAccessKey&UserName=bob&AccessKeyId=AKIA1&Status=Inactive&Version=2010-05-08' }))).toMatchObject({ operation: 'UPDATE' });
    // The caller signed the endpoint URL with the trailing "/" this time: the same request to the gateway.
    expect(classify(iam, signed({ path: '/aws/iam/' }))).toMatchObject({ isRead: false });
  });

  it('knows the caller from the signature', () => {
    const c = classify(iam, signed());
    expect((c.detail as { caller: unknown }).caller).toEqual({
      username: 'ci-bot', uid: '', groups: ['ci', 'deployers'], extra: { 'writegate.dev/aws-access-key-id': ['AKIACALLER0000000001'] }, authenticatedBy: 'token',
    });
  });

  it.each([
    ['a path below the mount', () => iam.classify({ ...signed().req, url: '/users' }), 'WG_ERR_BAD_PATH'],
    ['PUT', () => iam.classify({ ...signed().req, method: 'PUT' }), 'WG_ERR_BAD_REQUEST'],
    ['a GET with a body', () => iam.classify({ ...signed({ method: 'GET', path: '/aws/iam/?Action=ListUsers&Version=2010-05-08' }).req, headers: { 'content-length': '3' } }), 'WG_ERR_BAD_REQUEST'],
    ['a POST with parameters in the query too', () => classify(iam, signed({ path: '/aws/iam/?UserName=admin' })), 'WG_ERR_BAD_REQUEST'],
    ['a JSON body', () => classify(iam, signed({ headers: { 'content-type': 'application/json' } })), 'WG_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['a duplicate parameter', () => classify(iam, signed({ body: 'Action=CreateUser&UserName=bob&UserName=admin&Version=2010-05-08' })), 'WG_ERR_MALFORMED_BODY'],
    ['no Action', () => classify(iam, signed({ body: 'UserName=bob&Version=2010-05-08' })), 'WG_ERR_BAD_REQUEST'],
    ['no Version', () => classify(iam, signed({ body: 'Action=CreateUser&UserName=bob' })), 'WG_ERR_BAD_REQUEST'],
  ])('refuses %s', (_name, fn, code) => {
    expect(refusal(fn).code).toBe(code);
  });
});

describe('SigV4 verification (attacks first)', () => {
  const awsCode = (fn: () => unknown): unknown => refusal(fn).details.awsCode;

  it.each([
    ['the wrong secret', { keys: { ...CALLER, secretAccessKey: 'guess' } }, 'SignatureDoesNotMatch'],
    ['an unknown access key', { keys: { accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'x' } }, 'InvalidClientTokenId'],
    ['another region\'s scope', { scope: { region: 'eu-west-1', service: 'iam' } }, 'SignatureDoesNotMatch'],
    ['another service\'s scope', { scope: { region: 'us-east-1', service: 'ec2' } }, 'SignatureDoesNotMatch'],
    ['a date 16 minutes ago', { at: new Date(Date.now() - 16 * 60_000) }, 'SignatureDoesNotMatch'],
    ['a date 16 minutes ahead', { at: new Date(Date.now() + 16 * 60_000) }, 'SignatureDoesNotMatch'],
    ['host not signed', { signedHeaders: ['content-type', 'x-amz-date'] }, 'SignatureDoesNotMatch'],
    ['x-amz-date not signed', { signedHeaders: ['content-type', 'host'] }, 'SignatureDoesNotMatch'],
    ['an unsigned payload', { headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, 'SignatureDoesNotMatch'],
  ])('refuses %s', (_name, o, code) => {
    expect(awsCode(() => classify(iam, signed(o as Signed)))).toBe(code);
  });

  it('refuses a body, path, host or content type changed after signing', () => {
    const r = signed();
    expect(awsCode(() => classify(iam, { ...r, body: Buffer.from('Action=CreateUser&UserName=admin&Version=2010-05-08') }))).toBe('SignatureDoesNotMatch');
    expect(awsCode(() => classify(iam, { ...r, req: { ...r.req, headers: { ...r.req.headers, host: 'evil:1' } } }))).toBe('SignatureDoesNotMatch');
    expect(awsCode(() => classify(iam, { ...r, req: { ...r.req, headers: { ...r.req.headers, 'content-type': 'application/x-www-form-urlencoded' } } }))).toBe('SignatureDoesNotMatch');
    const other = new AwsAdapter({ ...ofKind(cfg.upstreams[0]!, 'aws'), prefix: '/aws/other' }, clients[0]!);
    expect(awsCode(() => classify(other, r))).toBe('SignatureDoesNotMatch');
  });

  it('refuses a request without a signature, and a presigned one', () => {
    const r = signed();
    const { authorization: _, ...unsigned } = r.req.headers;
    expect(awsCode(() => classify(iam, { ...r, req: { ...r.req, headers: unsigned } }))).toBe('MissingAuthenticationToken');
    const presigned = signed({ method: 'GET', path: '/aws/iam/?Action=ListUsers&Version=2010-05-08&X-Amz-Signature=00' });
    const { authorization: __, ...rest } = presigned.req.headers;
    const e = refusal(() => classify(iam, { ...presigned, req: { ...presigned.req, headers: rest } }));
    expect(e.details.awsCode).toBe('MissingAuthenticationToken');
    expect(e.message).toContain('presigned');
  });

  it('authenticates no one while the callers file is malformed, and a removed caller at once', () => {
    const file = join(dir, 'callers-2.csv');
    const verify = (f: CallersFile): unknown => refusal(() => verifySignature(
      { method: 'POST', wirePaths: ['/aws/iam'], query: [], headers: signed().req.headers, body: signed().body }, { region: 'us-east-1', service: 'iam' }, f, new Date(),
    )).details.awsCode;
    const f = new CallersFile(file);
    writeFileSync(file, 'AKIACALLER0000000001,caller-secret,ci-bot\nAKIACALLER0000000001,other,mallory\n');
    expect(verify(f)).toBe('InvalidClientTokenId');
    writeFileSync(file, 'AKIAOTHER00000000001,other-secret,someone\n');
    expect(verify(f)).toBe('InvalidClientTokenId');
  });
});

describe('AwsAdapter answers', () => {
  it('denies in IAM\'s ErrorResponse and EC2\'s Response envelopes, reasons and decision id in the message', () => {
    const reasons = [{ msg: 'first <reason> & more' }, { msg: 'second' }];
    const i = parseXml(String(iam.renderDeny(reasons, 'd-1').body));
    expect(i.name).toBe('ErrorResponse');
    expect(childText(child(i, 'Error'), 'Code')).toBe('AccessDenied');
    expect(childText(child(i, 'Error'), 'Type')).toBe('Sender');
    expect(childText(child(i, 'Error'), 'Message')).toBe('writegate denied the request: first <reason> & more; second (decision d-1)');
    expect(childText(i, 'RequestId')).toBe('d-1');
    const e = ec2.renderDeny(reasons, 'd-2');
    expect(e.status).toBe(403);
    const x = parseXml(String(e.body));
    expect(x.name).toBe('Response');
    expect(childText(child(child(x, 'Errors'), 'Error'), 'Code')).toBe('AccessDenied');
    expect(childText(x, 'RequestID')).toBe('d-2');
  });

  it('answers a failed signature with AWS\'s code and status 403', () => {
    const e = refusal(() => classify(iam, signed({ keys: { ...CALLER, secretAccessKey: 'guess' } })));
    const r = iam.renderError(e, 'd-3');
    expect(r.status).toBe(403);
    expect(childText(child(parseXml(String(r.body)), 'Error'), 'Code')).toBe('SignatureDoesNotMatch');
  });

  it('signs the forwarded request with the held key pair for the upstream\'s host and path, replacing the caller\'s', () => {
    const body = Buffer.from('Action=CreateUser&UserName=bob&Version=2010-05-08');
    const out = iam.signForward(signed().req, {
      method: 'POST', target: '/', body,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'user-agent': 'aws-cli', 'x-amz-security-token': 'caller-token' },
    });
    expect(out.host).toBe('127.0.0.1:1');
    expect(out['x-amz-security-token']).toBeUndefined();
    expect(String(out.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAHELD000000000001\/\d{8}\/us-east-1\/iam\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/);
    // The upstream's own check (as moto or AWS runs it) accepts it with the held secret.
    const heldFile = join(dir, 'held-as-caller.csv');
    writeFileSync(heldFile, 'AKIAHELD000000000001,held-secret-value,gateway\n');
    const who = verifySignature({ method: 'POST', wirePaths: ['/'], query: [], headers: out, body }, { region: 'us-east-1', service: 'iam' }, new CallersFile(heldFile), new Date());
    expect(who.caller.username).toBe('gateway');
    expect(JSON.stringify(out)).not.toContain('held-secret-value');
  });

  it('masks secret parameters in the decision log\'s copy', () => {
    const masked = iam.maskInput({ request: { params: { Action: 'CreateLoginProfile', UserName: 'bob', Password: 'hunter2' }, query: {} } });
    expect(JSON.stringify(masked)).not.toContain('hunter2');
    expect((masked.request as { params: Record<string, string> }).params.UserName).toBe('bob');
  });
});

describe('kind: aws configuration', () => {
  const issues = (u: Record<string, unknown>): string[] => {
    try {
      parseConfig({ upstreams: [u] });
      return [];
    } catch (err) {
      return (err as { details: { issues: { key: string; why: string }[] } }).details.issues.map((i) => `${i.key}: ${i.why}`);
    }
  };

  it('accepts the issue\'s configuration, with files or environment variables', () => {
    expect(issues(upstream('iam'))).toEqual([]);
    expect(issues(upstream('iam', { credentials: { mode: 'held', accessKeyIdEnv: 'AKID', secretAccessKeyEnv: 'SECRET' } }))).toEqual([]);
  });

  it.each([
    ['passthrough', { credentials: { mode: 'passthrough' } }, 'upstreams.0.credentials.mode'],
    ['no credentials', { credentials: undefined }, 'upstreams.0.credentials.mode'],
    ['a bearer token file', { credentials: { mode: 'held', tokenFile: 't', accessKeyIdEnv: 'A', secretAccessKeyEnv: 'S' } }, 'upstreams.0.credentials.tokenFile'],
    ['both a file and a variable for one half', { credentials: { mode: 'held', accessKeyIdFile: 'a', accessKeyIdEnv: 'A', secretAccessKeyEnv: 'S' } }, 'upstreams.0.credentials.accessKeyIdFile'],
    ['a missing half', { credentials: { mode: 'held', accessKeyIdEnv: 'A' } }, 'upstreams.0.credentials.secretAccessKeyFile'],
    ['another service', { aws: { service: 's3', region: 'us-east-1', callers } }, 'upstreams.0.aws.service'],
    ['no callers file', { aws: { service: 'iam', region: 'us-east-1' } }, 'upstreams.0.aws.callers'],
  ])('refuses %s', (_name, extra, key) => {
    expect(issues(upstream('iam', extra)).map((i) => i.split(':')[0])).toContain(key);
  });

  it('refuses the AWS key pair keys on an upstream of another kind', () => {
    const k8s = { name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' };
    expect(issues({ ...k8s, credentials: { mode: 'held', tokenFile: 't', accessKeyIdFile: 'a' } }))
      .toContain('upstreams.0.credentials.accessKeyIdFile: a credentials key of kind aws, not of kind kubernetes');
  });
});
