import { describe, expect, it } from 'vitest';
import { applyKubePatch } from '../../../../src/upstreams/kubernetes/patch.js';

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'fe' }, finalizers: ['a'] },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
    template: {
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            ports: [{ containerPort: 80 }, { containerPort: 443 }],
            env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
            args: ['--x', '--y'],
          },
          { name: 'sidecar', image: 'busybox' },
        ],
        tolerations: [{ key: 'k1', operator: 'Exists' }],
      },
    },
  },
});

const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const SMP = 'application/strategic-merge-patch+json';

describe('application/json-patch+json', () => {
  it('applies RFC 6902 operations without touching the input', () => {
    const cur = deployment();
    const out = applyKubePatch(cur, body([{ op: 'replace', path: '/spec/replicas', value: 5 }, { op: 'remove', path: '/metadata/labels/tier' }]), 'application/json-patch+json') as ReturnType<typeof deployment>;
    expect(out.spec.replicas).toBe(5);
    expect(out.metadata.labels).toEqual({ app: 'web' });
    expect(cur.spec.replicas).toBe(2);
  });

  it('fails with WG_PATCH_NOT_APPLICABLE (422) when a test operation fails', () => {
    expect(() => applyKubePatch(deployment(), body([{ op: 'test', path: '/spec/replicas', value: 3 }]), 'application/json-patch+json')).toThrow(
      expect.objectContaining({ code: 'WG_PATCH_NOT_APPLICABLE', status: 422 }),
    );
  });

  it('replaces a missing member of an existing object as the apiserver does (it adds it), not a missing parent', () => {
    const out = applyKubePatch(deployment(), body([{ op: 'replace', path: '/metadata/labels/team', value: 'a' }]), 'application/json-patch+json') as ReturnType<typeof deployment>;
    expect(out.metadata.labels).toMatchObject({ team: 'a' });
    expect(() => applyKubePatch(deployment(), body([{ op: 'replace', path: '/metadata/nothing/team', value: 'a' }]), 'application/json-patch+json'))
      .toThrow(expect.objectContaining({ code: 'WG_PATCH_NOT_APPLICABLE', status: 422 }));
    expect(() => applyKubePatch(deployment(), body([{ op: 'remove', path: '/metadata/labels/team' }]), 'application/json-patch+json'))
      .toThrow(expect.objectContaining({ code: 'WG_PATCH_NOT_APPLICABLE' }));
  });

  it('fails with WG_PATCH_INVALID (400) for a non-array or an unknown op', () => {
    expect(() => applyKubePatch(deployment(), body({ op: 'add' }), 'application/json-patch+json')).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID', status: 400 }));
    expect(() => applyKubePatch(deployment(), body([{ op: 'frobnicate', path: '/a' }]), 'application/json-patch+json')).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID' }));
    expect(() => applyKubePatch(deployment(), body('[{'), 'application/json-patch+json')).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID' }));
  });
});

describe('application/merge-patch+json (RFC 7386)', () => {
  it('merges maps, deletes with null and replaces lists', () => {
    const out = applyKubePatch(deployment(), body({ metadata: { labels: { tier: null, new: 'x' } }, spec: { template: { spec: { containers: [{ name: 'only' }] } } } }), 'application/merge-patch+json; charset=utf-8') as ReturnType<typeof deployment>;
    expect(out.metadata.labels).toEqual({ app: 'web', new: 'x' });
    expect(out.spec.template.spec.containers).toEqual([{ name: 'only' }]);
  });
});

describe('application/merge-patch+json as the apiserver applies it (evanphx/json-patch MergePatch)', () => {
  // Regression: json-merge-patch stopped at a "__proto__", "constructor" or "prototype" key and dropped the rest of
  // the patch, so with resolve: local the policy judged the stored object while the apiserver applied everything.
  it('applies every key of a patch that also names constructor, prototype or __proto__', () => {
    for (const key of ['constructor', 'prototype', '__proto__']) {
      const patch = `{"${key}": {"x": 1}, "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "evil:latest", "securityContext": {"privileged": true}}]}}}}`;
      const out = applyKubePatch(deployment(), body(patch), 'application/merge-patch+json') as ReturnType<typeof deployment>;
      expect(out.spec.template.spec.containers, key).toEqual([{ name: 'web', image: 'evil:latest', securityContext: { privileged: true } }]);
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.hasOwn(out, key), key).toBe(true);
    }
  });

  it('drops null members of a value it adds, inside arrays too, and keeps a null array element', () => {
    const out = applyKubePatch({ a: 1, b: [1] }, body({ c: { d: null, e: 1 }, b: [{ f: null, g: 2 }, null] }), 'application/merge-patch+json');
    expect(out).toEqual({ a: 1, b: [{ g: 2 }, null], c: { e: 1 } });
    // An array replacing an object is kept as sent.
    expect(applyKubePatch({ a: { x: 1 } }, body({ a: [{ f: null }] }), 'application/merge-patch+json')).toEqual({ a: [{ f: null }] });
  });
});

describe('application/strategic-merge-patch+json', () => {
  it('regression: an empty list in a patch keeps a merged list (containers) as the apiserver does, and replaces an atomic one', () => {
    const d = deployment();
    const kept = applyKubePatch(d, body({ metadata: { labels: { x: 'y' } }, spec: { template: { spec: { containers: [] } } } }), SMP) as ReturnType<typeof deployment>;
    expect(kept.spec.template.spec.containers).toEqual(d.spec.template.spec.containers);
    expect(kept.metadata.labels).toMatchObject({ x: 'y' });
    const atomic = applyKubePatch({ spec: { args: ['a', 'b'] } }, body({ spec: { args: [] } }), SMP) as { spec: { args: string[] } };
    expect(atomic.spec.args).toEqual([]);
  });

  it('merges containers by name, ports by containerPort, env by name, volumeMounts by mountPath', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                image: 'nginx:1.28',
                ports: [{ containerPort: 8080 }],
                env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }],
                volumeMounts: [{ name: 'cache', mountPath: '/data' }],
              },
            ],
          },
        },
      },
    };
    const out = applyKubePatch(deployment(), body(patch), SMP) as ReturnType<typeof deployment>;
    const [web, sidecar] = out.spec.template.spec.containers;
    expect(web!.image).toBe('nginx:1.28');
    expect(web!.ports).toEqual([{ containerPort: 80 }, { containerPort: 443 }, { containerPort: 8080 }]);
    expect(web!.env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: 'two' }, { name: 'C', value: '3' }]);
    expect(web!.volumeMounts).toEqual([{ name: 'cache', mountPath: '/data' }]);
    expect(web!.args).toEqual(['--x', '--y']);
    expect(sidecar).toEqual({ name: 'sidecar', image: 'busybox' });
  });

  it('replaces lists without a merge key (tolerations, args)', () => {
    const out = applyKubePatch(deployment(), body({ spec: { template: { spec: { tolerations: [{ key: 'k2', operator: 'Exists' }], containers: [{ name: 'web', args: ['--z'] }] } } } }), SMP) as ReturnType<typeof deployment>;
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'k2', operator: 'Exists' }]);
    expect(out.spec.template.spec.containers[0]!.args).toEqual(['--z']);
  });

  it('deletes a list element with $patch: delete and a key with null', () => {
    const out = applyKubePatch(deployment(), body({ metadata: { labels: { tier: null } }, spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } }), SMP) as ReturnType<typeof deployment>;
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['web']);
    expect(out.metadata.labels).toEqual({ app: 'web' });
  });

  it('replaces a map with $patch: replace and a list with a {$patch: replace} element', () => {
    const out = applyKubePatch(deployment(), body({ metadata: { labels: { only: 'me', $patch: 'replace' } }, spec: { template: { spec: { containers: [{ name: 'new', image: 'x' }, { $patch: 'replace' }] } } } }), SMP) as ReturnType<typeof deployment>;
    expect(out.metadata.labels).toEqual({ only: 'me' });
    expect(out.spec.template.spec.containers).toEqual([{ name: 'new', image: 'x' }]);
  });

  it('deletes a whole map with $patch: delete', () => {
    const out = applyKubePatch(deployment(), body({ spec: { strategy: { $patch: 'delete' } } }), SMP) as ReturnType<typeof deployment>;
    expect(out.spec).not.toHaveProperty('strategy');
  });

  it('clears keys not listed in $retainKeys', () => {
    const out = applyKubePatch(deployment(), body({ spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }), SMP) as ReturnType<typeof deployment>;
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('orders a merged list by $setElementOrder', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'extra' }, { name: 'web' }],
            containers: [{ name: 'extra', image: 'e' }],
          },
        },
      },
    };
    const out = applyKubePatch(deployment(), body(patch), SMP) as ReturnType<typeof deployment>;
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['sidecar', 'extra', 'web']);
  });

  it('removes values with $deleteFromPrimitiveList and unions merge-strategy primitive lists', () => {
    const out = applyKubePatch(deployment(), body({ metadata: { finalizers: ['b'] } }), SMP) as ReturnType<typeof deployment>;
    expect(out.metadata.finalizers).toEqual(['a', 'b']);
    const out2 = applyKubePatch(out, body({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }), SMP) as ReturnType<typeof deployment>;
    expect(out2.metadata.finalizers).toEqual(['b']);
  });

  it('merges Service ports by port', () => {
    const svc = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    const out = applyKubePatch(svc, body({ spec: { ports: [{ port: 80, targetPort: 9090 }] } }), SMP) as typeof svc;
    expect(out.spec.ports).toEqual([{ port: 80, targetPort: 9090 }, { port: 443 }]);
  });

  it('rejects unknown directives and malformed bodies with WG_PATCH_INVALID', () => {
    expect(() => applyKubePatch(deployment(), body({ spec: { $patch: 'explode' } }), SMP)).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID' }));
    expect(() => applyKubePatch(deployment(), body('[1]'), SMP)).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID' }));
    expect(() => applyKubePatch(deployment(), body({ spec: { template: { spec: { containers: [{ image: 'no-name' }] } } } }), SMP)).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID' }));
  });

  it('applies the patch kubectl 1.32 apply sends for a changed image', () => {
    const kubectlPatch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: { replicas: 3, template: { spec: { '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }], containers: [{ image: 'nginx:1.28', name: 'web' }] } } },
    };
    const out = applyKubePatch(deployment(), body(kubectlPatch), SMP) as ReturnType<typeof deployment>;
    expect(out.spec.replicas).toBe(3);
    expect(out.spec.template.spec.containers.map((c) => [c.name, c.image])).toEqual([['web', 'nginx:1.28'], ['sidecar', 'busybox']]);
  });
});

describe('application/apply-patch+yaml', () => {
  it('creates from a YAML body when the object is absent', () => {
    const out = applyKubePatch(undefined, body('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n'), 'application/apply-patch+yaml');
    expect(out).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } });
  });

  it('merges a JSON body over the current object strategically', () => {
    const out = applyKubePatch(deployment(), body({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } }), 'application/apply-patch+yaml') as ReturnType<typeof deployment>;
    expect(out.spec.template.spec.containers.map((c) => c.image)).toEqual(['nginx:2', 'busybox']);
    expect(out.spec.replicas).toBe(2);
  });

  it('reads YAML 1.1 as the apiserver does: yes is true, 0777 is octal', () => {
    const out = applyKubePatch(undefined, body('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    securityContext:\n      privileged: yes\n  volumes:\n  - name: v\n    secret:\n      defaultMode: 0777\n'), 'application/apply-patch+yaml') as any;
    expect(out.spec.containers[0].securityContext.privileged).toBe(true);
    expect(out.spec.volumes[0].secret.defaultMode).toBe(511);
  });

  it('rejects a body that is not an object', () => {
    expect(() => applyKubePatch(undefined, body('- a\n- b\n'), 'application/apply-patch+yaml')).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID' }));
    expect(() => applyKubePatch(undefined, body('a: [\n'), 'application/apply-patch+yaml')).toThrow(expect.objectContaining({ code: 'WG_PATCH_INVALID' }));
  });
});

describe('content types', () => {
  it('rejects non-patch content types with WG_PATCH_UNSUPPORTED_MEDIA_TYPE (415)', () => {
    expect(() => applyKubePatch(deployment(), body({}), 'application/json')).toThrow(expect.objectContaining({ code: 'WG_PATCH_UNSUPPORTED_MEDIA_TYPE', status: 415 }));
  });

  it('refuses non-apply patches of a missing object', () => {
    expect(() => applyKubePatch(undefined, body({}), 'application/merge-patch+json')).toThrow(expect.objectContaining({ code: 'WG_PATCH_NOT_APPLICABLE' }));
  });
});
