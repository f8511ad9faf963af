/**
 * Relative paths of the AWS kind and of the admin API are read against the configuration file's folder, as every
 * other path key is (src/config/load.ts), not against the gateway's working directory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { ofKind } from '../../src/config/schema.js';

describe('relative paths of aws mounts and the admin API', () => {
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it('are resolved against the configuration file\'s folder, whatever the working directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'wg-paths-'));
    const folder = join(root, 'etc');
    mkdirSync(folder);
    const file = join(folder, 'writegate.yaml');
    writeFileSync(file, stringify({
      admin: { tokenFile: 'admin-token', pushLog: 'logs/push.log' },
      upstreams: [{
        name: 'iam', kind: 'aws', prefix: '/aws/iam', target: 'http://127.0.0.1:5000', policy: 'writegate/aws/decision',
        aws: { service: 'iam', region: 'us-east-1', callers: 'aws/callers.csv' },
        credentials: { mode: 'held', accessKeyIdFile: 'aws/akid', secretAccessKeyFile: '/run/secrets/aws-secret' },
      }],
    }));
    process.chdir(root);
    const cfg = loadConfigFile('etc/writegate.yaml');
    const iam = ofKind(cfg.upstreams[0]!, 'aws');
    expect(iam.aws.callers).toBe(join(folder, 'aws/callers.csv'));
    expect(iam.credentials).toMatchObject({ accessKeyIdFile: join(folder, 'aws/akid'), secretAccessKeyFile: '/run/secrets/aws-secret' });
    expect(cfg.admin).toMatchObject({ tokenFile: join(folder, 'admin-token'), pushLog: join(folder, 'logs/push.log') });
  });
});
