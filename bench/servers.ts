/**
 * Child processes for the benchmark, so the load generator, the proxy under
 * test and the upstream each run in their own process (as in production):
 *   node dist-dev/bench/servers.js sim          (the Kubernetes simulator)
 *   node dist-dev/bench/servers.js cloudflare   (the Cloudflare simulator)
 *   node dist-dev/bench/servers.js netbox       (the NetBox simulator, under /netbox)
 *   node dist-dev/bench/servers.js bare <upstream-url>
 * Each prints its URL on stdout once listening.
 */
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { startCloudflareSim } from '../sim/cloudflare/index.js';
import { startKubeSim } from '../sim/kubernetes/index.js';
import { startNetboxSim } from '../sim/netbox/index.js';

const [kind, target] = process.argv.slice(2);

if (kind === 'sim') {
  const sim = await startKubeSim({ host: '127.0.0.1', port: 0 });
  // The benchmark only needs the simulator to answer; do not keep every request in memory.
  setInterval(() => sim.clearRequests(), 1000).unref();
  process.stdout.write(`${sim.url}\n`);
} else if (kind === 'cloudflare' || kind === 'netbox') {
  // The NetBox simulator serves under /netbox, the gateway's mount, as a real NetBox behind it must (BASE_PATH).
  const sim = kind === 'cloudflare' ? await startCloudflareSim() : await startNetboxSim({ basePath: 'netbox' });
  setInterval(() => sim.clearRequests(), 1000).unref();
  process.stdout.write(`${sim.url}\n`);
} else if (kind === 'bare' && target) {
  // (p) the gateway's stack with no gate: bare Fastify + @fastify/http-proxy, default settings.
  const app = Fastify({ logger: false });
  await app.register(httpProxy, { upstream: target, prefix: '/k8s' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  process.stdout.write(`http://127.0.0.1:${address.port}\n`);
} else {
  process.stderr.write('usage: servers.js sim | cloudflare | netbox | bare <upstream-url>\n');
  process.exit(2);
}
