/**
 * Micro-benchmark: where the time of one residual-allowed write goes inside the gateway, stage by stage, on
 * the same ConfigMap create the load benchmark sends. Not a test; run after `npm run build:dev`:
 *
 *   node dist-dev/bench/gate-micro.js
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { DecisionLog, type DecisionEvent } from '../src/decision/log.js';
import { projectRoot } from '../src/opa/binary.js';
import { startLocalOpa } from '../src/opa/supervisor.js';
import { OpaClient } from '../src/opa/client.js';
import { ResidualEngine } from '../src/residual/engine.js';
import { startKubeSim } from '../sim/kubernetes/index.js';
import { UpstreamClient } from '../src/upstreams/client.js';
import { createAdapter } from '../src/upstreams/registry.js';
import type { GateRequest } from '../src/upstreams/types.js';

const POLICY = 'writegate/kubernetes/decision';

async function usPerOp(fn: () => unknown): Promise<number> {
  for (let i = 0; i < 2000; i++) await fn();
  const n = 20_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

async function main(): Promise<void> {
  const root = projectRoot();
  const opa = await startLocalOpa({ paths: [join(root, 'policies')] });
  const sim = await startKubeSim();
  const cfg = parseConfig({ upstreams: [{ name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: sim.url, policy: POLICY }] }).upstreams[0]!;
  const client = new UpstreamClient(cfg);
  const adapter = createAdapter(cfg, { client });
  const opaClient = new OpaClient({ url: opa.url, timeoutMs: 2000 });
  const engine = new ResidualEngine({ client: opaClient, pollIntervalMs: 60_000 });
  const log = new DecisionLog(join(mkdtempSync(join(tmpdir(), 'wg-micro-')), 'decisions.log'), 'bench');
  try {
    await engine.start([POLICY]);
    const body = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench', namespace: 'default', labels: { owner: 'bench' } }, data: { key: 'value' } }));
    const req: GateRequest = {
      method: 'POST', url: '/api/v1/namespaces/default/configmaps?dryRun=All', upgrade: false, remoteAddress: '127.0.0.1',
      headers: { authorization: 'Bearer bench', 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'bench' },
    };
    const classified = adapter.classify(req);
    const input = await adapter.buildInput(req, classified, body, client);
    if (engine.evaluate(POLICY, input).outcome !== 'allow') throw new Error('the residual does not allow the benchmark write');
    const event: DecisionEvent = {
      type: 'writegate/decision', decision_id: crypto.randomUUID(), timestamp: new Date().toISOString(), path: POLICY,
      input: adapter.maskInput(input), result: { allow: true, deny: [], warn: [] }, labels: log.labels, upstream: 'k8s', method: 'POST',
      url: req.url, operation: 'CREATE', summary: classified.summary, caller: { username: 'admin', remote_addr: '127.0.0.1' }, mode: 'enforce',
      outcome: 'allowed', engine: 'residual', revision: 'r', reasons: [], warnings: [], upstream_status: null, latency_ms: 0.1,
    };
    const rows: Array<[string, number]> = [
      ['classify (path, query, RequestInfo)', await usPerOp(() => adapter.classify(req))],
      ['build input (JSON parse, duplicate-key scan, identity cache, AdmissionReview)', await usPerOp(() => adapter.buildInput(req, adapter.classify(req), body, client))],
      ['residual evaluation', await usPerOp(() => engine.evaluate(POLICY, input))],
      ['mask input for the log', await usPerOp(() => adapter.maskInput(input))],
      ['serialise the decision event (JSON.stringify)', await usPerOp(() => JSON.stringify(event))],
      ['durable record, one write per record (no batching)', await usPerOp(() => log.record(event))],
    ];
    process.stdout.write(`${'stage'.padEnd(82)} µs/op\n`);
    for (const [name, us] of rows) process.stdout.write(`${name.padEnd(82)} ${us.toFixed(2)}\n`);
    process.stdout.write(`${'sum'.padEnd(82)} ${rows.reduce((a, [, us]) => a + us, 0).toFixed(2)}\n`);
  } finally {
    engine.stop();
    log.close();
    await client.close();
    await opaClient.close();
    await sim.close();
    await opa.stop();
  }
}

await main();
