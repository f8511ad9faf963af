import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { opaBinary } from './binary.js';
import { OpaClient } from './client.js';
import { freePort } from '../net.js';

export interface LocalOpaOptions {
  /** Rego files or folders loaded into OPA (`opa run --server <paths>`); `_test.rego` files are skipped. */
  paths: string[];
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Reload policy files when they change on disk (`--watch`). */
  watch?: boolean;
  /** Called with each line OPA writes (its own log and, on stderr, its console decision log). */
  onLog?: (line: string) => void;
}

export interface LocalOpa {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}


/**
 * Starts a real OPA server on loopback and waits until `GET /health` answers.
 * Decision logging goes to the console so that the Data API returns a
 * `decision_id` (OPA mints ids only when the decision_logs plugin is on:
 * v1/runtime/runtime.go decisionIDFactory); the status plugin is on so that
 * `/v1/status` works.
 */
export async function startLocalOpa(options: LocalOpaOptions): Promise<LocalOpa> {
  const port = options.port || (await freePort());
  const args = [
    'run', '--server',
    `--addr=127.0.0.1:${port}`,
    '--disable-telemetry',
    '--log-level=error',
    '--set=decision_logs.console=true',
    '--set=status.prometheus=true',
    '--ignore=*_test.rego',
    // Example inputs beside the policies are documentation, not data.
    '--ignore=testdata',
    ...(options.watch ? ['--watch'] : []),
    ...options.paths,
  ];
  const child = spawn(opaBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const onLog = options.onLog;
  let tail = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-4000);
    if (onLog) for (const line of text.split('\n')) if (line) onLog(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const exited = once(child, 'exit');
  const deadline = Date.now() + 20_000;
  const probe = new OpaClient({ url, timeoutMs: 1_000 });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`OPA exited with ${child.exitCode}: ${tail}`);
      if (await probe.healthy()) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`OPA did not become healthy within 20s: ${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await probe.close();
  }
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
