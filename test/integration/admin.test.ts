/**
 * The admin API (/-/admin/policies/...) of a running gateway in front of a small REST API, with a real OPA that
 * holds only what the tests push from a real git repository: off by default, the token, plan / push / drift with
 * the CLI's semantics, and the gateway deciding by the pushed policy at once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../app/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import type { RawConfig } from '../../src/config/schema.js';
import { OpaClient } from '../../src/opa/client.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { push } from '../../src/policy/lifecycle.js';
import { until } from '../helpers/wait.js';

const TOKEN = 'admin-token-for-tests-0123456789';
/** What a record says of a token: the first 12 hex digits of its SHA-256. */
const digest = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 12);
const POLICY = 'gate/allow';
const allowing = (method: string): string => `package gate\n\ndefault allow := false\n\nallow if input.method == "${method}"\n`;

describe('admin API: the policy lifecycle on the gateway', () => {
  let api: Server;
  let opa: LocalOpa;
  let client: OpaClient;
  let gateway: Gateway;
  let plain: Gateway;
  let repo: string;
  let dir: string;

  const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, encoding: 'utf8' }).trim();
  const commit = (text: string): string => {
    writeFileSync(join(repo, 'gate.rego'), text);
    git('add', '--all');
    git('commit', '--quiet', '--allow-empty', '--message', 'policy');
    return git('rev-parse', 'HEAD');
  };
  /** `token` null: no Authorization header. */
  const admin = async (gw: Gateway, action: string, body: unknown, token: string | null = TOKEN) => {
    const res = await request(`${gw.url}/-/admin/policies/${action}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    });
    return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as Record<string, any> };
  };
  /** The admin API's records (url /-/admin/...), in order. */
  const records = (): DecisionEvent[] => {
    gateway.decisionLog.flush();
    return readFileSync(join(dir, 'decisions.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionEvent)
      .filter((e) => e.type === 'writegate/decision' && e.url.startsWith('/-/admin/'));
  };
  /** Each test starts from an OPA without modules. */
  const reset = async (): Promise<void> => {
    for (const p of await client.listPolicies()) await client.deletePolicy(p.id);
  };
  const write = async (): Promise<number> => {
    const res = await request(`${gateway.url}/things/v1/things/t-1`, { method: 'POST', body: '{"name":"t-1"}', headers: { 'content-type': 'application/json' } });
    await res.body.dump();
    return res.statusCode;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wg-admin-'));
    repo = join(dir, 'repo');
    execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo]);
    commit(allowing('POST'));
    api = createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); }); });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    opa = await startLocalOpa({ paths: [] });
    client = new OpaClient({ url: opa.url, timeoutMs: 10_000 });
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const raw: RawConfig = {
      listen: { host: '127.0.0.1', port: 0 },
      opa: { url: opa.url },
      decisionLog: { path: join(dir, 'decisions.log') },
      admin: { tokenFile: join(dir, 'token'), source: repo, protect: ['gate'], pushLog: join(dir, 'push.log') },
      upstreams: [{
        name: 'things', kind: 'generic', prefix: '/things', target: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, policy: POLICY,
        generic: { templates: ['/v1/things/{id}'] },
      }],
    };
    gateway = await startGateway(parseConfig(raw));
    const { admin: _, ...off } = raw;
    plain = await startGateway(parseConfig({ ...off, decisionLog: { path: join(dir, 'plain.log') } }));
  });

  afterAll(async () => {
    await gateway?.close();
    await plain?.close();
    await client?.close();
    await opa?.stop();
    api?.close();
  });

  it('is off without admin.tokenFile (404), and refuses a missing or wrong token (401)', async () => {
    expect((await admin(plain, 'plan', {})).status).toBe(404);
    const none = await admin(gateway, 'plan', {}, null);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await admin(gateway, 'plan', {}, `${TOKEN}x`)).status).toBe(401);
    expect((await admin(gateway, 'plan', {}, '')).status).toBe(401);
    const before = await client.listPolicies();
    expect((await admin(gateway, 'push', {}, TOKEN.slice(0, -1))).status).toBe(401);
    expect(await client.listPolicies()).toEqual(before);
    // Each refusal in the catalogue's terms, recorded with the digest of the token presented; never the token.
    expect(none.json).toEqual({ code: 'WG_ERR_UNAUTHENTICATED', message: 'the caller is not authenticated: the admin API needs Authorization: Bearer <admin token>' });
    const refused = records().filter((r) => r.error?.code === 'WG_ERR_UNAUTHENTICATED');
    expect(refused.map((r) => [r.url, r.outcome, r.upstream_status, r.caller.token_sha256, r.caller.authenticated_by])).toEqual([
      ['/-/admin/policies/plan', 'error', 401, undefined, undefined],
      ['/-/admin/policies/plan', 'error', 401, digest(`${TOKEN}x`), undefined],
      ['/-/admin/policies/plan', 'error', 401, undefined, undefined],
      ['/-/admin/policies/push', 'error', 401, digest(TOKEN.slice(0, -1)), undefined],
    ]);
    expect(readFileSync(join(dir, 'decisions.log'), 'utf8')).not.toContain(TOKEN.slice(0, 12));
  });

  it('refuses a body that is not JSON in the catalogue\'s terms, and records it', async () => {
    const res = await request(`${gateway.url}/-/admin/policies/push`, { method: 'POST', body: '{"approve":', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ code: 'WG_ERR_MALFORMED_BODY' });
    expect(records().at(-1)).toMatchObject({
      url: '/-/admin/policies/push', outcome: 'error', upstream_status: 400, error: { code: 'WG_ERR_MALFORMED_BODY' },
      caller: { token_sha256: digest(TOKEN), authenticated_by: 'token' },
    });
  });

  it('plans, refuses an unapproved protected push, pushes with the plan hash, and the gateway decides by it at once', async () => {
    await reset();
    commit(allowing('POST'));
    const bad = await admin(gateway, 'plan', { ref: 7 });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('WG_ERR_BAD_REQUEST');
    expect(bad.json.message).toContain('ref');
    // The token is for pushing policy, not for reading other repositories on the gateway's host.
    const elsewhere = await admin(gateway, 'plan', { source: '/etc' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json.message).toContain('source');

    const planned = await admin(gateway, 'plan', {});
    expect(planned.status).toBe(200);
    expect(planned.json).toMatchObject({ changed: true, changes: [{ id: 'gate.rego', action: 'add', package: 'gate', protected: true }] });
    expect(await write()).toBe(403);

    const refused = await admin(gateway, 'push', {});
    expect(refused.status).toBe(403);
    expect(refused.json.refused.reason).toBe('approval_required');
    expect(await client.listPolicies()).toEqual([]);

    const pushed = await admin(gateway, 'push', { approve: planned.json.hash });
    expect(pushed.status).toBe(200);
    expect(pushed.json.outcome).toBe('pushed');
    expect(await write()).toBe(200);
    // Each action is recorded: what, by which token (its digest), with what result.
    expect(records().slice(-3).map((r) => [r.operation, r.outcome, r.upstream_status, r.caller.token_sha256, r.caller.authenticated_by, r.reasons.length > 0])).toEqual([
      ['plan', 'allowed', 200, digest(TOKEN), 'token', false],
      ['push', 'denied', 403, digest(TOKEN), 'token', true],
      ['push', 'allowed', 200, digest(TOKEN), 'token', false],
    ]);

    // A second change, approved and pushed: the residual compiled for the first one is dropped, and the next
    // write is decided by the new policy.
    const head = commit(allowing('PUT'));
    const second = await admin(gateway, 'plan', {});
    expect(second.json.changes[0]).toMatchObject({ id: 'gate.rego', action: 'change' });
    expect(second.json.changes[0].diff).toContain('+allow if input.method == "PUT"');
    const revision = gateway.app.residual?.residual(POLICY)?.revision;
    expect((await admin(gateway, 'push', { approve: second.json.hash })).status).toBe(200);
    expect(gateway.app.residual?.residual(POLICY)?.revision).not.toBe(revision);
    expect(await write()).toBe(403);
    expect(await client.getData('writegate/meta')).toMatchObject({ revision: head });

    // The hash of the first change does not approve another one.
    commit(allowing('PATCH'));
    const stale = await admin(gateway, 'push', { approve: planned.json.hash });
    expect(stale.status).toBe(409);
    expect(stale.json.refused.reason).toBe('approval_mismatch');
  });

  it('drift finds a module uploaded by hand; fix removes it', async () => {
    await reset();
    commit(allowing('DELETE'));
    await client.putPolicy('gate.rego', allowing('DELETE'));
    await client.putPolicy('by-hand.rego', 'package other\n\nx := 1\n');
    const found = await admin(gateway, 'drift', {});
    expect(found.status).toBe(200);
    expect(found.json).toMatchObject({ inSync: false, extra: ['by-hand.rego'] });
    const fixed = await admin(gateway, 'drift', { fix: true, approve: found.json.plan.hash });
    expect(fixed.status).toBe(200);
    expect(fixed.json.fix.inSync).toBe(true);
    expect((await client.listPolicies()).map((p) => p.id)).toEqual(['gate.rego']);
  });

  it('a push that does not go through the gateway (the CLI\'s) is in force within a second: the residual poll sees it', async () => {
    await reset();
    commit(allowing('POST'));
    const options = { source: repo, cache: join(dir, 'cli-cache'), opa: client, protect: [], pushLog: join(dir, 'cli-push.log') };
    await push(options);
    await until(async () => (await write()) === 200, { timeoutMs: 5000, what: 'the allowing policy in force' });
    await until(() => gateway.app.residual?.residual(POLICY)?.text !== undefined, { timeoutMs: 5000, what: 'a compiled residual' });
    commit(allowing('PUT'));
    await push(options);
    // Polled; the bound is generous for a shared 2-core machine (the engine re-checks every 500 ms).
    await until(async () => (await write()) === 403, { timeoutMs: 3000, intervalMs: 10, what: 'the denying policy in force' });
  });
});
