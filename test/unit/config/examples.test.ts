import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.js';
import { projectRoot } from '../../../src/opa/binary.js';

const root = join(projectRoot(), 'examples');
const configs = readdirSync(root).map((d) => join(root, d, 'writegate.yaml')).filter((f) => existsSync(f));

describe('the example configurations', () => {
  it('there is one per mountable kind besides Kubernetes (whose example is the README\'s)', () => {
    expect(configs.map((f) => f.split('/').at(-2)).sort()).toEqual(['aws', 'cloudflare', 'generic', 'netbox']);
  });

  for (const file of configs) {
    const kind = file.split('/').at(-2)!;
    it(`${kind}: validates, mounts that kind, and resolves its relative paths against its own folder`, () => {
      const cfg = loadConfigFile(file);
      expect(cfg.upstreams.length).toBeGreaterThan(0);
      for (const u of cfg.upstreams) expect(u.kind).toBe(kind);
      expect(cfg.decisionLog.path.startsWith(join(root, kind))).toBe(true);
      if (kind === 'aws') {
        for (const u of cfg.upstreams) {
          const own = u as unknown as { aws: { callers: string }; credentials: { accessKeyIdFile?: string } };
          expect(own.aws.callers).toBe(join(root, 'aws', 'aws-callers.csv'));
          if (own.credentials.accessKeyIdFile) expect(own.credentials.accessKeyIdFile).toBe(join(root, 'aws', 'held-akid'));
        }
      }
    });
  }
});
