/**
 * A bearer token in the WebSocket subprotocol (`base64url.bearer.authorization.k8s.io.<token>`, which the apiserver
 * takes as a bearer token on upgrades) with `listen.auth.tokenFile`: a gateway token there would be neither read as
 * the gateway's nor removed, and would go upstream with the upgrade. The gateway refuses it: with a token file, a
 * bearer token goes in Authorization.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

const GATEWAY_TOKEN = 'gateway-token-of-alice-0123456789';
const EXEC = '/k8s/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true';

/** An exec upgrade as kubectl sends it over WebSocket, with `headers`; the gateway's answer (of a 101, its head). */
async function execUpgrade(stack: Stack, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const url = new URL(stack.gateway.url);
  const socket = connect({ host: url.hostname, port: Number(url.port), ca: readFileSync(stack.certs.caCert) });
  const head = [`GET ${EXEC} HTTP/1.1`, `host: ${url.host}`, 'connection: Upgrade', 'upgrade: websocket', 'sec-websocket-version: 13',
    'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  let text = '';
  for await (const c of socket) {
    text += (c as Buffer).toString('utf8');
    // An upgraded connection stays open: its head is the answer.
    if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) break;
  }
  socket.destroy();
  return { status: Number(text.slice(9, 12)), text };
}

const subprotocol = (token: string): string => `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}, v5.channel.k8s.io`;

describe('a bearer token in the WebSocket subprotocol, with listen.auth.tokenFile and anonymous callers', () => {
  let stack: Stack;

  beforeAll(async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'wg-ws-tokens-')), 'tokens.csv');
    writeFileSync(tokenFile, `${GATEWAY_TOKEN},alice,u-alice,devs\n`);
    stack = await startStack({ engine: 'opa', simOpen: true, auth: { anonymous: true, tokenFile } });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('is refused (401), whether it is a gateway token or not, and never goes upstream', async () => {
    for (const token of [GATEWAY_TOKEN, 'some-upstream-service-account-token']) {
      const r = await execUpgrade(stack, { 'sec-websocket-protocol': subprotocol(token) });
      expect(r.status, r.text).toBe(401);
      expect(r.text).toContain('WG_ERR_UNAUTHENTICATED');
      expect(r.text).toContain('Authorization');
    }
    const refused = stack.decisions().filter((d) => d.url.includes('/pods/web-0/exec'));
    expect(refused.map((d) => [d.error?.code, d.upstream_status])).toEqual([['WG_ERR_UNAUTHENTICATED', null], ['WG_ERR_UNAUTHENTICATED', null]]);
    expect(JSON.stringify(stack.events())).not.toContain(Buffer.from(GATEWAY_TOKEN).toString('base64url'));
  });

  it('leaves an exec upgrade with the gateway token in Authorization to the policy', async () => {
    const r = await execUpgrade(stack, { authorization: `Bearer ${GATEWAY_TOKEN}`, 'sec-websocket-protocol': 'v5.channel.k8s.io' });
    expect(r.status, r.text).not.toBe(401);
    const d = stack.decisions().filter((e) => e.url.includes('/pods/web-0/exec')).at(-1)!;
    expect(d.caller).toMatchObject({ username: 'alice', authenticated_by: 'token' });
  });
});
