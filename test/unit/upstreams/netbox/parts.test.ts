import { describe, expect, it } from 'vitest';
import { WritegateError } from '../../../../src/errors.js';
import { assertQueryOnly } from '../../../../src/upstreams/netbox/graphql.js';
import { maskNetboxInput, MASK } from '../../../../src/upstreams/netbox/mask.js';
import { netboxTarget } from '../../../../src/upstreams/netbox/paths.js';
import { renderDeny, renderError, warningHeaders } from '../../../../src/upstreams/netbox/render.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    return (err as WritegateError).code;
  }
};

describe('netbox paths', () => {
  it('names app, model, id and sub-resource as NetBox routes them', () => {
    expect(netboxTarget('/api/dcim/devices/')).toEqual({ resource: 'dcim/devices', app: 'dcim', model: 'devices', id: null });
    expect(netboxTarget('/api/dcim/devices/12/')).toEqual({ resource: 'dcim/devices', app: 'dcim', model: 'devices', id: 12 });
    expect(netboxTarget('/api/ipam/prefixes/5/available-ips/')).toEqual({ resource: 'ipam/prefixes', app: 'ipam', model: 'prefixes', id: 5, subResource: 'available-ips' });
    expect(netboxTarget('/api/users/tokens/provision/')).toEqual({ resource: 'users/tokens', app: 'users', model: 'tokens', id: null, subResource: 'provision' });
    expect(netboxTarget('/api/plugins/bgp/sessions/3/')).toEqual({ resource: 'plugins/bgp/sessions', app: 'plugins/bgp', model: 'sessions', id: 3 });
  });

  it('refuses an id NetBox would read as another number, and paths that are no object route', () => {
    for (const p of ['/api/dcim/devices/012/', '/api/dcim/devices/0/', '/api/dcim/devices/99999999999999999999/', '/api/status/',
      '/api/plugins/bgp/', '/api/dcim/devices/x/y/', '/api/dcim/devices/1/a/b/']) {
      expect(code(() => netboxTarget(p)), p).toBe('WG_ERR_BAD_PATH');
    }
  });
});

describe('netbox GraphQL: only queries are reads', () => {
  it('accepts queries, shorthand, fragments, and the words in strings, comments and selections', () => {
    for (const doc of [
      '{ site_list { name } }',
      'query Q($n: String = "mutation {") { site_list(filters: {name: {exact: $n}}) { name } }',
      '# mutation { delete_site(id: 1) }\nquery { device_list { name } }',
      'query { site_list { mutation: name } } fragment F on SiteType { subscription: slug }',
      'query { site(id: 1) { description } } """block "" mutation"""',
    ]) {
      expect(() => assertQueryOnly(doc), doc).not.toThrow();
    }
  });

  it('refuses mutations and subscriptions wherever a definition starts, and documents it cannot read', () => {
    for (const doc of ['mutation { delete_site(id: 1) { id } }', 'query { a } mutation M { b }', 'subscription { x }',
      '  ,\tmutation{x}', '"x" mutation { y }', '{ a } # c\r\nmutation { b }']) {
      expect(code(() => assertQueryOnly(doc)), doc).toBe('WG_ERR_BAD_REQUEST');
    }
    for (const doc of ['{ a', 'query { a } }', 'query { a(s: "open) }', '""" never closed']) {
      expect(code(() => assertQueryOnly(doc)), doc).toBe('WG_ERR_MALFORMED_BODY');
    }
  });
});

describe('netbox answers', () => {
  it('denies with 403 {"detail"} naming every violation and the decision', () => {
    const r = renderDeny([{ msg: 'first [a]' }, { msg: 'second [b]' }], 'd-1');
    expect(r.status).toBe(403);
    expect(JSON.parse(String(r.body))).toEqual({ detail: 'writegate denied the request: first [a]; second [b] (decision d-1)' });
  });

  it('renders errors in the same shape with the kind\'s fix text', () => {
    const r = renderError(new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'content type "text/plain" for a write (JSON only)'), 'd-2');
    expect(r.status).toBe(415);
    const { detail } = JSON.parse(String(r.body)) as { detail: string };
    expect(detail).toContain('[WG_ERR_UNSUPPORTED_MEDIA_TYPE]');
    expect(detail).toContain('image attachments');
    expect(detail.endsWith('(decision d-2)')).toBe(true);
    expect(warningHeaders([{ msg: 'say "hi"\n' }])).toEqual(['299 - "say \\"hi\\" "']);
  });

  it('masks passwords, secrets and, on users/tokens, token and key in body, object, oldObject and items', () => {
    const input = {
      request: {
        resource: 'users/tokens',
        body: [{ key: 'k1', token: 't1', description: 'ci' }],
        object: null,
        oldObject: null,
        items: [{ body: { key: 'k1', token: 't1' }, object: { key: 'k1', token: 't1', user: { password: 'p' } }, oldObject: null }],
      },
    };
    const masked = maskNetboxInput(input) as any;
    expect(masked.request.body).toEqual([{ key: MASK, token: MASK, description: 'ci' }]);
    expect(masked.request.items[0].object).toEqual({ key: MASK, token: MASK, user: { password: MASK } });
    expect(input.request.body[0]!.token).toBe('t1');
    const other = maskNetboxInput({ request: { resource: 'core/data-sources', body: { key: 'k', parameters: { aws_secret_access_key: 's' } } } }) as any;
    expect(other.request.body).toEqual({ key: 'k', parameters: { aws_secret_access_key: MASK } });
  });
});
