import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs from `src/` or `dist/src/`. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tools', 'opa', 'go.mod'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('writegate: cannot find the project root (package.json beside tools/opa)');
    dir = up;
  }
}

/** The OPA binary: `OPA_BIN` when set, else the pinned build from `scripts/setup-opa.sh`. */
export function opaBinary(): string {
  const fromEnv = process.env.OPA_BIN;
  if (fromEnv) return resolve(fromEnv);
  const built = join(projectRoot(), '.tools', 'bin', 'opa');
  if (!existsSync(built)) {
    throw new Error(`writegate: OPA is not built at ${built}; run "bash scripts/setup.sh" (or set OPA_BIN)`);
  }
  return built;
}
