import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../src/opa/binary.js';

/**
 * Integration suites need the pinned OPA (built once; a no-op when built), and
 * the CLI tests run the compiled `writegate` command, so dist/ (and dist-dev/, its simulators) is rebuilt.
 */
export default function setup(): void {
  const root = projectRoot();
  execFileSync('bash', [join(root, 'scripts', 'setup-opa.sh')], { stdio: 'inherit' });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  // `writegate demo` loads its simulator from the dev build (dist-dev/), which the demo test runs.
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.dev.json')], { stdio: 'inherit' });
}
