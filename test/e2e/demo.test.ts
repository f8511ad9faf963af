/**
 * `writegate demo` as the README starts it (with the NetBox simulator: `--netbox sim`, so this test never starts the
 * real NetBox): the commands it prints for Kubernetes (kubectl), Cloudflare and NetBox (curl) are run exactly as
 * printed, and each mount answers a read, an allowed write and a denied write with decision ids in the answer and
 * in the decision log.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const root = projectRoot();
const CLI = join(root, 'dist', 'cli', 'index.js');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface CurlAnswer {
  status: number;
  decisionId: string | undefined;
  body: any;
}

/** Runs a printed curl command line (`curl -si ...  # comment`) in bash and reads the status, X-Decision-Id and JSON body. */
async function curl(line: string): Promise<CurlAnswer> {
  const { stdout } = await run('bash', ['-c', line], { timeout: 30_000 });
  const [head, ...rest] = stdout.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const id = lines.find((l) => l.toLowerCase().startsWith('x-decision-id:'))?.split(':')[1]?.trim();
  return { status, decisionId: id, body: JSON.parse(rest.join('\r\n')) };
}

describe('writegate demo (--netbox sim)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wg-demo-'));
  let demo: ReturnType<typeof spawn>;
  let printed = '';
  /** The printed command lines under a heading ("Try Cloudflare"), without their comments. */
  const commands = (heading: string): string[] => {
    const section = printed.split('\n\n').find((s) => s.startsWith(heading));
    expect(section, heading).toBeDefined();
    return section!.split('\n').slice(1).map((l) => l.replace(/\s+# .*$/, '').trim());
  };
  const decisions = (): Array<Record<string, any>> => readFileSync(join(dir, 'decisions.log'), 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l)).filter((e) => e.type === 'writegate/decision');
  /** The decision log once it holds every id (a denial's record may be written just after its answer). */
  const recorded = async (...ids: string[]): Promise<Array<Record<string, any>>> => {
    await until(() => ids.every((id) => decisions().some((e) => e.decision_id === id)), { what: `records of ${ids.join(', ')}` });
    return decisions();
  };

  beforeAll(async () => {
    demo = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--dir', dir, '--netbox', 'sim'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start: ${printed}`)), 60_000);
      demo.stdout!.on('data', (c: Buffer) => {
        printed += c.toString();
        if (printed.includes('Stop with Ctrl-C')) {
          clearTimeout(timer);
          resolve();
        }
      });
      demo.on('exit', (code) => reject(new Error(`demo exited ${code}: ${printed}`)));
    });
  });
  afterAll(() => {
    demo?.kill('SIGINT');
  });

  it('mounts the three kinds, NetBox on the simulator as asked', () => {
    expect(printed).toMatch(/\/k8s +-> Kubernetes simulator https:\/\/127\.0\.0\.1:\d+/);
    expect(printed).toMatch(/\/cf +-> Cloudflare simulator http:\/\/127\.0\.0\.1:\d+/);
    expect(printed).toMatch(/\/netbox -> NetBox simulator http:\/\/127\.0\.0\.1:\d+\/netbox/);
  });

  it('prints three kubectl commands that behave as announced', async () => {
    const lines = commands('Try Kubernetes');
    expect(lines).toHaveLength(3);
    const results = [];
    for (const c of lines) {
      expect(c.startsWith('kubectl ')).toBe(true);
      const args = c.split(/\s+/).slice(1);
      try {
        const { stdout, stderr } = await run(KUBECTL, [...args, '--cache-dir', join(dir, 'kcache')], { timeout: 30_000 });
        results.push({ code: 0, out: stdout + stderr });
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        results.push({ code: e.code, out: e.stdout + e.stderr });
      }
    }
    expect(results[0]!.code).toBe(0);
    expect(results[0]!.out).toContain('web-0');
    expect(results[1]!.code).toBe(0);
    expect(results[1]!.out).toContain('deployment.apps/web created');
    expect(results[2]!.code).toBe(1);
    expect(results[2]!.out).toContain('Error from server (Forbidden)');
    expect(results[2]!.out).toMatch(/decision [0-9a-f-]{36}/);
  });

  it('prints Cloudflare commands: a read passes, a write is allowed, a write is denied in Cloudflare\'s envelope, each decision logged', async () => {
    const [read, allowed, denied] = commands('Try Cloudflare').map((l) => {
      expect(l).toMatch(/^curl .*\/cf\/client\/v4\/zones\/[0-9a-f]{32}\/dns_records$/);
      return l;
    }) as [string, string, string];
    const r = await curl(read);
    expect(r.status).toBe(200);
    expect(r.decisionId).toBeUndefined();
    expect(r.body.success).toBe(true);
    const a = await curl(allowed);
    expect(a.status).toBe(200);
    expect(a.decisionId).toMatch(UUID);
    expect(a.body.result).toMatchObject({ name: 'demo.example.com', ttl: 300 });
    const d = await curl(denied);
    expect(d.status).toBe(403);
    expect(d.decisionId).toMatch(UUID);
    expect(d.body).toMatchObject({ success: false, result: null });
    expect(d.body.errors[0].message).toContain('[dns-min-ttl]');
    expect(d.body.errors[0].message).toContain(`(decision ${d.decisionId})`);
    const logged = await recorded(a.decisionId!, d.decisionId!);
    expect(logged.find((e) => e.decision_id === a.decisionId)).toMatchObject({ upstream: 'cf', outcome: 'allowed' });
    expect(logged.find((e) => e.decision_id === d.decisionId)).toMatchObject({ upstream: 'cf', outcome: 'denied' });
  });

  it('prints NetBox commands: a read passes with URLs through the gateway, a create is allowed, a create is denied with {"detail"}, each decision logged', async () => {
    const [read, allowed, denied] = commands('Try NetBox').map((l) => {
      expect(l).toMatch(/^curl .*\/netbox\/api\/dcim\/devices\/(\?brief=1')?$/);
      return l;
    }) as [string, string, string];
    const gateway = /https:\/\/127\.0\.0\.1:\d+/.exec(read)![0];
    const r = await curl(read);
    expect(r.status).toBe(200);
    expect(r.decisionId).toBeUndefined();
    expect(r.body.results.length).toBeGreaterThan(0);
    for (const d of r.body.results) expect(d.url).toBe(`${gateway}/netbox/api/dcim/devices/${d.id}/`);
    const a = await curl(allowed);
    expect(a.status).toBe(201);
    expect(a.decisionId).toMatch(UUID);
    expect(a.body).toMatchObject({ name: 'ams1-leaf-03', url: `${gateway}/netbox/api/dcim/devices/${a.body.id}/` });
    const d = await curl(denied);
    expect(d.status).toBe(403);
    expect(d.decisionId).toMatch(UUID);
    expect(d.body.detail).toContain('[device-name-pattern]');
    expect(d.body.detail).toContain(`(decision ${d.decisionId})`);
    const logged = await recorded(a.decisionId!, d.decisionId!);
    expect(logged.find((e) => e.decision_id === a.decisionId)).toMatchObject({ upstream: 'netbox', outcome: 'allowed' });
    expect(logged.find((e) => e.decision_id === d.decisionId)).toMatchObject({ upstream: 'netbox', outcome: 'denied' });
  });

  it('writegate logs shows the demo\'s decisions and finds one by id', async () => {
    const denied = commands('Try NetBox')[2]!;
    const { decisionId } = await curl(denied);
    const all = await cli(['logs', '--file', join(dir, 'decisions.log')]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('DENIED');
    expect(all.stdout).toContain(decisionId);
    const one = await cli(['logs', '--file', join(dir, 'decisions.log'), '--decision-id', decisionId!, '--json']);
    expect(one.code).toBe(0);
    const lines = one.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.every((l) => l.decision_id === decisionId)).toBe(true);
    expect(lines[0].outcome).toBe('denied');
    const none = await cli(['logs', '--file', join(dir, 'decisions.log'), '--decision-id', '00000000-0000-4000-8000-000000000000']);
    expect(none.code).toBe(1);
  });
});

describe('writegate demo --netbox', () => {
  it('refuses a mode other than sim, real or auto', async () => {
    const r = await cli(['demo', '--port', '0', '--netbox', 'fake']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("option '--netbox <mode>' argument 'fake' is invalid. Allowed choices are sim, real, auto.");
  });
});
