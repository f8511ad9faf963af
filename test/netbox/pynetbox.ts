import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/opa/binary.js';
import { netboxTools } from './harness.js';

/** How pynetbox failed: a RequestError carries NetBox's (or the gateway's) answer; anything else a traceback. */
export interface PynetboxError {
  type: string;
  message: string;
  status?: number;
  method?: string;
  /** The URL pynetbox called, which for save()/delete()/.all() is one the server returned. */
  url?: string;
  body?: string;
  traceback?: string;
}

export type PynetboxOutcome<T> = { ok: true; result: T } | { ok: false; error: PynetboxError };

/**
 * Runs Python statements with `nb = pynetbox.api(target.url, token=target.token)`
 * and `args` in scope, in the venv `scripts/setup-netbox.sh` built, and returns
 * what they left in `result` (pynetbox Records become plain objects). One
 * Python process per call (~0.5 s), so a snippet should do a whole scenario.
 */
export async function pynetbox<T = unknown>(
  target: { url: string; token: string },
  code: string,
  args?: unknown,
): Promise<PynetboxOutcome<T>> {
  const script = join(projectRoot(), 'test', 'netbox', 'py', 'run.py');
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(netboxTools().python, [script], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, out, stderr) => (err ? reject(new Error(`pynetbox: ${err.message}\n${stderr}`)) : resolve(out)));
    child.stdin?.end(JSON.stringify({ url: target.url, token: target.token, code, args: args ?? null }));
  });
  return JSON.parse(stdout) as PynetboxOutcome<T>;
}
