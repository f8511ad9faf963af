import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerProtocol, converse, decisionIdOf, rawRequest, statusOf, WS_UPGRADE } from '../helpers/raw-http.js';
import { startRealStack, type RealStack } from './gateway-stack.js';

/**
 * Issue 8, F1/F2/F6/F7 against a real kube-apiserver v1.33: each attack as raw bytes through the gateway, and
 * the apiserver's own state afterwards (read directly, not through the gateway) as the proof of what it executed.
 */
describe('request smuggling past the gate, against a real kube-apiserver', () => {
  let s: RealStack;
  let ca: Buffer;
  const jewels = '/api/v1/namespaces/default/configmaps/crown-jewels';
  const talk = (first: string, next?: string): Promise<string> => converse(s.gateway.url, ca, first, next);
  const admin = (): string => s.kube.tokens.admin;

  beforeAll(async () => {
    s = await startRealStack();
    ca = readFileSync(s.certs.caCert);
    for (const [path, body] of [
      ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'production' } }],
      ['/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'crown-jewels' }, data: { k: 'v' } }],
    ] as const) {
      const res = await s.direct('POST', path, body);
      expect(res.status, res.text).toBe(201);
    }
  });
  afterAll(async () => { await s?.close(); });

  const namespaceActive = async (name: string): Promise<boolean> => {
    const res = await s.direct('GET', `/api/v1/namespaces/${name}`);
    return res.status === 200 && res.json.status.phase === 'Active' && !res.json.metadata.deletionTimestamp;
  };
  const jewelsExist = async (): Promise<boolean> => (await s.direct('GET', jewels)).status === 200;

  it('F1: a pod delete in "production#" does not delete the protected namespace', async () => {
    const text = await talk(rawRequest('DELETE', '/k8s/api/v1/namespaces/production#/pods/x', admin(), 'connection: close\r\n'));
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_PATH');
    expect(await namespaceActive('production')).toBe(true);
  });

  it('F1: "#" does not turn a judged exec into a privileged pod create', async () => {
    const pod = JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root-shell' },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged: true } }] },
    });
    const text = await talk(rawRequest('POST', '/k8s/api/v1/namespaces/default/pods#/x/exec', admin(), 'content-type: application/json\r\nconnection: close\r\n', pod));
    expect(statusOf(text)).toBe(400);
    expect((await s.direct('GET', '/api/v1/namespaces/default/pods/root-shell')).status).toBe(404);
  });

  it('F1: ";" in the query is refused (Go drops the pair the policy would have read)', async () => {
    const text = await talk(rawRequest('DELETE', `/k8s${jewels}?dryRun=All;x=1`, admin(), 'connection: close\r\n'));
    expect(statusOf(text)).toBe(400);
    expect(await jewelsExist()).toBe(true);
  });

  it('F2: an upgrade of GET /version is refused, and the DELETE behind it never runs', async () => {
    const del = rawRequest('DELETE', `/k8s${jewels}`, admin());
    const text = await talk(rawRequest('GET', '/k8s/version', admin(), WS_UPGRADE) + del, del);
    expect(statusOf(text)).toBe(400);
    expect(await jewelsExist()).toBe(true);
  });

  it('F2: an Upgrade header on a write is refused: its body would reach the apiserver unjudged', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f2-unjudged' } });
    const text = await talk(rawRequest('POST', '/k8s/api/v1/namespaces/default/configmaps', admin(), `${WS_UPGRADE}content-type: application/json\r\n`, body));
    expect(statusOf(text)).toBe(400);
    expect((await s.direct('GET', '/api/v1/namespaces/default/configmaps/f2-unjudged')).status).toBe(404);
  });

  it('F2: an exec the apiserver answers without upgrading is relayed and closed; no later request reaches it', async () => {
    const deletesDecided = (): number => s.decisions().filter((e) => e.method === 'DELETE').length;
    const before = deletesDecided();
    const del = rawRequest('DELETE', `/k8s${jewels}`, admin());
    const exec = rawRequest('GET', '/k8s/api/v1/namespaces/default/pods/no-such-pod/exec?command=ls&stdout=1', admin(), WS_UPGRADE);
    const text = await talk(exec + del, del);
    expect(statusOf(text)).toBe(404);
    expect(text).toMatch(/^connection: close$/im);
    expect(text).toContain('"reason":"NotFound"');
    expect(await jewelsExist()).toBe(true);
    const id = decisionIdOf(text)!;
    expect(s.decisions().find((e) => e.decision_id === id)?.outcome).toBe('allowed');
    expect(s.upstreamEvents().find((e) => e.decision_id === id)?.upstream_status).toBe(404);
    // Only the exec was decided: the DELETEs have no record because they never reached the gate or the apiserver.
    expect(deletesDecided()).toBe(before);
  });

  it('F6: a WebSocket bearer-token subprotocol is the identity the policy is told, as the apiserver authenticates it', async () => {
    const exec = rawRequest('GET', '/k8s/api/v1/namespaces/default/pods/no-such-pod/exec?command=id&stdout=1', false,
      `${WS_UPGRADE}sec-websocket-protocol: ${bearerProtocol(s.kube.tokens.restricted)}, v5.channel.k8s.io\r\n`);
    const text = await talk(exec);
    // The apiserver authenticated the subprotocol token: its refusal names the restricted user.
    expect(statusOf(text)).toBe(403);
    expect(text).toContain('User \\"restricted\\"');
    const event = s.decisions().find((e) => e.decision_id === decisionIdOf(text))!;
    expect((event.input as any).request.userInfo.username).toBe('restricted');
    expect(event.caller.username).toBe('restricted');
  });

  it('F6: an Authorization header next to a bearer-token subprotocol is refused', async () => {
    const exec = rawRequest('GET', '/k8s/api/v1/namespaces/default/pods/no-such-pod/exec?command=id&stdout=1', admin(),
      `${WS_UPGRADE}sec-websocket-protocol: ${bearerProtocol(s.kube.tokens.restricted)}, v5.channel.k8s.io\r\n`);
    const text = await talk(exec);
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_REQUEST');
  });

  it('F7: Connection: impersonate-user is refused instead of judging one user and executing as another', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f7-intern' } });
    const text = await talk(rawRequest('POST', '/k8s/api/v1/namespaces/default/configmaps', admin(),
      'content-type: application/json\r\nimpersonate-user: restricted\r\nconnection: close, impersonate-user\r\n', body));
    expect(statusOf(text)).toBe(400);
    expect(text).toContain('WG_ERR_BAD_REQUEST');
    expect((await s.direct('GET', '/api/v1/namespaces/default/configmaps/f7-intern')).status).toBe(404);
  });
});
