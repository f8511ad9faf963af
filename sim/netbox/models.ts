/**
 * The NetBox models the simulator serves, as NetBox 4.7's REST serializers present them
 * (netbox/<app>/api/serializers_/*.py): field order, which fields are writable, required or nullable, choices,
 * the nested ("brief") representation, the `display` string (the model's __str__), default ordering and what
 * deleting a related object does (on_delete). Only a subset of each model's fields is simulated; sim/README.md
 * lists them.
 */

export type ModelKey = 'dcim/sites' | 'dcim/manufacturers' | 'dcim/device-types' | 'dcim/device-roles' | 'dcim/devices'
  | 'ipam/vrfs' | 'ipam/prefixes' | 'ipam/ip-addresses' | 'extras/tags';

export type FieldSpec =
  /** CharField: trimmed, `max` characters; blank allowed unless required. */
  | { kind: 'string'; max: number; required?: boolean; nullable?: boolean }
  /** SlugField: letters, digits, `_` and `-`. */
  | { kind: 'slug'; max: number }
  /** ChoiceField: written as the value, answered as {value, label}. */
  | { kind: 'choice'; choices: Record<string, string>; default: string; allowBlank?: boolean }
  /** A related object: written as its id or a dictionary of its attributes, answered nested (brief). */
  | { kind: 'fk'; model: ModelKey; required?: boolean; onDelete: 'protect' | 'null' }
  | { kind: 'boolean'; default: boolean }
  | { kind: 'decimal'; default: number; min: number }
  /** ColorField: six hex digits. */
  | { kind: 'color'; default: string }
  /** An IP network (`10.0.0.0/24`), stored as its network address. */
  | { kind: 'prefix' }
  /** An IP address with its mask (`10.0.0.1/24`). */
  | { kind: 'address' }
  | { kind: 'tags' }
  /** custom_fields: no custom fields are defined, so only {} is stored. */
  | { kind: 'customFields' };

export interface ModelSpec {
  key: ModelKey;
  /** Django's app label and model name, as object permissions name them (`dcim.device`). */
  objectType: string;
  /** Django's verbose name, as 404s and uniqueness errors spell it. */
  verboseName: string;
  /** The writable and stored fields, in the serializer's order (after id, url, display_url and display). */
  fields: Record<string, FieldSpec>;
  /** Fields unique across the model (Django's "<Model> with this <field> already exists."). */
  unique: string[];
  /** Meta.brief_fields: the nested representation and `?brief=1`. */
  brief: string[];
  /** GraphQL query fields (netbox/<app>/graphql/schema.py): one object by id, and the list. */
  graphql: { one: string; list: string };
}

const SITE_STATUS = { planned: 'Planned', staging: 'Staging', active: 'Active', decommissioning: 'Decommissioning', retired: 'Retired' };
const DEVICE_STATUS = {
  offline: 'Offline', active: 'Active', planned: 'Planned', staged: 'Staged', failed: 'Failed', inventory: 'Inventory', decommissioning: 'Decommissioning',
};
const PREFIX_STATUS = { container: 'Container', active: 'Active', reserved: 'Reserved', deprecated: 'Deprecated' };
const IP_STATUS = { active: 'Active', reserved: 'Reserved', deprecated: 'Deprecated', dhcp: 'DHCP', slaac: 'SLAAC' };
const IP_ROLE = { loopback: 'Loopback', secondary: 'Secondary', anycast: 'Anycast', vip: 'VIP', vrrp: 'VRRP', hsrp: 'HSRP', glbp: 'GLBP', carp: 'CARP' };

const text = (max: number): FieldSpec => ({ kind: 'string', max });
const common = { description: text(200), comments: { kind: 'string', max: 1_000_000 } as FieldSpec, tags: { kind: 'tags' } as FieldSpec, custom_fields: { kind: 'customFields' } as FieldSpec };

export const MODELS: Record<ModelKey, ModelSpec> = {
  'dcim/sites': {
    key: 'dcim/sites', objectType: 'dcim.site', verboseName: 'site',
    fields: {
      name: { kind: 'string', max: 100, required: true }, slug: { kind: 'slug', max: 100 },
      status: { kind: 'choice', choices: SITE_STATUS, default: 'active' }, facility: text(50), ...common,
    },
    unique: ['name', 'slug'],
    brief: ['id', 'url', 'display', 'name', 'description', 'slug'],
    graphql: { one: 'site', list: 'site_list' },
  },
  'dcim/manufacturers': {
    key: 'dcim/manufacturers', objectType: 'dcim.manufacturer', verboseName: 'manufacturer',
    fields: { name: { kind: 'string', max: 100, required: true }, slug: { kind: 'slug', max: 100 }, description: text(200), tags: { kind: 'tags' }, custom_fields: { kind: 'customFields' } },
    unique: ['name', 'slug'],
    brief: ['id', 'url', 'display', 'name', 'slug', 'description'],
    graphql: { one: 'manufacturer', list: 'manufacturer_list' },
  },
  'dcim/device-types': {
    key: 'dcim/device-types', objectType: 'dcim.devicetype', verboseName: 'device type',
    fields: {
      manufacturer: { kind: 'fk', model: 'dcim/manufacturers', required: true, onDelete: 'protect' },
      model: { kind: 'string', max: 100, required: true }, slug: { kind: 'slug', max: 100 },
      u_height: { kind: 'decimal', default: 1, min: 0 }, is_full_depth: { kind: 'boolean', default: true }, ...common,
    },
    unique: [],
    brief: ['id', 'url', 'display', 'manufacturer', 'model', 'slug', 'description'],
    graphql: { one: 'device_type', list: 'device_type_list' },
  },
  'dcim/device-roles': {
    key: 'dcim/device-roles', objectType: 'dcim.devicerole', verboseName: 'device role',
    fields: {
      name: { kind: 'string', max: 100, required: true }, slug: { kind: 'slug', max: 100 },
      color: { kind: 'color', default: '9e9e9e' }, vm_role: { kind: 'boolean', default: true }, ...common,
    },
    unique: ['name', 'slug'],
    brief: ['id', 'url', 'display', 'name', 'slug', 'description'],
    graphql: { one: 'device_role', list: 'device_role_list' },
  },
  'dcim/devices': {
    key: 'dcim/devices', objectType: 'dcim.device', verboseName: 'device',
    fields: {
      name: { kind: 'string', max: 64, nullable: true },
      device_type: { kind: 'fk', model: 'dcim/device-types', required: true, onDelete: 'protect' },
      role: { kind: 'fk', model: 'dcim/device-roles', required: true, onDelete: 'protect' },
      serial: text(50),
      asset_tag: { kind: 'string', max: 50, nullable: true },
      site: { kind: 'fk', model: 'dcim/sites', required: true, onDelete: 'protect' },
      status: { kind: 'choice', choices: DEVICE_STATUS, default: 'active' },
      primary_ip4: { kind: 'fk', model: 'ipam/ip-addresses', onDelete: 'null' },
      ...common,
    },
    unique: ['asset_tag'],
    brief: ['id', 'url', 'display', 'name', 'description'],
    graphql: { one: 'device', list: 'device_list' },
  },
  'ipam/vrfs': {
    key: 'ipam/vrfs', objectType: 'ipam.vrf', verboseName: 'VRF',
    fields: { name: { kind: 'string', max: 100, required: true }, rd: { kind: 'string', max: 21, nullable: true }, enforce_unique: { kind: 'boolean', default: true }, ...common },
    unique: ['rd'],
    brief: ['id', 'url', 'display', 'name', 'rd', 'description'],
    graphql: { one: 'vrf', list: 'vrf_list' },
  },
  'ipam/prefixes': {
    key: 'ipam/prefixes', objectType: 'ipam.prefix', verboseName: 'prefix',
    fields: {
      prefix: { kind: 'prefix' },
      vrf: { kind: 'fk', model: 'ipam/vrfs', onDelete: 'protect' },
      status: { kind: 'choice', choices: PREFIX_STATUS, default: 'active' },
      is_pool: { kind: 'boolean', default: false }, mark_utilized: { kind: 'boolean', default: false }, ...common,
    },
    unique: [],
    brief: ['id', 'url', 'display', 'family', 'prefix', 'description'],
    graphql: { one: 'prefix', list: 'prefix_list' },
  },
  'ipam/ip-addresses': {
    key: 'ipam/ip-addresses', objectType: 'ipam.ipaddress', verboseName: 'IP address',
    fields: {
      address: { kind: 'address' },
      vrf: { kind: 'fk', model: 'ipam/vrfs', onDelete: 'protect' },
      status: { kind: 'choice', choices: IP_STATUS, default: 'active' },
      role: { kind: 'choice', choices: IP_ROLE, default: '', allowBlank: true },
      dns_name: text(255), ...common,
    },
    unique: [],
    brief: ['id', 'url', 'display', 'family', 'address', 'description'],
    graphql: { one: 'ip_address', list: 'ip_address_list' },
  },
  'extras/tags': {
    key: 'extras/tags', objectType: 'extras.tag', verboseName: 'tag',
    fields: { name: { kind: 'string', max: 100, required: true }, slug: { kind: 'slug', max: 100 }, color: { kind: 'color', default: '9e9e9e' }, description: text(200) },
    unique: ['name', 'slug'],
    brief: ['id', 'url', 'display', 'name', 'slug', 'color', 'description'],
    graphql: { one: 'tag', list: 'tag_list' },
  },
};

export function modelAt(app: string, model: string): ModelSpec | undefined {
  return (MODELS as Record<string, ModelSpec>)[`${app}/${model}`];
}

/** Capitalised as Django's capfirst() does. */
export function capfirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
