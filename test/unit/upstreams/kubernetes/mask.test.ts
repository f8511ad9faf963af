import { describe, expect, it } from 'vitest';
import { MASK, maskKubeInput } from '../../../../src/upstreams/kubernetes/mask.js';

const review = (resource: Record<string, string>, object: unknown, oldObject: unknown = null) => ({ request: { resource, object, oldObject } });

describe('decision log masking', () => {
  it('F5: masks a Secret by the resource the path names, even when the body has no kind', () => {
    const input = maskKubeInput(review({ group: '', version: 'v1', resource: 'secrets' },
      { metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"p":"aHVudGVyMg=="}}' } }, data: { p: 'aHVudGVyMg==' }, stringData: { q: 'hunter2' } },
      { kind: 'Secret', data: { p: 'b2xk' } }));
    const text = JSON.stringify(input);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('aHVudGVyMg');
    expect(text).not.toContain('b2xk');
    expect((input.request as any).object).toEqual({
      metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': MASK } }, data: { p: MASK }, stringData: { q: MASK },
    });
  });

  it('F5: masks data that is not a map as a whole, and a Secret kind on any resource', () => {
    expect((maskKubeInput(review({ group: '', resource: 'secrets' }, { data: 'aHVudGVyMg==' })).request as any).object.data).toBe(MASK);
    expect((maskKubeInput(review({ group: 'x.io', resource: 'things' }, { kind: 'Secret', data: { a: 'b' } })).request as any).object.data).toEqual({ a: MASK });
  });

  it('leaves other resources alone', () => {
    const input = review({ group: '', resource: 'configmaps' }, { kind: 'ConfigMap', data: { a: 'b' } });
    expect(maskKubeInput(input)).toEqual(input);
  });
});
