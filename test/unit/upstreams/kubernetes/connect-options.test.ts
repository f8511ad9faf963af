import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import { KubernetesAdapter } from '../../../../src/upstreams/kubernetes/adapter.js';
import { UpstreamClient } from '../../../../src/upstreams/client.js';
import type { GateRequest } from '../../../../src/upstreams/types.js';
import { startKubeSim, type KubeSim } from '../../../../sim/kubernetes/index.js';

describe('connect options read from the query as the apiserver reads them (F11)', () => {
  let sim: KubeSim;
  let client: UpstreamClient;
  let adapter: KubernetesAdapter;
  beforeAll(async () => {
    sim = await startKubeSim();
    const cfg = ofKind(parseConfig({ upstreams: [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: sim.url, policy: 'p' }] }).upstreams[0]!, 'kubernetes');
    client = new UpstreamClient(cfg);
    adapter = new KubernetesAdapter(cfg, client);
  });
  afterAll(async () => { await client.close(); await sim.close(); });

  const input = (url: string): Promise<any> => {
    const r: GateRequest = { method: 'POST', url, headers: { authorization: 'Bearer t' }, upgrade: false, remoteAddress: '127.0.0.1' };
    return adapter.buildInput(r, adapter.classify(r), undefined, client);
  };

  it('exec flags: false only for 0 and false in any case; the first value counts', async () => {
    const { request } = await input('/api/v1/namespaces/default/pods/p/exec?command=id&stdin=1&stdout=FALSE&stderr=0&tty=true&tty=false');
    expect(request.object).toMatchObject({ command: ['id'], stdin: true, stdout: false, stderr: false, tty: true });
  });

  it('portforward ports: decimal, comma-separated or repeated; anything the apiserver refuses is refused', async () => {
    expect((await input('/api/v1/namespaces/default/pods/p/portforward?ports=80,0443&ports=8080')).request.object.ports).toEqual([80, 443, 8080]);
    for (const bad of ['0x50', '80,', '+80', '70000', '8%2080']) {
      await expect(input(`/api/v1/namespaces/default/pods/p/portforward?ports=${bad}`)).rejects.toMatchObject({ code: 'WG_ERR_BAD_REQUEST' });
    }
  });
});
