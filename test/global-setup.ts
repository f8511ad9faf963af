import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../src/opa/binary.js';

/**
 * Integration suites need the pinned OPA (built once; a no-op when built), and
 * the CLI tests run the compiled `writegate` command, so dist/ is rebuilt.
 */
export default function setup(): void {
  const root = projectRoot();
  execFileSync('bash', [join(root, 'scripts', 'setup-opa.sh')], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
