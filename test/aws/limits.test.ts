/**
 * limits.perCaller on an AWS mount: a request is buffered and its SigV4 signature HMAC-checked before anyone is known,
 * so one whose signature fails is charged to its client address, and an address whose bucket its failures emptied is
 * refused (429, Throttling) before its next body is read, whoever it claims to be. Verified callers spend their own
 * buckets, never their address's. Each part sends from an address of its own (127.0.0.x), against moto with auth.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/upstreams/aws/sign.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { heldAwsMount, startMoto, type KeyPair, type Moto } from './harness.js';

const ONE: KeyPair = { accessKeyId: 'AKIAGATEWAYLIMITS001', secretAccessKey: 'limits-one-secret-0123456789abcdefghijkl' };
const TWO: KeyPair = { accessKeyId: 'AKIAGATEWAYLIMITS002', secretAccessKey: 'limits-two-secret-0123456789abcdefghijkl' };
/** limits.perCaller.burst, with an rps that does not refill a whole request within the test. */
const BURST = 3;
const LIST = 'Action=ListUsers&Version=2010-05-08';

let moto: Moto;
let stack: Stack;
let iam: string;
const agents: Agent[] = [];

/** A client connecting from `localAddress`. */
function from(localAddress: string): Agent {
  const a = new Agent({ localAddress, connect: { ca: readFileSync(stack.certs.caCert) } });
  agents.push(a);
  return a;
}

/** A Query-protocol POST signed for the gateway with `keys`, as botocore signs it. */
async function signedPost(dispatcher: Agent, keys: KeyPair): Promise<{ status: number; text: string }> {
  const url = new URL(`${iam}/`);
  const body = Buffer.from(LIST);
  const headers = signRequest(
    { method: 'POST', target: url.pathname, headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body },
    keys, { region: 'us-east-1', service: 'iam' }, new Date(),
  );
  delete headers.host;
  const res = await request(url, { method: 'POST', dispatcher, headers, body });
  return { status: res.statusCode, text: await res.body.text() };
}

const forged = (i: number): KeyPair => ({ ...ONE, secretAccessKey: `guessed-secret-${i}` });

beforeAll(async () => {
  moto = await startMoto({ auth: true });
  const dir = mkdtempSync(join(tmpdir(), 'writegate-aws-limits-'));
  const callers = join(dir, 'aws-callers.csv');
  writeFileSync(callers, `${ONE.accessKeyId},${ONE.secretAccessKey},one-bot,ci\n${TWO.accessKeyId},${TWO.secretAccessKey},two-bot,ci\n`);
  stack = await startStack({
    limits: { perCaller: { rps: 0.001, burst: BURST, concurrent: 10 } },
    decisionLog: { refusedPerSecond: 1000, refusedBurst: 1000 },
    kinds: [heldAwsMount(moto, dir, 'iam', callers)],
  });
  iam = stack.url('aws-iam');
}, 180_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await stack?.close();
  await moto?.close();
});

describe('limits.perCaller on an AWS mount', () => {
  it('charges requests whose signature fails to their address: past the burst the address is throttled, a good signature too', async () => {
    const attacker = from('127.0.0.4');
    for (let i = 0; i < BURST; i++) {
      const r = await signedPost(attacker, forged(i));
      expect(r.status, r.text).toBe(403);
      expect(r.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    }
    const over = await signedPost(attacker, forged(BURST));
    expect(over.status, over.text).toBe(429);
    expect(over.text).toContain('<Code>Throttling</Code>');
    // Refused before its body is read: who signed it is not known, so the address's bucket decides.
    const signed = await signedPost(attacker, TWO);
    expect(signed.status, signed.text).toBe(429);
    const limited = stack.decisions().filter((d) => d.error?.code === 'WG_ERR_RATE_LIMITED' && d.caller.remote_addr === '127.0.0.4');
    expect(limited).toHaveLength(2);
    expect(limited.every((d) => d.caller.username === '')).toBe(true);
    // Another address is not held to them.
    expect((await signedPost(from('127.0.0.5'), TWO)).status).toBe(200);
  });

  it('verified callers spend their own buckets, not their address\'s', async () => {
    const shared = from('127.0.0.6');
    for (let i = 0; i < BURST; i++) expect((await signedPost(shared, ONE)).status).toBe(200);
    expect((await signedPost(shared, ONE)).status).toBe(429);
    // ONE's requests left the address's bucket full: TWO, from the same address, and failures there still have room.
    expect((await signedPost(shared, TWO)).status).toBe(200);
    expect((await signedPost(shared, forged(0))).status).toBe(403);
  });
});
