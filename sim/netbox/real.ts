/**
 * A real NetBox (installed by scripts/setup-netbox.sh) started on loopback with its own PostgreSQL and Redis:
 * used by the NetBox tests (test/netbox/harness.ts re-exports it) and by `writegate demo`, which loads it from
 * dist-dev/ and therefore nothing from test/ or src/. Its configuration and seed are the test suite's
 * (test/netbox/configuration.py, seed.json; see test/netbox/README.md), read as files.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { signalGroup, stopGroup, supervise, waitFor, type Supervised } from './processes.js';

const run = promisify(execFile);

/** The checkout this file belongs to (it runs from sim/netbox/ under vitest and from dist-dev/sim/netbox/ in the demo). */
function checkout(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts', 'setup-netbox.sh'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('netbox: cannot find the project root (package.json beside scripts/setup-netbox.sh)');
    dir = up;
  }
}

/** A port on 127.0.0.1 that was free a moment ago, for PostgreSQL, Redis and gunicorn. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** What `scripts/setup-netbox.sh` installed, from `.tools/netbox.json`. */
export interface NetBoxTools {
  netbox: string;
  pynetbox: string;
  /** The venv's Python (NetBox and pynetbox are importable). */
  python: string;
  /** The venv's bin folder (gunicorn, netbox). */
  bin: string;
  /** PostgreSQL's server and client binaries (postgres, pg_isready, psql). */
  pgBin: string;
  redisServer: string;
  /**
   * A stopped PostgreSQL cluster holding the migrated database with the users,
   * tokens and objects of seed.json twice: `netbox` and the template `netbox_tpl`.
   */
  cluster: string;
}

export function netboxTools(): NetBoxTools {
  const file = join(checkout(), '.tools', 'netbox.json');
  if (!existsSync(file)) throw new Error(`netbox: ${file} not found; run "bash scripts/setup-netbox.sh"`);
  const tools = JSON.parse(readFileSync(file, 'utf8')) as NetBoxTools;
  if (!existsSync(join(tools.cluster, 'PG_VERSION'))) {
    throw new Error(`netbox: ${tools.cluster} is not a database cluster; run "bash scripts/setup-netbox.sh"`);
  }
  return tools;
}

/** Whether scripts/setup-netbox.sh has installed NetBox here (what `writegate demo --netbox auto` asks). */
export function netboxInstalled(): boolean {
  try {
    netboxTools();
    return true;
  } catch {
    return false;
  }
}

export type NetBoxUser = 'admin' | 'restricted';

interface SeedUser {
  superuser: boolean;
  tokens: { v1: string; v2: { key: string; secret: string } };
  permissions: { name: string; actions: string[]; objectTypes: string[] }[];
}

/**
 * What `scripts/setup-netbox.sh` seeded (test/netbox/seed.json): the admin
 * superuser, the restricted user and its object permissions, and the slugs of
 * a site, manufacturer, device type, device role and the `protected` tag that
 * devices can be created with.
 */
export const SEED = JSON.parse(readFileSync(join(checkout(), 'test', 'netbox', 'seed.json'), 'utf8')) as {
  users: Record<NetBoxUser, SeedUser>;
  objects: Record<'site' | 'manufacturer' | 'deviceType' | 'deviceRole' | 'tag', { slug: string } & Record<string, string>>;
};

/** A user's tokens as a client holds them: v1 is 40 characters, v2 is `nbt_<key>.<secret>`. */
export interface NetBoxTokens {
  v1: string;
  v2: string;
}

const TOKENS: Record<NetBoxUser, NetBoxTokens> = {
  admin: tokensOf(SEED.users.admin),
  restricted: tokensOf(SEED.users.restricted),
};

function tokensOf(user: SeedUser): NetBoxTokens {
  return { v1: user.tokens.v1, v2: `nbt_${user.tokens.v2.key}.${user.tokens.v2.secret}` };
}

/**
 * The Authorization header value for a token: NetBox reads `Token <v1>` and
 * `Bearer nbt_<key>.<secret>` (netbox/api/authentication.py keys v2 on the
 * `nbt_` prefix), and answers 403, never 401, to anything else.
 */
export function authorization(token: string): string {
  return token.startsWith('nbt_') ? `Bearer ${token}` : `Token ${token}`;
}

export interface NetBoxOptions {
  /**
   * Serve every route under `/<basePath>/` (NetBox's BASE_PATH), for a gateway
   * mounted at that path that forwards the path unchanged: the absolute URLs
   * NetBox returns then carry the mount, and with X-Forwarded-Host (and
   * X-Forwarded-Proto) from the gateway they point back at the gateway.
   */
  basePath?: string;
  /** Called with each line PostgreSQL, Redis or NetBox writes. */
  onLog?: (source: 'postgres' | 'redis' | 'netbox', line: string) => void;
  /** Called as each part is ready (the demo prints them: the start takes seconds). */
  onProgress?: (step: string) => void;
}

export interface NetBox {
  /** `http://127.0.0.1:PORT` plus the base path, no trailing slash: what pynetbox takes (it appends `/api`). */
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** `''` or `/<basePath>` */
  basePath: string;
  tokens: Record<NetBoxUser, NetBoxTokens>;
  /** Puts the database back as seeded (from a template database) and empties Redis. */
  reset(): Promise<void>;
  /** Stops NetBox, Redis and PostgreSQL (their whole process groups) and removes every file the harness wrote. */
  stop(): Promise<void>;
}

/** The uid and gid of the `postgres` user when running as root (PostgreSQL refuses to run as root). */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string): Promise<number> => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

/** Sends one Redis command (RESP, https://redis.io/docs/latest/develop/reference/protocol-spec/) and returns the reply line. */
async function redisCommand(port: number, ...args: string[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  try {
    for await (const chunk of socket) {
      const reply = (chunk as Buffer).toString('utf8');
      if (reply.includes('\r\n')) return reply.slice(0, reply.indexOf('\r\n'));
    }
    throw new Error('redis closed the connection');
  } finally {
    socket.destroy();
  }
}

/**
 * Where an instance keeps its files, the database cluster among them: /dev/shm
 * when it is a roomy tmpfs. Copying the 107 MB cluster there took 0.9 s where
 * the ext4 /tmp took 4-10 s with other suites writing, and the database then
 * never waits on the disk. (Docker gives containers a 64 MB /dev/shm.)
 */
function scratch(): string {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize > 1024 ** 3) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return tmpdir();
}

/**
 * Starts a real NetBox (installed by `scripts/setup-netbox.sh`) on 127.0.0.1
 * with its own PostgreSQL cluster (a copy of the seeded one) and Redis, each
 * on a free port, and waits until `/api/status/` answers an admin token.
 *
 * reset() copies the template database `netbox_tpl` over `netbox` (DROP
 * DATABASE ... WITH (FORCE) ends NetBox's sessions; CONN_HEALTH_CHECKS makes
 * it reconnect) instead of restoring the dump again.
 */
export async function startNetBox(options: NetBoxOptions = {}): Promise<NetBox> {
  const { onLog } = options;
  const progress = options.onProgress ?? ((): void => undefined);
  const tools = netboxTools();
  const basePath = options.basePath ? `/${options.basePath.replace(/^\/+|\/+$/g, '')}` : '';
  const dir = await mkdtemp(join(scratch(), 'writegate-netbox-'));
  // The postgres user must reach its data folder inside.
  chmodSync(dir, 0o755);
  const procs: Supervised[] = [];
  let postgres: Supervised | undefined;
  let redis: Supervised | undefined;
  let netbox: Supervised | undefined;
  // If the test process exits without stop(): detached children would outlive
  // it, and the folder (in RAM when on /dev/shm) would stay.
  const onExit = (): void => {
    for (const p of procs) signalGroup(p.child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // NetBox first, so that PostgreSQL has no clients left. SIGINT is the
    // quick shutdown of both gunicorn (SIGTERM would wait for its workers'
    // kept-alive connections) and PostgreSQL (SIGTERM would wait for clients).
    if (netbox) await stopGroup(netbox.child, 'SIGKILL');
    await Promise.all([redis && stopGroup(redis.child), postgres && stopGroup(postgres.child, 'SIGINT')]);
    process.off('exit', onExit);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const pgUser = await postgresUser();
    const pgData = join(dir, 'pg');
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const [pgPort, redisPort, httpPort] = [...ports] as [number, number, number];

    // Loading Django (--preload) needs neither PostgreSQL nor Redis: gunicorn
    // boots (the slowest part) while they start.
    const root = join(dir, 'root');
    mkdirSync(join(root, 'conf'), { recursive: true });
    copyFileSync(join(checkout(), 'test', 'netbox', 'configuration.py'), join(root, 'conf', 'configuration.py'));
    const origin = `http://127.0.0.1:${httpPort}`;
    netbox = supervise(join(tools.bin, 'gunicorn'), [
      '--bind', `127.0.0.1:${httpPort}`,
      '--workers', '2', '--threads', '2',
      // Load Django once in the arbiter: workers fork ready.
      '--preload',
      // Gunicorn 26 otherwise creates ~/.gunicorn/gunicorn.ctl, shared by every instance.
      '--no-control-socket',
      '--timeout', '120',
      // Gunicorn closes an idle connection after 2 s by default; clients that
      // keep connections longer (undici: 4 s) would then reuse a closed one
      // and fail with "other side closed".
      '--keep-alive', '30',
      'netbox.wsgi',
    ], onLog && ((line) => onLog('netbox', line)), {
      cwd: root,
      env: {
        ...process.env,
        NETBOX_ROOT: root,
        WG_NETBOX_DB_PORT: String(pgPort),
        WG_NETBOX_REDIS_PORT: String(redisPort),
        WG_NETBOX_BASE_PATH: basePath.slice(1),
        PYTHONUNBUFFERED: '1',
      },
    });
    procs.push(netbox);
    // A copy of the cluster setup-netbox.sh made from the seeded dump (keeping
    // its owner, the postgres user, when running as root).
    const copy = run('cp', ['-a', tools.cluster, pgData]);
    redis = supervise(tools.redisServer,
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      onLog && ((line) => onLog('redis', line)));
    procs.push(redis);
    await copy;
    // A throwaway cluster: no durability; its socket and dynamic shared memory
    // (posix by default: /dev/shm files a SIGKILLed server leaves behind) in its own folder.
    postgres = supervise(join(tools.pgBin, 'postgres'), ['-D', pgData, '-p', String(pgPort), '-k', pgData,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'dynamic_shared_memory_type=mmap'],
    onLog && ((line) => onLog('postgres', line)), pgUser ?? {});
    procs.push(postgres);

    const pgArgs = ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres'];
    const psql = async (...commands: string[]): Promise<void> => {
      await run(join(tools.pgBin, 'psql'), [...pgArgs, '-d', 'postgres', '-q', '-v', 'ON_ERROR_STOP=1',
        ...commands.flatMap((c) => ['-c', c])]);
    };
    progress('PostgreSQL and Redis starting; NetBox (gunicorn) loading Django');
    await waitFor('netbox: postgres', postgres, 30_000, async () => {
      await run(join(tools.pgBin, 'pg_isready'), [...pgArgs, '-q']);
      return true;
    });
    await waitFor('netbox: redis', redis, 30_000, async () => (await redisCommand(redisPort, 'PING')) === '+PONG');
    progress('PostgreSQL and Redis ready; waiting for NetBox to answer');
    const url = `${origin}${basePath}`;
    await waitFor('netbox: gunicorn', netbox, 120_000, async () => {
      const res = await fetch(`${url}/api/status/`, { headers: { authorization: authorization(TOKENS.admin.v2) } });
      await res.arrayBuffer();
      return res.status === 200;
    });

    return {
      url,
      origin,
      basePath,
      tokens: TOKENS,
      async reset() {
        await psql('DROP DATABASE netbox WITH (FORCE)', 'CREATE DATABASE netbox TEMPLATE netbox_tpl');
        const reply = await redisCommand(redisPort, 'FLUSHALL');
        if (reply !== '+OK') throw new Error(`netbox: redis FLUSHALL answered ${reply}`);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
