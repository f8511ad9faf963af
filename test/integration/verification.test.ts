import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionEvent, LogRecord, ResidualMismatchEvent, VerificationEvent } from '../../src/decision/log.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const POLICY = 'writegate/kubernetes/decision';
const configMap = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: 'b' } });
const FREEZE = [
  'package writegate.kubernetes',
  'deny contains {"msg": "configmaps named stale-* are frozen", "rule": "test-freeze"} if {',
  '  input.request.kind.kind == "ConfigMap"',
  '  startswith(input.request.name, "stale-")',
  '}',
].join('\n');

/** Every line of the decision log; the stack types them as a request's records, re-check records are here too. */
const records = (s: Stack): LogRecord[] => s.events() as LogRecord[];

function recordOf<T extends LogRecord['type']>(s: Stack, type: T, decisionId: string): Extract<LogRecord, { type: T }> | undefined {
  return records(s).find((r): r is Extract<LogRecord, { type: T }> => r.type === type && 'decision_id' in r && r.decision_id === decisionId);
}

async function create(s: Stack, name: string): Promise<{ status: number; id: string; event: DecisionEvent; message: string }> {
  const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', { body: configMap(name) });
  const id = res.headers['x-decision-id'] as string;
  return { status: res.status, id, event: s.decisions().find((e) => e.decision_id === id)!, message: String(res.json?.message ?? '') };
}

async function metric(s: Stack, line: string): Promise<number | undefined> {
  const res = await s.call('GET', `${s.gateway.url}/-/metrics`);
  const found = res.text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

/** OPA writes its console decision log asynchronously to the response; wait (bounded) for the id to show up. */
async function loggedByOpa(s: Stack, id: string): Promise<boolean> {
  await until(() => s.opaDecisionIds.has(id), { timeoutMs: 2000, intervalMs: 10 }).catch(() => undefined);
  return s.opaDecisionIds.has(id);
}

async function compiled(s: Stack): Promise<void> {
  await until(() => s.gateway.app.residual?.residual(POLICY)?.text !== undefined, { timeoutMs: 5000, what: 'the residual compiled' });
}

describe('shadow verification of residual allows', () => {
  let s: Stack;
  beforeEach(async () => {
    s = await startStack();
    await compiled(s);
  });
  afterEach(async () => { await s?.close(); });

  it('re-checks a residual allow with OPA and records OPA\'s own decision_id under the gateway\'s', async () => {
    const w = await create(s, 'verified-1');
    expect(w.status).toBe(201);
    expect(w.event.engine).toBe('residual');
    await s.gateway.app.verifier!.idle();
    const v = recordOf(s, 'writegate/verification', w.id)!;
    expect(v).toMatchObject({ verified: true, upstream: 'k8s', path: POLICY, revision: w.event.revision, opa: { defined: true, result: { allow: true, deny: [], warn: [] } } });
    expect(v.opa.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(v.opa.decision_id).not.toBe(w.id);
    expect(await loggedByOpa(s, v.opa.decision_id!)).toBe(true);
    expect(recordOf(s, 'writegate/residual-mismatch', w.id)).toBeUndefined();
    expect(await metric(s, 'writegate_residual_verifications_total{upstream="k8s",result="verified"}')).toBe(1);
    expect(await metric(s, 'writegate_residual_mismatches_total{upstream="k8s"}')).toBeUndefined();
  });

  it('a stale residual allows a write OPA now denies: the mismatch is recorded and counted, and OPA decides the path until the policy changes', async () => {
    // Polling stopped: the residual stays at the revision it compiled, as it would for up to one poll interval.
    s.gateway.app.residual!.stop();
    const put = await request(`${s.opa.url}/v1/policies/test-freeze`, { method: 'PUT', body: FREEZE, headers: { 'content-type': 'text/plain' } });
    expect(put.statusCode).toBe(200);
    await put.body.dump();

    const stale = await create(s, 'stale-1');
    expect(stale.status).toBe(201);
    expect(stale.event.engine).toBe('residual');
    await s.gateway.app.verifier!.idle();
    const m: ResidualMismatchEvent = recordOf(s, 'writegate/residual-mismatch', stale.id)!;
    expect(m).toMatchObject({
      upstream: 'k8s', path: POLICY, revision: stale.event.revision,
      residual: { result: stale.event.result },
      opa: { defined: true, result: { allow: false } },
    });
    expect(stale.event.result).toEqual({ allow: true, deny: [], warn: [] });
    expect(m.opa.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await loggedByOpa(s, m.opa.decision_id!)).toBe(true);
    expect(m.reasons).toEqual(['deny: configmaps named stale-* are frozen']);
    expect(recordOf(s, 'writegate/verification', stale.id)).toBeUndefined();
    expect(await metric(s, 'writegate_residual_mismatches_total{upstream="k8s"}')).toBe(1);
    expect(await metric(s, 'writegate_residual_verifications_total{upstream="k8s",result="mismatch"}')).toBe(1);

    // The residual is off for this revision although it has not changed: OPA denies the next such write ...
    expect(s.gateway.app.residual!.residual(POLICY)!.revision).toBe(stale.event.revision);
    const next = await create(s, 'stale-2');
    expect(next.status).toBe(403);
    expect(next.event.engine).toBe('opa');
    expect(next.message).toContain('configmaps named stale-* are frozen');
    // ... and decides every other write on the path too.
    const other = await create(s, 'other-1');
    expect(other.status).toBe(201);
    expect(other.event.engine).toBe('opa');
    expect(await metric(s, 'writegate_residual_events_total{event="fallback",reason="verification mismatch"}')).toBe(2);

    // The policy change reaches the residual (a poll): the new revision decides locally again.
    await s.gateway.app.residual!.start();
    const revision = s.gateway.app.residual!.residual(POLICY)!.revision;
    expect(revision).not.toBe(stale.event.revision);
    const fresh = await create(s, 'other-2');
    expect(fresh.status).toBe(201);
    expect(fresh.event).toMatchObject({ engine: 'residual', revision });
    const denied = await create(s, 'stale-3');
    expect(denied.status).toBe(403);
    expect(denied.event.engine).toBe('opa');
    await s.gateway.app.verifier!.idle();
    expect(recordOf(s, 'writegate/verification', fresh.id)).toMatchObject({ verified: true, revision } satisfies Partial<VerificationEvent>);
    expect(await metric(s, 'writegate_residual_mismatches_total{upstream="k8s"}')).toBe(1);
  });
});

describe('shadow verification at shutdown', () => {
  it('a re-check of a write answered just before the gateway closes is in the log after close', async () => {
    const s = await startStack();
    let closed = false;
    try {
      await compiled(s);
      const w = await create(s, 'closing-1');
      expect(w.event.engine).toBe('residual');
      await s.close();
      closed = true;
      const lines = readFileSync(s.logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord);
      expect(lines.find((r) => r.type === 'writegate/verification' && r.decision_id === w.id)).toMatchObject({ verified: true });
    } finally {
      if (!closed) await s.close();
    }
  });
});
