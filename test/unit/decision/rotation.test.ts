import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DecisionLog, type DecisionEvent } from '../../../src/decision/log.js';
import { projectRoot } from '../../../src/opa/binary.js';

const run = promisify(execFile);

function decision(n: number, pad = 0): DecisionEvent {
  return {
    type: 'writegate/decision', decision_id: `d-${n}`, timestamp: new Date(0).toISOString(), path: 'p', input: { pad: 'x'.repeat(pad) },
    labels: {}, upstream: 'k8s', method: 'POST', url: '/api/v1/namespaces/default/configmaps', operation: 'CREATE', summary: '',
    caller: { username: 'alice', remote_addr: '127.0.0.1' }, mode: 'enforce', outcome: 'allowed', engine: 'opa',
    reasons: [], warnings: [], upstream_status: null, latency_ms: 0,
  };
}

function ids(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as DecisionEvent).decision_id);
}

describe('decision log rotation (decisionLog.maxBytes, decisionLog.keep)', () => {
  it('rotates before a batch would pass maxBytes, and keeps exactly `keep` rotated files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-rotate-'));
    const path = join(dir, 'decisions.log');
    const log = new DecisionLog(path, 'test', { maxBytes: 2048, keep: 2 });
    // One record per batch, each about 700 bytes: two fit in 2048, the third rotates.
    for (let i = 0; i < 12; i++) await log.record(decision(i, 400));
    log.close();
    expect(readdirSync(dir).sort()).toEqual(['decisions.log', 'decisions.log.1', 'decisions.log.2']);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2048);
    // Newest last: PATH.2, PATH.1, PATH hold the last records in order, with no record split or lost between them.
    const kept = [...ids(`${path}.2`), ...ids(`${path}.1`), ...ids(path)];
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => `d-${12 - kept.length + k}`));
    expect(kept.at(-1)).toBe('d-11');
    expect(kept.length).toBeGreaterThanOrEqual(6);
  });

  it('a record is in a file when record() resolves, across a rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-rotate-'));
    const path = join(dir, 'decisions.log');
    const log = new DecisionLog(path, 'test', { maxBytes: 1024, keep: 3 });
    for (let i = 0; i < 6; i++) {
      await log.record(decision(i, 300));
      const all = [3, 2, 1].flatMap((k) => (existsSync(`${path}.${k}`) ? ids(`${path}.${k}`) : [])).concat(ids(path));
      expect(all).toContain(`d-${i}`);
    }
    expect(log.counters.rotations).toBeGreaterThan(0);
    log.close();
  });

  it('a batch larger than maxBytes still goes whole into a fresh file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-rotate-'));
    const path = join(dir, 'decisions.log');
    const log = new DecisionLog(path, 'test', { maxBytes: 512, keep: 1 });
    await log.record(decision(0, 10));
    await log.record(decision(1, 4000));
    log.close();
    expect(ids(path)).toEqual(['d-1']);
    expect(ids(`${path}.1`)).toEqual(['d-0']);
  });

  it('continues an existing file and counts its size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-rotate-'));
    const path = join(dir, 'decisions.log');
    const first = new DecisionLog(path, 'test', { maxBytes: 2500, keep: 1 });
    await first.record(decision(0, 600));
    first.close();
    const second = new DecisionLog(path, 'test', { maxBytes: 2500, keep: 1 });
    await second.record(decision(1, 600));
    await second.record(decision(2, 600));
    second.close();
    expect(ids(`${path}.1`)).toEqual(['d-0', 'd-1']);
    expect(ids(path)).toEqual(['d-2']);
  });

  it('`writegate logs` reads the current file after a rotation, suppressed summaries included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-rotate-'));
    const path = join(dir, 'decisions.log');
    // Records of about 2.4 KiB: the second rotates the first out; the refused one and the summary fit beside it.
    const log = new DecisionLog(path, 'test', { maxBytes: 4000, keep: 1, refused: { inputBytes: 4096, perSecond: 0.001, burst: 1 } });
    await log.record(decision(0, 2000));
    await log.record(decision(1, 2000));
    const refused = { ...decision(2), outcome: 'denied' as const };
    log.appendRefused(refused);
    log.appendRefused({ ...refused, decision_id: 'd-3' });
    log.close();
    const { stdout } = await run(process.execPath, [join(projectRoot(), 'dist', 'cli', 'index.js'), 'logs', '--file', path]);
    expect(stdout).not.toContain('d-0');
    expect(stdout).toContain('d-1');
    expect(stdout).toContain('d-2');
    expect(stdout).not.toContain('d-3');
    expect(stdout).toMatch(/SUPPRESSED\s+1 records/);
    expect(stdout).toContain('127.0.0.1: 1 (denied 1)');
  });
});
