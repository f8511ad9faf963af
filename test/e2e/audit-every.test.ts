/**
 * `writegate audit --every`: keeps running, one audit per interval, each in a dated folder under --out compared
 * with the run before it; SIGTERM stops it with exit 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_TOKEN, SEED_IDS, startCloudflareSim, type CloudflareSim } from '../../sim/cloudflare/index.js';
import type { AuditReport } from '../../src/audit/report.js';
import { projectRoot } from '../../src/opa/binary.js';
import { until } from '../helpers/wait.js';

const root = projectRoot();

describe('writegate audit --every', () => {
  let work: string;
  let sim: CloudflareSim;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'writegate-audit-every-'));
    sim = await startCloudflareSim();
  });

  afterAll(async () => {
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('writes dated reports, each compared with the one before, until SIGTERM (exit 0)', async () => {
    writeFileSync(join(work, 'cf-token'), DEFAULT_TOKEN);
    const cfg = join(work, 'writegate.yaml');
    writeFileSync(cfg, stringify({
      opa: { policies: [join(root, 'policies')] },
      upstreams: [{
        name: 'cf', kind: 'cloudflare', prefix: '/cf', target: sim.url, policy: 'writegate/cloudflare/decision',
        credentials: { mode: 'held', tokenFile: join(work, 'cf-token') },
      }],
    }));
    const res = await fetch(`${sim.apiUrl}/zones/${SEED_IDS.zone}/dns_records`, {
      method: 'POST', body: JSON.stringify({ type: 'A', name: 'short.example.com', content: '192.0.2.30', ttl: 30 }),
      headers: { authorization: `Bearer ${DEFAULT_TOKEN}`, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const out = join(work, 'daily');
    const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'index.js'), 'audit', '--config', cfg, '--out', out, '--every', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(child, 'exit');
    const reports = (): string[] => (existsSync(out) ? readdirSync(out).filter((d) => existsSync(join(out, d, 'report.json'))).sort() : []);
    try {
      await until(() => reports().length >= 2, { timeoutMs: 60_000, what: 'two dated reports' });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code).toBe(0);
    const [first, second] = reports().map((d) => JSON.parse(readFileSync(join(out, d, 'report.json'), 'utf8')) as AuditReport);
    expect(reports()[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
    expect(first!.change).toBeNull();
    expect(first!.violations.map((v) => v.rule)).toEqual(['dns-min-ttl']);
    expect(second!.change).toMatchObject({ previousStartedAt: first!.run.startedAt, previousViolations: 1, added: [], resolved: [] });
  });
});
