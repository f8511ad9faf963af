/**
 * What a fresh NetBox simulator holds: users with object permissions and API tokens, and objects written as a
 * client would write them (validated as writes are), in order. The default seed is a small site for the demo and
 * the tests: one site with three devices (one active leaf tagged `protected`), two prefixes, an IP address.
 */
import type { Json } from './objects.js';
import type { ModelKey } from './models.js';
import type { NbPermission } from './store.js';

export interface NbUserSeed {
  username: string;
  superuser?: boolean;
  permissions?: NbPermission[];
  groups?: string[];
}

export interface NbSeed {
  users: NbUserSeed[];
  /**
   * API tokens as clients send them: a v1 token is 40 characters (`Authorization: Token <v1>`), a v2 token is
   * `nbt_<12-character key>.<40-character secret>` (`Authorization: Bearer <v2>`).
   */
  tokens: Record<string, { user: string; writeEnabled?: boolean }>;
  /** Objects per model, created in this order; related objects are named by id or by attributes (`{"slug": ...}`). */
  objects: Partial<Record<ModelKey, Record<string, Json>[]>>;
}

/** The default seed's tokens. */
export const SEED_TOKENS = {
  /** v2 token of `admin`, a superuser. */
  admin: 'nbt_wgsimAdmin01.wgsimNetboxAdminSecret000000000000000000',
  /** v1 token of `admin`. */
  adminV1: 'wgsimNetboxAdminV1Token00000000000000000',
  /** v2 token of `viewer`, who may view dcim and ipam objects and add and change devices, nothing else. */
  restricted: 'nbt_wgsimViewr01.wgsimNetboxViewerSecret00000000000000000',
  /** v2 token of `admin` with writes disabled. */
  readOnly: 'nbt_wgsimReadO01.wgsimNetboxReadOnlySecret000000000000000',
} as const;

/** The default seed's slugs of what a device needs: a client creates one with `{"site": {"slug": ...}, ...}`. */
export const SEED_SLUGS = { site: 'ams1', deviceType: 'leaf-48', role: 'leaf' } as const;

const leaf = { device_type: { slug: SEED_SLUGS.deviceType }, role: { slug: SEED_SLUGS.role }, site: { slug: SEED_SLUGS.site } };

export const DEFAULT_SEED: NbSeed = {
  users: [
    { username: 'admin', superuser: true, groups: ['netops'] },
    {
      username: 'viewer',
      permissions: [
        { actions: ['view'], objectTypes: ['dcim.site', 'dcim.manufacturer', 'dcim.devicetype', 'dcim.devicerole', 'dcim.device', 'ipam.vrf', 'ipam.prefix', 'ipam.ipaddress', 'extras.tag'] },
        { actions: ['add', 'change'], objectTypes: ['dcim.device'] },
      ],
    },
  ],
  tokens: {
    [SEED_TOKENS.admin]: { user: 'admin' },
    [SEED_TOKENS.adminV1]: { user: 'admin' },
    [SEED_TOKENS.restricted]: { user: 'viewer' },
    [SEED_TOKENS.readOnly]: { user: 'admin', writeEnabled: false },
  },
  objects: {
    'extras/tags': [{ name: 'protected', slug: 'protected', color: 'f44336' }, { name: 'core', slug: 'core' }],
    'dcim/sites': [{ name: 'AMS1', slug: SEED_SLUGS.site, facility: 'Amsterdam 1' }],
    'dcim/manufacturers': [{ name: 'Acme', slug: 'acme' }],
    'dcim/device-types': [{ manufacturer: { slug: 'acme' }, model: 'Leaf 48', slug: SEED_SLUGS.deviceType }],
    'dcim/device-roles': [{ name: 'Leaf', slug: SEED_SLUGS.role, color: '2196f3' }],
    'ipam/vrfs': [{ name: 'prod', rd: '65000:1' }],
    'ipam/prefixes': [
      { prefix: '10.0.0.0/16', status: 'container', tags: [{ slug: 'protected' }] },
      { prefix: '10.1.0.0/24', description: 'ams1 leaves' },
    ],
    'ipam/ip-addresses': [{ address: '10.1.0.1/24', dns_name: 'ams1-leaf-01.example.net' }],
    'dcim/devices': [
      { name: 'ams1-leaf-01', ...leaf, status: 'active', primary_ip4: 1, tags: [{ slug: 'protected' }, { slug: 'core' }] },
      { name: 'ams1-leaf-02', ...leaf, status: 'active' },
      { name: 'ams1-spare-01', ...leaf, status: 'offline' },
    ],
  },
};
