/**
 * Server processes a harness starts and stops (PostgreSQL, Redis, NetBox; etcd and kube-apiserver for
 * test/real-kube): each the leader of its own process group, with its last output kept for startup errors.
 * Here rather than under test/ because `writegate demo` starts the real NetBox with them too (./real.ts), and the
 * demo loads nothing from test/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A server process a harness started (etcd, kube-apiserver, PostgreSQL, Redis, NetBox). */
export interface Supervised {
  child: ChildProcess;
  /** The last few kilobytes the process wrote, for startup error messages. */
  tail(): string;
}

export interface SuperviseOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (the harness runs as root in CI; PostgreSQL refuses to). */
  uid?: number;
  gid?: number;
}

/**
 * Starts `file` as the leader of its own process group (`detached`) so that
 * stopGroup() can signal the group and nothing it forks outlives the suite.
 */
export function supervise(file: string, args: string[], onLog?: (line: string) => void, options: SuperviseOptions = {}): Supervised {
  const child = spawn(file, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-6000);
    if (onLog) for (const line of text.split('\n')) if (line) onLog(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, tail: () => tail };
}

export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Sends `signal` to the group, SIGKILL after 5 s if the leader has not exited,
 * then SIGKILL again: the leader may be gone while a forked helper still holds
 * the group.
 */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.pid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');
  signalGroup(child, signal);
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  signalGroup(child, 'SIGKILL');
}

function exitedEarly(name: string, proc: Supervised): Error | undefined {
  const { child } = proc;
  if (child.exitCode === null && child.signalCode === null) return undefined;
  return new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${proc.tail()}`);
}

/**
 * Polls `probe` every 200 ms until it returns true, failing at once (with the
 * process's last output) if `proc` exits, or after `timeoutMs`. A probe that
 * throws counts as "not ready yet" (nothing listening, a refused connection).
 */
export async function waitFor(what: string, proc: Supervised, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const early = exitedEarly(what, proc);
    if (early) throw early;
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs / 1000}s:\n${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
