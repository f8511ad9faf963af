/**
 * `identity: tokenreview` on a Kubernetes mount (the simulator's TokenReview): the caller's own bearer token is
 * reviewed upstream by the gateway as itself (its held credential), and the caller the review names is the policy's
 * userInfo and the identity the gateway impersonates upstream. Without listen.auth, and after it for tokens the
 * token file does not know.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../src/decision/log.js';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

const configMap = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; text: string }

async function create(s: Stack, name: string, token?: string): Promise<Reply> {
  const res = await request(`${s.k8s}/api/v1/namespaces/default/configmaps`, {
    method: 'POST', dispatcher: s.dispatcher, body: configMap(name),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function userInfoOf(s: Stack, res: Reply): any {
  const event = s.decisions().find((e: DecisionEvent) => e.decision_id === res.headers['x-decision-id']);
  if (!event) throw new Error(`no decision: ${res.status} ${res.text}`);
  return (event.input as any).request.userInfo;
}

function heldAdmin(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'writegate-tokenreview-')), 'upstream-token');
  writeFileSync(file, `${TOKENS.admin}\n`);
  return file;
}

describe('identity: tokenreview without listen.auth, held credential and impersonation', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ engine: 'opa', identity: 'tokenreview', credentials: { mode: 'held', tokenFile: heldAdmin(), impersonate: true } });
  });
  afterAll(async () => { await s?.close(); });
  beforeEach(() => s.sim.clearRequests());

  it('the reviewed caller is userInfo, and the upstream acts as the gateway impersonating that caller', async () => {
    const res = await create(s, 'reviewed-1', TOKENS.alice);
    expect(res.status, res.text).toBe(201);
    expect(userInfoOf(s, res)).toEqual({ username: 'alice', uid: 'u-alice', groups: ['devs', 'system:authenticated'], authenticatedBy: 'tokenreview' });
    const review = s.sim.requests.find((r) => r.url.includes('/tokenreviews'))!;
    // The review is the gateway's own call: its held credential, and the caller's token only in the body.
    expect(review.headers.authorization).toBe(`Bearer ${TOKENS.admin}`);
    expect(JSON.parse(review.body.toString('utf8')).spec.token).toBe(TOKENS.alice);
    const write = s.sim.requests.find((r) => r.method === 'POST' && r.url === '/api/v1/namespaces/default/configmaps')!;
    expect(write.headers.authorization).toBe(`Bearer ${TOKENS.admin}`);
    expect(write.headers['impersonate-user']).toBe('alice');
    expect(s.sim.store.get('/api/v1/namespaces/default/configmaps/reviewed-1')).toBeDefined();
  });

  it('reviews a token once and answers from the cache afterwards', async () => {
    await create(s, 'reviewed-2', TOKENS.ops);
    await create(s, 'reviewed-3', TOKENS.ops);
    expect(s.sim.requests.filter((r) => r.url.includes('/tokenreviews'))).toHaveLength(1);
  });

  it('a token the upstream does not authenticate is a 401, for reads too, and nothing else goes upstream', async () => {
    const res = await create(s, 'reviewed-4', 'not-a-kubernetes-token');
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    const read = await request(`${s.k8s}/api/v1/namespaces/default/configmaps`, { dispatcher: s.dispatcher, headers: { authorization: 'Bearer not-a-kubernetes-token' } });
    await read.body.text();
    expect(read.statusCode).toBe(401);
    expect(s.sim.requests.every((r) => r.url.includes('/tokenreviews'))).toBe(true);
  });

  it('no token at all is the anonymous user, impersonated as such', async () => {
    const res = await create(s, 'reviewed-5');
    expect(userInfoOf(s, res)).toEqual({ username: 'system:anonymous', groups: ['system:unauthenticated'], authenticatedBy: 'anonymous' });
    expect(res.status, res.text).toBe(201);
    const write = s.sim.requests.find((r) => r.method === 'POST' && r.url === '/api/v1/namespaces/default/configmaps')!;
    expect(write.headers['impersonate-user']).toBe('system:anonymous');
  });
});

describe('identity: tokenreview after listen.auth', () => {
  let s: Stack;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'writegate-tokenreview-auth-'));
    writeFileSync(join(dir, 'tokens.csv'), 'gateway-only-token-01,gwen,u-gwen,platform-admins\n');
    s = await startStack({
      engine: 'opa', identity: 'tokenreview', auth: { tokenFile: join(dir, 'tokens.csv') },
      credentials: { mode: 'held', tokenFile: heldAdmin(), impersonate: true },
    });
  });
  afterAll(async () => { await s?.close(); });
  beforeEach(() => s.sim.clearRequests());

  it('a token of the token file is the gateway\'s (no review); any other is reviewed upstream', async () => {
    const local = await create(s, 'after-auth-1', 'gateway-only-token-01');
    expect(local.status, local.text).toBe(201);
    expect(userInfoOf(s, local)).toMatchObject({ username: 'gwen', authenticatedBy: 'token' });
    expect(s.sim.requests.some((r) => r.url.includes('/tokenreviews'))).toBe(false);
    const reviewed = await create(s, 'after-auth-2', TOKENS.alice);
    expect(reviewed.status, reviewed.text).toBe(201);
    expect(userInfoOf(s, reviewed)).toMatchObject({ username: 'alice', authenticatedBy: 'tokenreview' });
  });

  it('no credential is refused: listen.auth.anonymous is false', async () => {
    expect((await create(s, 'after-auth-3')).status).toBe(401);
  });
});
