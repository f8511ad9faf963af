import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');
const ALLOWED = join(root, 'policies/kubernetes/testdata/deployment-create/input.json');
const DENIED = join(root, 'policies/kubernetes/testdata/deployment-patch/input.json');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function configFile(opa: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'wg-verify-cfg-')), 'wg.yaml');
  writeFileSync(file, `opa: { ${opa} }\nupstreams:\n  - { name: k8s, kind: kubernetes, prefix: /k8s, target: "https://127.0.0.1:6443", policy: writegate/kubernetes/decision }\n`);
  return file;
}

describe('writegate explain --verify', () => {
  const file = configFile(`policies: ["${join(root, 'policies')}"]`);

  it('says OPA agrees with a residual allow and with an OPA deny; exit codes stay 0 and 1', async () => {
    const ok = await cli(['explain', '-c', file, '-u', 'k8s', '-i', ALLOWED, '--verify', '--json']);
    expect(ok.code).toBe(0);
    const allowed = JSON.parse(ok.stdout);
    expect(allowed).toMatchObject({ allowed: true, engine: 'residual', verification: { agrees: true, allowed: true, reasons: [] } });
    expect(allowed.verification.opa.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await cli(['explain', '-c', file, '-u', 'k8s', '-i', DENIED, '--verify', '--json']);
    expect(bad.code).toBe(1);
    const denied = JSON.parse(bad.stdout);
    expect(denied).toMatchObject({ allowed: false, engine: 'opa', verification: { agrees: true, allowed: false } });
    expect(denied.verification.reasons.join(' ')).toContain('no-latest-tag');
    const human = await cli(['explain', '-c', file, '-u', 'k8s', '-i', ALLOWED, '--verify']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^verification: OPA agrees: OPA allows \(decision [0-9a-f-]{36}\)$/m);
  });

  it('without --verify prints no verification', async () => {
    const ok = await cli(['explain', '-c', file, '-u', 'k8s', '-i', ALLOWED, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).verification).toBeUndefined();
  });
});

/**
 * A residual that OPA's Data API contradicts, for real: the Compile and Policy APIs are answered by an OPA with
 * the shipped policies, the Data API by a second OPA that also freezes the Deployment "web" — what the gateway
 * sees when a policy change reaches OPA between a residual's compile and its use.
 */
describe('writegate explain --verify when OPA disagrees', () => {
  let compiles: LocalOpa;
  let decides: LocalOpa;
  let split: Server;
  let file: string;
  beforeAll(async () => {
    const freeze = mkdtempSync(join(tmpdir(), 'wg-freeze-'));
    writeFileSync(join(freeze, 'freeze.rego'), [
      'package writegate.kubernetes',
      'deny contains {"msg": "deployment web is frozen [test-freeze]", "rule": "test-freeze"} if {',
      '  input.request.kind.kind == "Deployment"',
      '  input.request.name == "web"',
      '}',
    ].join('\n'));
    [compiles, decides] = await Promise.all([
      startLocalOpa({ paths: [join(root, 'policies')] }),
      startLocalOpa({ paths: [join(root, 'policies'), freeze] }),
    ]);
    split = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = req.url!.startsWith('/v1/data/') ? decides.url : compiles.url;
        const body = Buffer.concat(chunks);
        void request(`${target}${req.url}`, {
          method: req.method as 'GET', headers: { 'content-type': 'application/json' }, ...(body.length ? { body } : {}),
        }).then(async (r) => {
          res.writeHead(r.statusCode, { 'content-type': 'application/json' });
          res.end(Buffer.from(await r.body.arrayBuffer()));
        }, (err: Error) => {
          res.writeHead(502);
          res.end(err.message);
        });
      });
    });
    await new Promise<void>((resolve) => split.listen(0, '127.0.0.1', resolve));
    file = configFile(`url: "http://127.0.0.1:${(split.address() as { port: number }).port}"`);
  });
  afterAll(async () => {
    split?.close();
    await Promise.all([compiles?.stop(), decides?.stop()]);
  });

  it(`exits 4 and shows OPA's deny next to the residual's allow`, async () => {
    const r = await cli(['explain', '-c', file, '-u', 'k8s', '-i', ALLOWED, '--verify', '--json']);
    expect(r.code).toBe(4);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ allowed: true, engine: 'residual', verification: { agrees: false, allowed: false, reasons: ['deny: deployment web is frozen [test-freeze]'] } });
    expect(out.verification.opa.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    const human = await cli(['explain', '-c', file, '-u', 'k8s', '-i', ALLOWED, '--verify']);
    expect(human.code).toBe(4);
    expect(human.stdout).toContain('ALLOWED by writegate/kubernetes/decision (engine residual');
    expect(human.stdout).toMatch(/^verification: OPA DISAGREES: OPA denies \(decision [0-9a-f-]{36}\)\n {2}deny: deployment web is frozen \[test-freeze\]$/m);
  });

  it('with --engine opa the decision is OPA\'s own and agrees with itself', async () => {
    const r = await cli(['explain', '-c', file, '-u', 'k8s', '-i', ALLOWED, '--engine', 'opa', '--verify', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ allowed: false, engine: 'opa', verification: { agrees: true, allowed: false } });
  });
});
