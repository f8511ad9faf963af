/**
 * Micro-benchmark: where the time of one residual-allowed write goes inside the gateway, stage by stage. Not a
 * test; run after `npm run build:dev`:
 *
 *   node dist-dev/bench/gate-micro.js [kubernetes|cloudflare|netbox]
 *
 * kubernetes (default): the ConfigMap create the load benchmark sends. cloudflare and netbox: the updates it sends
 * (a DNS record's TTL, a device's serial number), whose input building reads the current object from the simulator
 * (an in-process HTTP round trip, part of that stage's time).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import type { RawConfig } from '../src/config/schema.js';
import { DecisionLog, type DecisionEvent } from '../src/decision/log.js';
import { projectRoot } from '../src/opa/binary.js';
import { startLocalOpa } from '../src/opa/supervisor.js';
import { OpaClient } from '../src/opa/client.js';
import { ResidualEngine } from '../src/residual/engine.js';
import { DEFAULT_TOKEN as CF_TOKEN, SEED_IDS, startCloudflareSim } from '../sim/cloudflare/index.js';
import { startKubeSim } from '../sim/kubernetes/index.js';
import { SEED_TOKENS, startNetboxSim } from '../sim/netbox/index.js';
import { UpstreamClient } from '../src/upstreams/client.js';
import { createAdapter } from '../src/upstreams/registry.js';
import type { GateRequest } from '../src/upstreams/types.js';

/** One kind's benchmark write: its upstream (started here), the request relative to the mount, and its body. */
interface Case {
  upstream: RawConfig['upstreams'][number];
  method: string;
  url: string;
  authorization: string;
  body: Buffer;
  close(): Promise<void>;
}

async function kubernetesCase(): Promise<Case> {
  const sim = await startKubeSim();
  return {
    upstream: { name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: sim.url, policy: 'writegate/kubernetes/decision' },
    method: 'POST',
    url: '/api/v1/namespaces/default/configmaps?dryRun=All',
    authorization: 'Bearer bench',
    body: Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench', namespace: 'default', labels: { owner: 'bench' } }, data: { key: 'value' } })),
    close: () => sim.close(),
  };
}

async function cloudflareCase(): Promise<Case> {
  const sim = await startCloudflareSim();
  const mail = sim.state.dnsRecords('example.com').find((r) => r.name === 'mail.example.com')!;
  return {
    upstream: { name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision' },
    method: 'PATCH',
    url: `/client/v4/zones/${SEED_IDS.zone}/dns_records/${mail.id}`,
    authorization: `Bearer ${CF_TOKEN}`,
    body: Buffer.from(JSON.stringify({ ttl: 600 })),
    close: () => sim.close(),
  };
}

async function netboxCase(): Promise<Case> {
  const sim = await startNetboxSim({ basePath: 'netbox' });
  const leaf = sim.state.all('dcim/devices').find((d) => d.values.name === 'ams1-leaf-02')!;
  return {
    upstream: { name: 'netbox', kind: 'netbox', prefix: '/netbox', target: sim.url, policy: 'writegate/netbox/decision' },
    method: 'PATCH',
    url: `/api/dcim/devices/${leaf.id}/`,
    authorization: `Bearer ${SEED_TOKENS.admin}`,
    body: Buffer.from(JSON.stringify({ serial: 'bench' })),
    close: () => sim.close(),
  };
}

const CASES: Record<string, () => Promise<Case>> = { kubernetes: kubernetesCase, cloudflare: cloudflareCase, netbox: netboxCase };

async function usPerOp(fn: () => unknown, n: number): Promise<number> {
  for (let i = 0; i < n / 10; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

async function main(kind: string): Promise<void> {
  const makeCase = CASES[kind];
  if (!makeCase) throw new Error(`usage: gate-micro.js [${Object.keys(CASES).join('|')}]`);
  const root = projectRoot();
  const opa = await startLocalOpa({ paths: [join(root, 'policies')] });
  const c = await makeCase();
  const cfg = parseConfig({ upstreams: [c.upstream] }).upstreams[0]!;
  const client = new UpstreamClient(cfg);
  const adapter = createAdapter(cfg, { client });
  const opaClient = new OpaClient({ url: opa.url, timeoutMs: 2000 });
  const engine = new ResidualEngine({ client: opaClient, pollIntervalMs: 60_000 });
  const log = new DecisionLog(join(mkdtempSync(join(tmpdir(), 'wg-micro-')), 'decisions.log'), 'bench');
  try {
    await engine.start([cfg.policy]);
    const req: GateRequest = {
      method: c.method, url: c.url, upgrade: false, remoteAddress: '127.0.0.1',
      headers: { authorization: c.authorization, 'content-type': 'application/json', 'content-length': String(c.body.length), 'user-agent': 'bench', host: '127.0.0.1' },
    };
    const classified = adapter.classify(req);
    const input = await adapter.buildInput(req, classified, c.body, client);
    if (engine.evaluate(cfg.policy, input).outcome !== 'allow') throw new Error(`the residual does not allow the ${kind} benchmark write`);
    const event: DecisionEvent = {
      type: 'writegate/decision', decision_id: crypto.randomUUID(), timestamp: new Date().toISOString(), path: cfg.policy,
      input: adapter.maskInput(input), result: { allow: true, deny: [], warn: [] }, labels: log.labels, upstream: cfg.name, method: c.method,
      url: req.url, operation: classified.operation, summary: classified.summary, caller: { username: 'admin', remote_addr: '127.0.0.1' }, mode: 'enforce',
      outcome: 'allowed', engine: 'residual', revision: 'r', reasons: [], warnings: [], upstream_status: null, latency_ms: 0.1,
    };
    // Input building makes HTTP calls for Cloudflare and NetBox: fewer rounds keep the run short.
    const inputRounds = kind === 'kubernetes' ? 20_000 : 2_000;
    const rows: Array<[string, number]> = [
      ['classify', await usPerOp(() => adapter.classify(req), 20_000)],
      [`build input${kind === 'kubernetes' ? '' : ' (with the current object read from the simulator)'}`, await usPerOp(() => adapter.buildInput(req, adapter.classify(req), c.body, client), inputRounds)],
      ['residual evaluation', await usPerOp(() => engine.evaluate(cfg.policy, input), 20_000)],
      ['mask input for the log', await usPerOp(() => adapter.maskInput(input), 20_000)],
      ['serialise the decision event (JSON.stringify)', await usPerOp(() => JSON.stringify(event), 20_000)],
      ['durable record, one write per record (no batching)', await usPerOp(() => log.record(event), 20_000)],
    ];
    process.stdout.write(`${kind}: ${c.method} ${c.url}\n${'stage'.padEnd(82)} µs/op\n`);
    for (const [name, us] of rows) process.stdout.write(`${name.padEnd(82)} ${us.toFixed(2)}\n`);
    process.stdout.write(`${'sum'.padEnd(82)} ${rows.reduce((a, [, us]) => a + us, 0).toFixed(2)}\n`);
  } finally {
    engine.stop();
    log.close();
    await client.close();
    await opaClient.close();
    await c.close();
    await opa.stop();
  }
}

await main(process.argv[2] ?? 'kubernetes');
