/**
 * Regression (issue 7): `writegate explain` decides "the way the gateway would", so an input the two engines
 * would read differently is refused there too, instead of being decided by the residual (which held NaN, an
 * unpaired surrogate, …) while OPA read null or U+FFFD.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('writegate explain refuses what the gateway refuses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-explain-values-'));
  const config = join(dir, 'wg.yaml');
  writeFileSync(config, `opa: { policies: ["${join(root, 'policies')}"] }\nupstreams:\n  - { name: k8s, kind: kubernetes, prefix: /k8s, target: "https://127.0.0.1:6443", policy: writegate/kubernetes/decision }\n`);
  const allowed = join(root, 'policies/kubernetes/testdata/deployment-create/input.json');

  it.each([
    ['a non-finite number', '"replicas": 3', '"replicas": 1e400', 'not finite'],
    ['an unpaired surrogate', '"name": "web"', '"name": "web\\ud800"', 'unpaired UTF-16 surrogate'],
  ])('%s: exit 1, the refusal, no decision', async (_name, from, to, why) => {
    const text = readFileSync(allowed, 'utf8');
    expect(text).toContain(from);
    const file = join(dir, `${why.replace(/\W/g, '-')}.json`);
    writeFileSync(file, text.replace(from, to));
    const res = await cli(['explain', '-c', config, '-u', 'k8s', '-i', file, '--json']);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`the policy input holds`);
    expect(res.stderr).toContain(why);
  });

  it('the unchanged input is still allowed by the residual', async () => {
    const res = await cli(['explain', '-c', config, '-u', 'k8s', '-i', allowed, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ allowed: true, engine: 'residual' });
  });
});
