import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import type { RawConfig } from '../../../src/config/schema.js';
import { WritegateError } from '../../../src/errors.js';

const k8s = { name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: 'https://127.0.0.1:6443', policy: 'writegate/kubernetes/decision' } as const;
const cf = { name: 'cf', kind: 'cloudflare', prefix: '/cf', target: 'https://api.cloudflare.com', policy: 'writegate/cloudflare/decision' } as const;
const tls = { cert: 'tls.crt', key: 'tls.key' };

/** The keys a configuration is refused for. */
function problems(raw: RawConfig): string[] {
  try {
    parseConfig(raw, '/etc/writegate');
  } catch (err) {
    return ((err as WritegateError).details.issues as { key: string }[]).map((i) => i.key);
  }
  return [];
}

describe('listen.tls and listen.auth', () => {
  it('defaults every upstream to identity gateway with listen.auth, to its kind\'s own without', () => {
    const withAuth = parseConfig({ listen: { tls, auth: {} }, upstreams: [k8s, cf] }, '/etc/writegate');
    expect(withAuth.upstreams.map((u) => u.identity)).toEqual(['gateway', 'gateway']);
    expect(withAuth.listen.auth).toEqual({ anonymous: false });
    const without = parseConfig({ upstreams: [k8s, cf, { ...k8s, name: 'k2', prefix: '/k2', identity: 'none' }] });
    expect(without.upstreams.map((u) => u.identity)).toEqual(['selfsubjectreview', 'upstream', 'none']);
  });

  it('resolves clientCA, the proxy\'s clientCA and tokenFile against the configuration\'s folder, and fills the proxy header names', () => {
    const cfg = parseConfig({
      listen: { tls: { ...tls, clientCA: 'clients.crt' }, auth: { tokenFile: 'tokens.csv', trustedProxy: { clientCA: 'proxy.crt', clientCNs: ['front-proxy'] } } },
      upstreams: [k8s],
    }, '/etc/writegate');
    expect(cfg.listen.tls).toMatchObject({ clientCA: '/etc/writegate/clients.crt', clientAuth: 'optional' });
    expect(cfg.listen.auth?.tokenFile).toBe('/etc/writegate/tokens.csv');
    expect(cfg.listen.auth?.trustedProxy?.clientCA).toBe('/etc/writegate/proxy.crt');
    expect(cfg.listen.auth?.trustedProxy?.headers).toEqual({ user: 'X-Remote-User', group: 'X-Remote-Group', uid: 'X-Remote-Uid', extraPrefix: 'X-Remote-Extra-' });
  });

  it('accepts the issue\'s form: a proxy known by a CN of listen.tls.clientCA (no CA of its own)', () => {
    expect(problems({ listen: { tls: { ...tls, clientCA: 'ca.crt' }, auth: { trustedProxy: { clientCNs: ['front-proxy'], addresses: ['127.0.0.2/32'] } } }, upstreams: [k8s] })).toEqual([]);
  });

  it.each<[string, RawConfig, string]>([
    ['client certificates without listen.auth', { listen: { tls: { ...tls, clientCA: 'ca.crt' } }, upstreams: [k8s] }, 'listen.tls.clientCA'],
    ['clientAuth required without a clientCA', { listen: { tls: { ...tls, clientAuth: 'required' }, auth: {} }, upstreams: [k8s] }, 'listen.tls.clientAuth'],
    ['a trusted proxy named by nothing', { listen: { tls, auth: { trustedProxy: {} } }, upstreams: [k8s] }, 'listen.auth.trustedProxy'],
    ['a proxy known by a CN with no CA to verify it against', { listen: { tls, auth: { trustedProxy: { clientCNs: ['p'] } } }, upstreams: [k8s] }, 'listen.auth.trustedProxy.clientCNs'],
    ['a proxy known by its certificate on plain HTTP', { listen: { auth: { trustedProxy: { clientCA: 'proxy.crt' } } }, upstreams: [k8s] }, 'listen.auth.trustedProxy.clientCA'],
    ['an address that is no CIDR', { listen: { tls, auth: { trustedProxy: { addresses: ['10.0.0.1/33'] } } }, upstreams: [k8s] }, 'listen.auth.trustedProxy.addresses.0'],
    ['a header name that is no token', { listen: { tls, auth: { trustedProxy: { addresses: ['10.0.0.1'], headers: { user: 'X Remote' } } } }, upstreams: [k8s] }, 'listen.auth.trustedProxy.headers.user'],
    ['identity gateway without listen.auth', { upstreams: [{ ...k8s, identity: 'gateway' }] }, 'upstreams.0.identity'],
    ['an identity the kind does not have', { upstreams: [{ ...cf, identity: 'tokenreview' }] }, 'upstreams.0.identity'],
    ['the old kind-level identity option', { upstreams: [{ ...k8s, kubernetes: { identity: 'none' } as never }] }, 'upstreams.0.kubernetes'],
  ])('refuses %s', (_why, raw, key) => {
    expect(problems(raw)).toContain(key);
  });
});
