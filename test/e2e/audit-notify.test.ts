/**
 * `writegate audit --notify`: a run with violations is sent to the configuration's Slack-compatible webhook (a
 * receiver of the test's own on 127.0.0.1) with each violation's decision id; a clean run sends nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import type { AuditReport } from '../../src/audit/report.js';
import { projectRoot } from '../../src/opa/binary.js';

const run = promisify(execFile);
const root = projectRoot();

describe('writegate audit --notify', () => {
  let work: string;
  let sim: CloudflareSim;
  let receiver: Server;
  const received: { path: string; body: { text?: string; blocks?: unknown[] } }[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'writegate-audit-notify-'));
    sim = await startCloudflareSim();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: string } });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await sim?.close();
    await new Promise((resolve) => receiver?.close(resolve));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('sends a run with violations, with their decision ids, and nothing for a clean run', async () => {
    writeFileSync(join(work, 'cf-token'), DEFAULT_TOKEN);
    const cfg = join(work, 'writegate.yaml');
    writeFileSync(cfg, stringify({
      opa: { policies: [join(root, 'policies')] },
      notify: { slack: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/audit` } },
      upstreams: [{
        name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision',
        credentials: { mode: 'held', tokenFile: join(work, 'cf-token') },
      }],
    }));
    const audit = (out: string): Promise<number> => run(process.execPath, [join(root, 'dist', 'cli', 'index.js'), 'audit', '--config', cfg, '--out', join(work, out), '--notify'])
      .then(() => 0, (err: { code?: number }) => err.code ?? -1);

    expect(await audit('clean')).toBe(0);
    expect(received).toEqual([]);

    const res = await fetch(`${sim.apiUrl}/zones/${SEED_IDS.zone}/dns_records`, {
      method: 'POST', body: JSON.stringify({ type: 'A', name: 'short.example.com', content: '192.0.2.30', ttl: 30 }),
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(await audit('found')).toBe(1);
    const report = JSON.parse(readFileSync(join(work, 'found', 'report.json'), 'utf8')) as AuditReport;
    expect(report.violations).toHaveLength(1);
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe('/hooks/audit');
    const message = JSON.stringify(received[0]!.body);
    expect(received[0]!.body.text).toContain('writegate audit: 1 violation');
    expect(message).toContain(report.violations[0]!.decision_id);
    expect(message).toContain('dns-min-ttl');
  });
});
