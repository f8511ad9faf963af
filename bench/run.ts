/**
 * `npm run bench`: every scenario against the same simulators in one run, all
 * on 127.0.0.1, bounded in time and connections (see bench/README.md). Each
 * kind's gated scenarios have their baseline in the same run: the simulator
 * answering directly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { projectRoot } from '../src/opa/binary.js';
import { startLocalOpa } from '../src/opa/supervisor.js';
import { freePort } from '../src/net.js';
import { DEFAULT_TOKEN as CF_TOKEN, SEED_IDS } from '../sim/cloudflare/index.js';
import { SEED_SLUGS, SEED_TOKENS } from '../sim/netbox/index.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), 'writegate-bench-'));
const children: ChildProcess[] = [];


/** Starts a child that prints its URL as the first stdout line. */
async function child(args: string[]): Promise<{ url: string; proc: ChildProcess }> {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const proc = spawn(process.execPath, [...profile, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const [line] = await new Promise<string[]>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('\n')) resolve(buf.split('\n'));
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return { url: line!.trim(), proc };
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} never answered`);
}

/** The upstreams one gateway mounts: the Kubernetes simulator at /k8s, Cloudflare's at /cf, NetBox's at /netbox. */
interface Targets {
  k8s: string;
  cf: string;
  netbox: string;
}

async function gateway(targets: Targets, opaUrl: string, engine: 'residual' | 'opa'): Promise<{ url: string; proc: ChildProcess; log: string }> {
  const port = await freePort();
  const log = join(dir, `decisions-${engine}.log`);
  const config = join(dir, `writegate-${engine}.yaml`);
  writeFileSync(config, [
    `listen: { host: 127.0.0.1, port: ${port} }`,
    `opa: { url: "${opaUrl}", timeoutMs: 2000 }`,
    `decisionLog: { path: "${log}" }`,
    'upstreams:',
    `  - { name: k8s, kind: kubernetes, prefix: /k8s, target: "${targets.k8s}", policy: writegate/kubernetes/decision, mode: enforce, engine: ${engine} }`,
    `  - { name: cf, kind: cloudflare, prefix: /cf, target: "${targets.cf}", policy: writegate/cloudflare/decision, mode: enforce, engine: ${engine} }`,
    `  - { name: netbox, kind: netbox, prefix: /netbox, target: "${targets.netbox}", policy: writegate/netbox/decision, mode: enforce, engine: ${engine} }`,
    '',
  ].join('\n'));
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const proc = spawn(process.execPath, [...profile, join(root, 'dist', 'cli', 'index.js'), 'serve', '--config', config, '--log-level', 'warn'], { stdio: 'inherit' });
  children.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/-/healthz`);
  return { url, proc, log };
}

function nginx(simUrl: string, port: number): ChildProcess | undefined {
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync('test', ['-x', p]).status === 0);
  if (!bin) return undefined;
  const conf = join(dir, 'nginx.conf');
  const sim = new URL(simUrl);
  writeFileSync(conf, `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream sim { server ${sim.host}; keepalive 32; }
  # nginx closes a client connection after 1000 requests by default; the load generator would count that as an error.
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location /k8s/ {
      proxy_pass http://sim/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`);
  const proc = spawn(bin, ['-c', conf, '-p', dir], { stdio: 'inherit' });
  children.push(proc);
  return proc;
}

/**
 * One request of a scenario. `paths`: each request goes to the next path in turn instead of `path` (updates spread
 * over many objects, so that the 10 connections' writes do not race on one object: NetBox would refuse a write
 * pinned by the gateway's If-Match to a version another connection has just replaced).
 */
interface Scenario {
  kind: 'read' | 'write';
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  headers: Record<string, string>;
  body?: string;
  paths?: string[];
}

const AUTH = { authorization: 'Bearer bench-token' };
const READ: Scenario = { kind: 'read', method: 'GET', path: '/api/v1/namespaces/default/pods/web-0', headers: AUTH };
const configMap = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench', namespace: 'default', labels: { owner: 'bench' } }, data: { key: 'value' } });
// dryRun=All: the simulator validates and answers 201 without storing, so every run sees the same state.
const WRITE: Scenario = { kind: 'write', method: 'POST', path: '/api/v1/namespaces/default/configmaps?dryRun=All', headers: { ...AUTH, 'content-type': 'application/json' }, body: configMap };
const denied = JSON.stringify({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bench', namespace: 'default', labels: { owner: 'bench', 'app.kubernetes.io/name': 'bench' } },
  spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx:latest' }] } } },
});
const DENIED: Scenario = { kind: 'write', method: 'POST', path: '/apis/apps/v1/namespaces/default/deployments?dryRun=All', headers: { ...AUTH, 'content-type': 'application/json' }, body: denied };

/** Objects each kind's updates are spread over (see Scenario.paths). */
const SPREAD = 50;

/**
 * The Cloudflare and NetBox scenarios, on objects created for the benchmark directly at each simulator: a read of
 * one object, and an update the starter policies allow (a DNS record's TTL; a device's serial number). Through the
 * gateway an update also reads the current object from the upstream (the policy's oldObject), which the direct
 * baseline does not: that round trip is part of what the gate costs.
 */
async function kindScenarios(cfUrl: string, netboxUrl: string): Promise<{ cfRead: Scenario; cfWrite: Scenario; nbRead: Scenario; nbWrite: Scenario }> {
  const create = async (url: string, headers: Record<string, string>, body: object): Promise<any> => {
    const res = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 200 && res.status !== 201) throw new Error(`bench setup: POST ${url} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  const cfAuth = { authorization: `Bearer ${CF_TOKEN}` };
  const records = `/client/v4/zones/${SEED_IDS.zone}/dns_records`;
  const recordIds: string[] = [];
  for (let i = 0; i < SPREAD; i++) recordIds.push((await create(`${cfUrl}${records}`, cfAuth, { type: 'A', name: `bench-${i}`, content: '192.0.2.80', ttl: 300 })).result.id);
  const nbAuth = { authorization: `Bearer ${SEED_TOKENS.admin}` };
  const devices = '/api/dcim/devices/';
  const deviceIds: number[] = [];
  for (let i = 0; i < SPREAD; i++) {
    const body = {
      name: `bench-leaf-${String(i).padStart(2, '0')}`, device_type: { slug: SEED_SLUGS.deviceType }, role: { slug: SEED_SLUGS.role }, site: { slug: SEED_SLUGS.site }, status: 'active',
    };
    deviceIds.push((await create(`${netboxUrl}${devices}`, nbAuth, body)).id);
  }
  const json = { 'content-type': 'application/json' };
  return {
    cfRead: { kind: 'read', method: 'GET', path: `${records}/${recordIds[0]}`, headers: cfAuth },
    cfWrite: { kind: 'write', method: 'PATCH', path: `${records}/${recordIds[0]}`, paths: recordIds.map((id) => `${records}/${id}`), headers: { ...cfAuth, ...json }, body: JSON.stringify({ ttl: 600 }) },
    nbRead: { kind: 'read', method: 'GET', path: `${devices}${deviceIds[0]}/`, headers: nbAuth },
    nbWrite: { kind: 'write', method: 'PATCH', path: `${devices}${deviceIds[0]}/`, paths: deviceIds.map((id) => `${devices}${id}/`), headers: { ...nbAuth, ...json }, body: JSON.stringify({ serial: 'bench' }) },
  };
}

/** One measured scenario. */
interface Row { id: string; scenario: string; rps: number; p50: number; p99: number; non2xx: number; errors: number; cpuUs?: number }

/** BENCH_ONLY=c or BENCH_ONLY=p:write,c runs a subset (for profiling). */
const ONLY = process.env.BENCH_ONLY?.split(',');

/**
 * CPU time (user + system, in clock ticks of 10 ms) a process and its children (nginx's worker) have used so
 * far, from /proc/PID/stat and /proc/PID/task/PID/children.
 */
function cpuTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return Number(fields[11]) + Number(fields[12]) + children.reduce((sum, child) => sum + cpuTicks(child), 0);
}

async function load(id: string, scenario: string, base: string, req: Scenario, expectStatus: number, proxyPid?: number): Promise<Row | undefined> {
  if (ONLY && !ONLY.includes(`${id}:${req.kind}`) && !ONLY.includes(id)) return undefined;
  const url = base + req.path;
  const probe = await fetch(url, { method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
  await probe.arrayBuffer();
  if (probe.status !== expectStatus) throw new Error(`${id} ${scenario}: probe answered ${probe.status}, expected ${expectStatus}`);
  const mount = new URL(base).pathname.replace(/\/$/, '');
  const paths = req.paths?.map((p) => mount + p);
  let next = 0;
  const opts = {
    url, connections: CONNECTIONS, pipelining: 1, method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}),
    ...(paths ? { requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[next++ % paths.length]! }) }] } : {}),
  };
  await autocannon({ ...opts, duration: 2 }); // warm-up (JIT, pools, residual cache)
  const ticks = cpuTicks(proxyPid);
  const r = await autocannon({ ...opts, duration: DURATION });
  // CPU the proxy spent per request: the fairest cost figure on a machine where every process shares two cores.
  const cpuUs = proxyPid === undefined ? undefined : Math.round(((cpuTicks(proxyPid) - ticks) * 10_000) / Math.max(1, r.requests.total));
  const expected = expectStatus >= 200 && expectStatus < 300;
  const row: Row = {
    id, scenario, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99,
    non2xx: expected ? r.non2xx : r['2xx'], errors: r.errors + r.timeouts, ...(cpuUs !== undefined ? { cpuUs } : {}),
  };
  process.stdout.write(`${id.padEnd(3)} ${scenario.padEnd(44)} ${String(row.rps).padStart(7)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  ${cpuUs !== undefined ? `proxy CPU ${cpuUs} µs/req  ` : ''}unexpected ${row.non2xx}  errors ${row.errors}\n`);
  return row;
}

function rssMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), hwm: Math.round(kb('VmHWM') / 1024) };
}

/** The gateway's own view of its memory, from its Prometheus endpoint (prom-client default metrics). */
async function heapMiB(base: string): Promise<{ used: number; total: number; external: number }> {
  const text = await (await fetch(`${base}/-/metrics`)).text();
  const metric = (name: string): number => Math.round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20);
  return { used: metric('writegate_nodejs_heap_size_used_bytes'), total: metric('writegate_nodejs_heap_size_total_bytes'), external: metric('writegate_nodejs_external_memory_bytes') };
}

async function main(): Promise<void> {
  process.stdout.write(`writegate bench: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${DURATION}s x ${CONNECTIONS} connections per scenario\n`);
  const opa = await startLocalOpa({ paths: [join(root, 'policies')] });
  const sim = await child([join(root, 'dist-dev', 'bench', 'servers.js'), 'sim']);
  const cfSim = await child([join(root, 'dist-dev', 'bench', 'servers.js'), 'cloudflare']);
  const nbSim = await child([join(root, 'dist-dev', 'bench', 'servers.js'), 'netbox']);
  const kinds = await kindScenarios(cfSim.url, nbSim.url);
  const targets: Targets = { k8s: sim.url, cf: cfSim.url, netbox: nbSim.url };
  const bare = await child([join(root, 'dist-dev', 'bench', 'servers.js'), 'bare', sim.url]);
  const nginxPort = await freePort();
  const ngx = nginx(sim.url, nginxPort);
  const nginxUrl = `http://127.0.0.1:${nginxPort}/k8s`;
  if (ngx) await waitHttp(nginxUrl);
  const gwResidual = await gateway(targets, opa.url, 'residual');
  const gwOpa = await gateway(targets, opa.url, 'opa');
  // Let the residual compile before measuring.
  await new Promise((r) => setTimeout(r, 1500));

  const rows: Row[] = [];
  const add = (r: Row | undefined): void => { if (r) rows.push(r); };
  add(await load('a', 'reads, simulator directly', sim.url, READ, 200, sim.proc.pid));
  add(await load('p', 'reads, bare Fastify + @fastify/http-proxy', `${bare.url}/k8s`, READ, 200, bare.proc.pid));
  if (ngx) add(await load('n', 'reads, nginx (1 worker)', nginxUrl, READ, 200, ngx.pid));
  add(await load('b', 'reads, writegate', `${gwResidual.url}/k8s`, READ, 200, gwResidual.proc.pid));
  add(await load('a', 'writes, simulator directly', sim.url, WRITE, 201, sim.proc.pid));
  add(await load('p', 'writes, bare Fastify + @fastify/http-proxy', `${bare.url}/k8s`, WRITE, 201, bare.proc.pid));
  if (ngx) add(await load('n', 'writes, nginx (1 worker)', nginxUrl, WRITE, 201, ngx.pid));
  add(await load('c', 'writes allowed by the residual, writegate', `${gwResidual.url}/k8s`, WRITE, 201, gwResidual.proc.pid));
  const rss = rssMiB(gwResidual.proc.pid!);
  const heap = await heapMiB(gwResidual.url);
  const decided = readFileSync(gwResidual.log, 'utf8').split('\n').filter((l) => l.includes('"writegate/decision"'));
  const residualShare = decided.filter((l) => l.includes('"engine":"residual"')).length / Math.max(1, decided.length);
  add(await load('d', 'same writes, Data API per request, writegate', `${gwOpa.url}/k8s`, WRITE, 201, gwOpa.proc.pid));
  add(await load('e', 'denied writes (OPA decides), writegate', `${gwResidual.url}/k8s`, DENIED, 403, gwResidual.proc.pid));
  // The Cloudflare and NetBox kinds, each against its simulator directly (f, h) and through writegate (g, i).
  add(await load('f', 'reads, Cloudflare simulator directly', cfSim.url, kinds.cfRead, 200, cfSim.proc.pid));
  add(await load('g', 'reads, writegate /cf', `${gwResidual.url}/cf`, kinds.cfRead, 200, gwResidual.proc.pid));
  add(await load('f', 'writes (PATCH), Cloudflare simulator directly', cfSim.url, kinds.cfWrite, 200, cfSim.proc.pid));
  add(await load('g', 'writes allowed (PATCH), writegate /cf', `${gwResidual.url}/cf`, kinds.cfWrite, 200, gwResidual.proc.pid));
  add(await load('h', 'reads, NetBox simulator directly', nbSim.url, kinds.nbRead, 200, nbSim.proc.pid));
  add(await load('i', 'reads, writegate /netbox', `${gwResidual.url}/netbox`, kinds.nbRead, 200, gwResidual.proc.pid));
  add(await load('h', 'writes (PATCH), NetBox simulator directly', nbSim.url, kinds.nbWrite, 200, nbSim.proc.pid));
  add(await load('i', 'writes allowed (PATCH), writegate /netbox', `${gwResidual.url}/netbox`, kinds.nbWrite, 200, gwResidual.proc.pid));
  const share = (upstream: string): string => {
    const lines = readFileSync(gwResidual.log, 'utf8').split('\n').filter((l) => l.includes('"writegate/decision"') && l.includes(`"upstream":"${upstream}"`));
    return `${(lines.filter((l) => l.includes('"engine":"residual"')).length / Math.max(1, lines.length)).toFixed(3)} of ${lines.length}`;
  };


  const get = (id: string, kind: string): Row | undefined => rows.find((r) => r.id === id && r.scenario.startsWith(kind));
  const ratio = (x?: Row, y?: Row): string => (x && y ? (x.rps / y.rps).toFixed(2) : 'n/a');
  const summary = {
    'reads b/p (target >= 1.0)': ratio(get('b', 'reads'), get('p', 'reads')),
    'reads b/n': ratio(get('b', 'reads'), get('n', 'reads')),
    'reads p/a': ratio(get('p', 'reads'), get('a', 'reads')),
    'reads n/a': ratio(get('n', 'reads'), get('a', 'reads')),
    'reads added p99 b-p (ms, target <= 1)': get('b', 'reads') && get('p', 'reads') ? (get('b', 'reads')!.p99 - get('p', 'reads')!.p99).toFixed(2) : 'n/a',
    'writes c/p (target >= 0.85)': ratio(get('c', 'writes'), get('p', 'writes')),
    'writes c/n': ratio(get('c', 'writes'), get('n', 'writes')),
    'writes c/d (target >= 3)': ratio(get('c', 'writes'), get('d', 'same')),
    'gateway RSS after writes (MiB, target <= 150)': `${rss.rss} (peak ${rss.hwm}; V8 heap used ${heap.used} of ${heap.total}, external ${heap.external})`,
    'share of (c) decided by the residual': residualShare.toFixed(3),
    'Cloudflare reads g/f': ratio(get('g', 'reads'), get('f', 'reads')),
    'Cloudflare writes g/f': ratio(get('g', 'writes'), get('f', 'writes')),
    'NetBox reads i/h': ratio(get('i', 'reads'), get('h', 'reads')),
    'NetBox writes i/h': ratio(get('i', 'writes'), get('h', 'writes')),
    'share of (g) writes decided by the residual': share('cf'),
    'share of (i) writes decided by the residual': share('netbox'),
  };
  process.stdout.write('\n');
  for (const [k, v] of Object.entries(summary)) process.stdout.write(`${k.padEnd(48)} ${v}\n`);
  writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), duration: DURATION, connections: CONNECTIONS, cpus: cpus().length, node: process.version, rows, summary }, null, 2)}\n`);
  await opa.stop();
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGINT');
}
