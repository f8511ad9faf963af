import { describe, expect, it } from 'vitest';
import { ofKind } from '../../../../src/config/schema.js';
import { parseConfig } from '../../../../src/config/load.js';
import { UpstreamClient } from '../../../../src/upstreams/client.js';
import { UpstreamHeaders } from '../../../../src/upstreams/headers.js';
import { KubernetesAdapter } from '../../../../src/upstreams/kubernetes/adapter.js';

const cfg = ofKind(parseConfig({ upstreams: [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'p' }] }).upstreams[0]!, 'kubernetes');
const client = new UpstreamClient(cfg);
const adapter = new KubernetesAdapter(cfg, client);
const headers = new UpstreamHeaders(adapter.headers);

describe('Kubernetes request-header rules', () => {
  it.each(['Impersonate-User', 'impersonate-uid', 'impersonate-extra-scopes', 'x-remote-group', 'x-remote-user'])('refuses a Connection header listing %s', (name) => {
    const { headers: kept, refused } = headers.endToEnd({ connection: `keep-alive, ${name}`, [name.toLowerCase()]: 'x' });
    expect(refused?.code).toBe('WG_ERR_BAD_REQUEST');
    expect(kept[name.toLowerCase()]).toBeUndefined();
  });

  it('reads every Connection header value', () => {
    const { refused } = headers.endToEnd({ connection: ['close', 'impersonate-user'] as unknown as string });
    expect(refused?.code).toBe('WG_ERR_BAD_REQUEST');
  });

  it('never forwards a client\'s front-proxy identity headers, and forwards impersonation for the apiserver to authorize', () => {
    expect(headers.forwarded({
      'x-remote-user': 'root', 'x-remote-group': 'system:masters', 'x-remote-uid': '0', 'x-remote-extra-scopes': 's',
      'impersonate-user': 'bob', authorization: 'Bearer t', 'x-decision-id': 'forged',
    }, 'id-1')).toEqual({ 'impersonate-user': 'bob', authorization: 'Bearer t', 'x-decision-id': 'id-1' });
  });

  it('side calls carry the caller\'s credentials and impersonation, never front-proxy headers', () => {
    expect(adapter.headers.credentials({
      method: 'POST', url: '/api/v1/namespaces/default/configmaps', upgrade: false, remoteAddress: '127.0.0.1',
      headers: { authorization: 'Bearer t', 'impersonate-group': 'g', 'x-remote-user': 'root', accept: '*/*' },
    })).toEqual({ authorization: 'Bearer t', 'impersonate-group': 'g' });
  });
});
