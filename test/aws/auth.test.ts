/**
 * An AWS mount behind `listen.auth` (a token file, no anonymous callers): the kind authenticates its own callers
 * (SigV4 against aws.callers, UpstreamAdapter.authenticatesCallers), so the generic stage does not answer 401 to a
 * request that carries no gateway token, and identity headers are never facts on it, not even from the trusted proxy.
 * limits.perCaller counts an AWS caller by its verified identity, though its Authorization differs on every request.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { signRequest } from '../../src/upstreams/aws/sign.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { awsCli, heldAwsMount, startMoto, type KeyPair, type Moto } from './harness.js';

const CI: KeyPair = { accessKeyId: 'AKIAGATEWAYCALLERCI1', secretAccessKey: 'ci-caller-secret-0123456789abcdefghijklmn' };
const BUSY: KeyPair = { accessKeyId: 'AKIAGATEWAYCALLERBSY', secretAccessKey: 'busy-caller-secret-0123456789abcdefghijk' };
const QUIET: KeyPair = { accessKeyId: 'AKIAGATEWAYCALLERQUI', secretAccessKey: 'quiet-caller-secret-0123456789abcdefghij' };
/** limits.perCaller.burst: a bucket that does not refill within the test, so a request passes by the count alone. */
const BURST = 4;

let moto: Moto;
let stack: Stack;
let iam: string;

/** A POST of the Query protocol signed for the gateway with `keys` (as botocore signs it), with `extra` headers unsigned. */
async function signedPost(keys: KeyPair, form: string, extra: Record<string, string> = {}, dispatcher: Agent = stack.dispatcher): Promise<{ status: number; text: string }> {
  const url = new URL(`${iam}/`);
  const body = Buffer.from(form);
  const headers = signRequest(
    { method: 'POST', target: url.pathname, headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body },
    keys, { region: 'us-east-1', service: 'iam' }, new Date(),
  );
  delete headers.host;
  const res = await request(url, { method: 'POST', dispatcher, headers: { ...headers, ...extra }, body });
  return { status: res.statusCode, text: await res.body.text() };
}

function lastDecision(action: string): DecisionEvent {
  const all = stack.decisions().filter((d) => d.summary.startsWith(`${action} `));
  expect(all.length, `a decision record of ${action}`).toBeGreaterThan(0);
  return all[all.length - 1]!;
}

beforeAll(async () => {
  moto = await startMoto({ auth: true });
  const dir = mkdtempSync(join(tmpdir(), 'writegate-aws-auth-'));
  const callers = join(dir, 'aws-callers.csv');
  writeFileSync(callers, [CI, BUSY, QUIET].map((k, i) => `${k.accessKeyId},${k.secretAccessKey},${['ci-bot', 'busy-bot', 'quiet-bot'][i]},ci\n`).join(''));
  writeFileSync(join(dir, 'tokens.csv'), 'gateway-token-of-alice-0123456789,alice,u-alice\n');
  stack = await startStack({
    // The test's own address is the trusted proxy: its identity headers would be facts on any other kind.
    auth: { tokenFile: join(dir, 'tokens.csv'), anonymous: false, trustedProxy: { addresses: ['127.0.0.1/32'] } },
    limits: { perCaller: { rps: 0.001, burst: BURST, concurrent: 10 } },
    kinds: [heldAwsMount(moto, dir, 'iam', callers)],
  });
  iam = stack.url('aws-iam');
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await moto?.close();
});

describe('an AWS mount behind listen.auth', () => {
  it('takes the aws CLI\'s SigV4 requests as its callers\' and records how they were authenticated', async () => {
    const made = await awsCli(iam, CI, ['iam', 'create-user', '--user-name', 'svc-auth', '--tags', 'Key=writegate/service-user,Value=true'], { ca: stack.certs.caCert });
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).User.UserName).toBe('svc-auth');
    const d = lastDecision('CreateUser');
    expect(d.outcome).toBe('allowed');
    expect(d.caller).toMatchObject({ username: 'ci-bot', authenticated_by: 'token' });
    expect((d.input as { request: { userInfo: unknown } }).request.userInfo).toMatchObject({
      username: 'ci-bot', extra: { 'writegate.dev/aws-access-key-id': [CI.accessKeyId] }, authenticatedBy: 'token',
    });
  }, 120_000);

  it('answers an unsigned request, or one with a gateway token, in AWS\'s own envelope', async () => {
    const form = 'Action=CreateUser&UserName=nobody&Version=2010-05-08';
    const type = { 'content-type': 'application/x-www-form-urlencoded' };
    const unsigned = await request(`${iam}/`, { method: 'POST', dispatcher: stack.dispatcher, headers: type, body: form });
    expect(unsigned.statusCode).toBe(403);
    expect(await unsigned.body.text()).toMatch(/^<ErrorResponse .*<Code>MissingAuthenticationToken<\/Code><Message>[^<]*Request is missing Authentication Token/);
    const bearer = await request(`${iam}/`, { method: 'POST', dispatcher: stack.dispatcher, headers: { ...type, authorization: 'Bearer gateway-token-of-alice-0123456789' }, body: form });
    expect(bearer.statusCode).toBe(403);
    // A gateway token is no one on this mount: the signature AWS expects is not there.
    expect(await bearer.body.text()).toMatch(/^<ErrorResponse .*<Code>SignatureDoesNotMatch<\/Code>/);
    const refused = stack.decisions().filter((d) => d.upstream === 'aws-iam' && d.error?.code === 'WG_ERR_UNAUTHENTICATED');
    expect(refused.map((d) => d.error!.message)).toEqual(expect.arrayContaining([expect.stringContaining('Request is missing Authentication Token')]));
  });

  it('never takes identity headers for facts, not even from the trusted proxy', async () => {
    const r = await signedPost(CI, 'Action=CreateUser&UserName=svc-proxied&Version=2010-05-08&Tags.member.1.Key=writegate%2Fservice-user&Tags.member.1.Value=true', {
      'x-remote-user': 'olga', 'x-remote-group': 'platform-admins',
    });
    expect(r.status, r.text).toBe(200);
    const d = lastDecision('CreateUser');
    expect(d.caller).toMatchObject({ username: 'ci-bot', authenticated_by: 'token', stripped_identity_headers: ['x-remote-user', 'x-remote-group'] });
    expect((d.input as { request: { userInfo: { username: string; groups: string[] } } }).request.userInfo).toMatchObject({ username: 'ci-bot', groups: ['ci'] });
  });

  it('limits an AWS caller by its verified key, though its signature differs on every request, and leaves other callers alone', async () => {
    const list = 'Action=ListUsers&Version=2010-05-08';
    for (let i = 0; i < BURST; i++) expect((await signedPost(BUSY, list)).status).toBe(200);
    const over = await signedPost(BUSY, list);
    expect(over.status).toBe(429);
    expect(over.text).toContain('<Code>Throttling</Code>');
    // Requests whose signature does not verify are no caller's: they neither spend nor mint anyone's bucket (they
    // spend their address's, test/aws/limits.test.ts, so they come from an address of their own).
    const elsewhere = new Agent({ localAddress: '127.0.0.3', connect: { ca: readFileSync(stack.certs.caCert) } });
    try {
      for (let i = 0; i < 3; i++) expect((await signedPost({ ...QUIET, secretAccessKey: `guess-${i}` }, list, {}, elsewhere)).status).toBe(403);
    } finally {
      await elsewhere.close();
    }
    expect((await signedPost(QUIET, list)).status).toBe(200);
    const limited = stack.decisions().filter((d) => d.error?.code === 'WG_ERR_RATE_LIMITED');
    expect(limited.map((d) => [d.caller.username, d.caller.authenticated_by])).toEqual([['busy-bot', 'token']]);
  });
});
