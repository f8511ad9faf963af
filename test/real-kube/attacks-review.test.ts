import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converse, rawRequest, statusOf } from '../helpers/raw-http.js';
import { startRealStack, type HttpAnswer, type RealStack } from './gateway-stack.js';

/**
 * Adversarial review (after issue 7 and 8) against a real kube-apiserver v1.33: bodies and paths that Go's decoders
 * and the apiserver's routing read differently from a naive JSON reading. The apiserver's own state, read directly,
 * is the proof of what it executed.
 */
describe('attack review against a real kube-apiserver', () => {
  let s: RealStack;
  const admin = (): string => s.kube.tokens.admin;
  const talk = (bytes: string): Promise<string> => converse(s.gateway.url, readFileSync(s.certs.caCert), bytes);
  const decisionOf = (answer: HttpAnswer): any => s.decisions().find((e) => e.decision_id === answer.headers['x-decision-id']);

  beforeAll(async () => {
    s = await startRealStack();
    for (const [path, body] of [
      ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production' } }],
      ['/api/v1/namespaces/production/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'crown-jewels' }, data: { k: 'v' } }],
      ['/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'crown-jewels' }, data: { k: 'v' } }],
    ] as const) {
      const res = await s.direct('POST', path, body);
      expect(res.status, res.text).toBe(201);
    }
  });
  afterAll(async () => { await s?.close(); });

  const namespaceActive = async (): Promise<boolean> => {
    const res = await s.direct('GET', '/api/v1/namespaces/production');
    return res.status === 200 && !res.json.metadata.deletionTimestamp;
  };

  it('a DELETE body spelling DryRun in another case is a real delete to the apiserver (case-sensitive decoding) and is judged as one', async () => {
    const res = await s.viaGateway('DELETE', '/api/v1/namespaces/production', { DryRun: ['All'] });
    expect(res.status).toBe(403);
    expect(decisionOf(res).input.request.dryRun).toBe(false);
    expect(await namespaceActive()).toBe(true);
  });

  it('"Privileged": true in another case is judged as the object the apiserver stores (the dry run drops it)', async () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'case-fold' },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { Privileged: true } }] },
    };
    const res = await s.viaGateway('POST', '/api/v1/namespaces/default/pods', pod);
    const stored = await s.direct('GET', '/api/v1/namespaces/default/pods/case-fold');
    if (res.status === 201) {
      expect(stored.json.spec.containers[0].securityContext?.privileged).toBeUndefined();
      expect(decisionOf(res).input.request.object.spec.containers[0].securityContext).toEqual(stored.json.spec.containers[0].securityContext);
    } else {
      expect(stored.status).toBe(404);
    }
  });

  it('a JSON body with a second document after the object is refused or stored as judged', async () => {
    const first = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'trailing-a' } });
    const second = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'trailing-b' } });
    const res = await s.viaGateway('POST', '/api/v1/namespaces/default/configmaps', `${first}${second}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await s.direct('GET', '/api/v1/namespaces/default/configmaps/trailing-b')).status).toBe(404);
    expect((await s.direct('GET', '/api/v1/namespaces/default/configmaps/trailing-a')).status).toBe(404);
  });

  it('a JSON body with a UTF-8 BOM is refused, not judged as something else', async () => {
    const body = `\uFEFF${JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bom' } })}`;
    const res = await s.viaGateway('POST', '/api/v1/namespaces/default/configmaps', body);
    if (res.status === 201) expect(decisionOf(res).input.request.object.metadata.name).toBe('bom');
    else expect((await s.direct('GET', '/api/v1/namespaces/default/configmaps/bom')).status).toBe(404);
  });

  it('a body namespace other than the path\'s does not create in the protected namespace', async () => {
    const res = await s.viaGateway('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ns-swap', namespace: 'production' } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await s.direct('GET', '/api/v1/namespaces/production/configmaps/ns-swap')).status).toBe(404);
  });

  it('a DELETE on the watch special-verb path does not delete (the apiserver serves only GET there)', async () => {
    const text = await talk(rawRequest('DELETE', '/k8s/api/v1/watch/namespaces/production/configmaps/crown-jewels', admin(), 'connection: close\r\n'));
    expect(statusOf(text)).toBeGreaterThanOrEqual(400);
    expect((await s.direct('GET', '/api/v1/namespaces/production/configmaps/crown-jewels')).status).toBe(200);
  });

  it('a deletecollection with a label selector in the protected namespace is denied', async () => {
    const res = await s.viaGateway('DELETE', '/api/v1/namespaces/production/configmaps?labelSelector=x%21%3Dy');
    expect(res.status).toBe(403);
    expect((await s.direct('GET', '/api/v1/namespaces/production/configmaps/crown-jewels')).status).toBe(200);
  });

  it('an exec through a service proxy path in the protected namespace is judged as a connect in that namespace', async () => {
    const res = await s.viaGateway('POST', '/api/v1/namespaces/production/services/https:kubernetes:443/proxy/api/v1/namespaces/production/configmaps', {});
    expect(res.status).toBe(403);
  });

  it('the dry run the policy judges and the forwarded write name the same field manager', async () => {
    const res = await s.viaGateway('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'manager' }, data: { a: 'b' } });
    expect(res.status).toBe(201);
    const judged = decisionOf(res).input.request.object.metadata.managedFields.map((m: { manager: string }) => m.manager);
    const stored = (await s.direct('GET', '/api/v1/namespaces/default/configmaps/manager')).json.metadata.managedFields.map((m: { manager: string }) => m.manager);
    expect(judged).toEqual(stored);
  });
});
