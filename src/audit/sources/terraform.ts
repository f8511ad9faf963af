import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { redactSensitive } from '../../check/terraform.js';
import { parseJsonStrict } from '../../http/json.js';
import type { AuditObject, AuditSource } from '../types.js';
import { isObject } from './http.js';

const run = promisify(execFile);

/** The largest `terraform show -json` output read (a state of tens of thousands of resources). */
const MAX_STATE_JSON_BYTES = 512 * 1024 * 1024;

/** The managed resources of a module of `terraform show -json` values, its child modules' included. */
function managedResources(module: unknown, out: Record<string, unknown>[]): Record<string, unknown>[] {
  if (!isObject(module)) return out;
  for (const r of Array.isArray(module.resources) ? module.resources : []) if (isObject(r) && r.mode === 'managed') out.push(r);
  for (const m of Array.isArray(module.child_modules) ? module.child_modules : []) managedResources(m, out);
  return out;
}

/**
 * The managed resources of a Terraform state, as `terraform show -json STATE` gives them (JSON output format,
 * "values representation"), run in the state's folder. Sensitive values are replaced before OPA or its decision
 * log sees them, as for plans (src/check/terraform.ts).
 */
export function terraformSource(stateFile: string, pageSize: number): AuditSource {
  const file = resolve(stateFile);
  return {
    source: 'terraform',
    origin: stateFile,
    async *pages(): AsyncIterable<AuditObject[]> {
      let stdout: string;
      try {
        ({ stdout } = await run('terraform', ['show', '-json', '-no-color', file], { cwd: dirname(file), maxBuffer: MAX_STATE_JSON_BYTES, env: { ...process.env, TF_IN_AUTOMATION: '1' } }));
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: string };
        throw new Error(e.code === 'ENOENT' ? 'terraform is not on PATH' : `terraform show -json ${stateFile} failed: ${(e.stderr ?? e.message).trim().slice(0, 500)}`, { cause: err });
      }
      // Its errors give a position, never the text: a state holds secrets.
      const state = parseJsonStrict(stdout);
      if (!isObject(state)) throw new Error(`terraform show -json ${stateFile} did not answer a JSON object`);
      const resources = managedResources(isObject(state.values) ? state.values.root_module : undefined, []).map((r): AuditObject => {
        const { sensitive_values: sensitive, values, ...rest } = r;
        return {
          resource: String(r.type),
          address: String(r.address),
          object: { ...rest, values: redactSensitive(values, sensitive), tainted: r.tainted === true },
          context: {},
        };
      });
      for (let i = 0; i < resources.length; i += pageSize) yield resources.slice(i, i + pageSize);
    },
    close: async () => {},
  };
}
