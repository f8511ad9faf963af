import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../src/opa/binary.js';

/** Integration suites need the pinned OPA; build it once (a no-op when already built). */
export default function setup(): void {
  execFileSync('bash', [join(projectRoot(), 'scripts', 'setup-opa.sh')], { stdio: 'inherit' });
}
