import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * Issue 8 regressions through the gateway, real OPA and the simulator (which reads YAML as YAML 1.1 and takes a
 * DELETE's options from its body, as kube-apiserver does). test/real-kube/exactness.test.ts has the same attacks
 * against a real apiserver.
 */
const POD_YES = 'apiVersion: v1\nkind: Pod\nmetadata: {name: yes-pod, namespace: default}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n    securityContext: {privileged: yes}\n';
const POD_MERGE = [
  'apiVersion: v1', 'kind: Pod', 'metadata: {name: merged-pod, namespace: default}', 'x-base: &base', '  securityContext: {privileged: true}',
  'spec:', '  containers:', '  - name: app', '    image: nginx:1.27', '    <<: *base', '',
].join('\n');

describe.each(['dryrun', 'local'] as const)('exactness with the simulator (resolve: %s)', (resolve) => {
  let s: Stack;
  beforeAll(async () => { s = await startStack({ engine: 'opa', resolve }); });
  afterAll(async () => { await s?.close(); });

  const decision = (res: { headers: Record<string, unknown> }): any => s.decisions().find((e) => e.decision_id === res.headers['x-decision-id']);
  const yaml = { 'content-type': 'application/yaml' };

  it('F3: privileged: yes is judged as true and denied; nothing is stored', async () => {
    const res = await s.call('POST', '/api/v1/namespaces/default/pods', { body: POD_YES, headers: yaml });
    expect(res.status, res.text).toBe(403);
    expect(res.json.message).toContain('[no-privileged-containers]');
    expect(decision(res).input.request.object.spec.containers[0].securityContext.privileged).toBe(true);
    expect(s.sim.store.get('/api/v1/namespaces/default/pods/yes-pod')).toBeUndefined();
  });

  it('F3: a << merge key is refused before anything reaches the upstream', async () => {
    s.sim.clearRequests();
    const res = await s.call('POST', '/api/v1/namespaces/default/pods', { body: POD_MERGE, headers: yaml });
    expect(res.status, res.text).toBe(400);
    expect(res.json.message).toContain('merge keys');
    expect(s.sim.requests.filter((r) => r.method === 'POST' && r.url.includes('/pods'))).toHaveLength(0);
  });

  it('F4: a DELETE with a body is judged with the body\'s options; the query\'s dryRun is not a dry run', async () => {
    s.sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `f4-${resolve}`, namespace: 'default' }, data: { a: '1' } });
    const res = await s.call('DELETE', `/api/v1/namespaces/default/configmaps/f4-${resolve}?dryRun=All`, { body: '{"propagationPolicy":"Background"}' });
    expect(res.status, res.text).toBe(200);
    expect(decision(res).input.request).toMatchObject({ dryRun: false, options: { kind: 'DeleteOptions', propagationPolicy: 'Background' } });
    expect(decision(res).input.request.options.dryRun).toBeUndefined();
    expect(s.sim.store.get(`/api/v1/namespaces/default/configmaps/f4-${resolve}`)).toBeUndefined();
  });

  it('F5: a Secret without kind and apiVersion is masked in the decision log', async () => {
    const value = `hunter2-sim-${resolve}`;
    const res = await s.call('POST', '/api/v1/namespaces/default/secrets', { body: JSON.stringify({ metadata: { name: `bare-${resolve}` }, stringData: { password: value } }) });
    expect(res.status, res.text).toBe(201);
    const object = decision(res).input.request.object;
    for (const field of ['data', 'stringData']) {
      if (object[field] !== undefined) expect(Object.values(object[field])).toEqual(['**masked**']);
    }
    const log = readFileSync(s.logPath, 'utf8');
    expect(log).not.toContain(value);
    expect(log).not.toContain(Buffer.from(value).toString('base64'));
  });

  it('F14: malformed JSON and YAML bodies are refused without quoting them', async () => {
    const secret = `hunter2-f14-${resolve}`;
    for (const [body, headers] of [
      [`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"stringData":{"password":${secret}}}`, {}],
      [`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"stringData":{"${secret}":"a","${secret}":"b"}}`, {}],
      [`apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData:\n  password: ${secret} : x\n`, yaml],
    ] as const) {
      const res = await s.call('POST', '/api/v1/namespaces/default/secrets', { body, headers });
      expect(res.status).toBe(400);
      expect(res.text).not.toContain(secret);
      expect(decision(res).error.code).toBe('WG_ERR_MALFORMED_BODY');
    }
    expect(readFileSync(s.logPath, 'utf8')).not.toContain(secret);
  });

  it('F11: ?force=1 reaches the policy as force: true; a bad integer option is refused as the apiserver refuses it', async () => {
    s.sim.store.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `f11-${resolve}`, namespace: 'default' }, data: { a: '1' } });
    const res = await s.call('PATCH', `/api/v1/namespaces/default/configmaps/f11-${resolve}?fieldManager=m&force=1`, {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `f11-${resolve}` }, data: { a: '2' } }),
      headers: { 'content-type': 'application/apply-patch+yaml' },
    });
    expect(res.status, res.text).toBe(200);
    expect(decision(res).input.request.options).toMatchObject({ kind: 'PatchOptions', force: true });
    const bad = await s.call('DELETE', `/api/v1/namespaces/default/configmaps/f11-${resolve}?gracePeriodSeconds=1e3`);
    expect(bad.status).toBe(400);
    // Go's url.ParseQuery drops a pair with a raw ";": the apiserver would not see what the policy saw.
    const semicolon = await s.call('DELETE', `/api/v1/namespaces/default/configmaps/f11-${resolve}?dryRun=All;x=1`);
    expect(semicolon.status).toBe(400);
    expect(semicolon.json.message).toContain('";"');
    expect(s.sim.store.get(`/api/v1/namespaces/default/configmaps/f11-${resolve}`)).toBeDefined();
  });
});
