import { isWritegateError } from '../src/errors.js';

/** Exit codes CI can branch on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3 } as const;

/** Prints an error for a person (every config issue on its own line) and exits. */
export function fail(err: unknown): never {
  if (isWritegateError(err) && err.code === 'WG_ERR_CONFIG_INVALID') {
    const issues = (err.details.issues as Array<{ key: string; value: unknown; why: string }> | undefined) ?? [];
    process.stderr.write(`writegate: configuration is invalid (${issues.length || 1} problem${issues.length === 1 ? '' : 's'})\n`);
    for (const i of issues) process.stderr.write(`  - ${i.key}: ${i.why} (got ${JSON.stringify(i.value) ?? 'nothing'})\n`);
    if (!issues.length) process.stderr.write(`  ${err.message}\n`);
    process.exit(EXIT.config);
  }
  process.stderr.write(`writegate: ${(err as Error).message}\n`);
  process.exit(EXIT.failure);
}
