/**
 * Objects in and out: how NetBox's serializers answer a stored object (full and nested), and how they read and
 * validate a written one (Django REST framework fields, NetBox's related-object lookup in
 * netbox/utilities/api.py get_related_object_by_attrs, model uniqueness), with the error texts they answer.
 */
import { networkOf, parseCidr, sortKey } from './ip.js';
import { capfirst, MODELS, type FieldSpec, type ModelKey, type ModelSpec } from './models.js';
import type { NbRecord, NbState, Stored } from './store.js';

/** Where the client reached the API, for the absolute URLs NetBox answers: `http://host:port` and `/basepath` or ``. */
export interface UrlBase {
  origin: string;
  basePath: string;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Errors = Record<string, string[]>;

export function apiUrl(base: UrlBase, model: ModelSpec, id: number): string {
  return `${base.origin}${base.basePath}/api/${model.key}/${id}/`;
}

/** A timestamp as Django REST framework's DateTimeField answers it (UTC as `Z`). */
function datetime(stamp: string): string {
  return `${stamp}Z`;
}

/** The weak ETag NetBox answers for an object (netbox/api/viewsets ETagMixin: `last_updated.isoformat()`). */
export function etagOf(rec: NbRecord): string {
  return `W/"${rec.last_updated}+00:00"`;
}

/** The model's __str__, which NetBox answers as `display`. */
export function display(state: NbState, model: ModelSpec, rec: NbRecord): string {
  const v = rec.values;
  switch (model.key) {
    case 'dcim/device-types':
      return String(v.model);
    case 'dcim/devices': {
      if (typeof v.name === 'string' && v.name !== '') return v.name;
      const type = state.get('dcim/device-types', v.device_type as number);
      const vendor = type && state.get('dcim/manufacturers', type.values.manufacturer as number);
      return `${vendor?.values.name ?? ''} ${type?.values.model ?? ''} (${rec.id})`;
    }
    case 'ipam/prefixes':
      return String(v.prefix);
    case 'ipam/ip-addresses':
      return String(v.address);
    default:
      return String(v.name);
  }
}

function family(rec: NbRecord, field: 'prefix' | 'address'): Json {
  const f = parseCidr(String(rec.values[field]))!.family;
  return { value: f, label: `IPv${f}` };
}

/** Read-only fields that are not stored: counts and the like. */
function computed(model: ModelSpec, rec: NbRecord, name: string): Json | undefined {
  if (name === 'family') return model.key === 'ipam/prefixes' ? family(rec, 'prefix') : family(rec, 'address');
  if (name === '_depth') return 0;
  return undefined;
}

function fieldValue(state: NbState, base: UrlBase, spec: FieldSpec, value: Stored | undefined): Json {
  switch (spec.kind) {
    case 'choice': {
      const v = typeof value === 'string' ? value : '';
      return v === '' ? null : { value: v, label: spec.choices[v] ?? '' };
    }
    case 'fk': {
      const related = typeof value === 'number' ? state.get(spec.model, value) : undefined;
      return related ? nested(state, base, MODELS[spec.model], related) : null;
    }
    case 'tags':
      return (Array.isArray(value) ? value : []).flatMap((id) => {
        const tag = state.get('extras/tags', id);
        return tag ? [nested(state, base, MODELS['extras/tags'], tag)] : [];
      });
    case 'customFields':
      return {};
    default:
      return (value ?? null) as Json;
  }
}

/** The nested representation of a related object: the model's brief fields. */
export function nested(state: NbState, base: UrlBase, model: ModelSpec, rec: NbRecord): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const name of model.brief) out[name] = member(state, base, model, rec, name);
  return out;
}

function member(state: NbState, base: UrlBase, model: ModelSpec, rec: NbRecord, name: string): Json {
  if (name === 'id') return rec.id;
  if (name === 'url') return apiUrl(base, model, rec.id);
  if (name === 'display_url') return `${base.origin}${base.basePath}/${model.key}/${rec.id}/`;
  if (name === 'display') return display(state, model, rec);
  const spec = model.fields[name];
  if (spec) return fieldValue(state, base, spec, rec.values[name]);
  return computed(model, rec, name) ?? null;
}

/** The full representation, in the serializer's field order. */
export function represent(state: NbState, base: UrlBase, model: ModelSpec, rec: NbRecord): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const name of ['id', 'url', 'display_url', 'display']) out[name] = member(state, base, model, rec, name);
  if (model.key === 'ipam/prefixes' || model.key === 'ipam/ip-addresses') out.family = member(state, base, model, rec, 'family');
  for (const name of Object.keys(model.fields)) out[name] = member(state, base, model, rec, name);
  out.created = datetime(rec.created);
  out.last_updated = datetime(rec.last_updated);
  if (model.key === 'dcim/sites') out.device_count = state.all('dcim/devices').filter((d) => d.values.site === rec.id).length;
  if (model.key === 'ipam/prefixes') out._depth = 0;
  return out;
}

/** Python's name for a JSON value's type, as DRF's messages quote it. */
export function pyType(v: unknown): string {
  if (v === null) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return 'dict';
}

/** Python's repr() of a filter dictionary, as NetBox's "Related object not found" message prints it. */
function pyRepr(v: Json): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `'${k}': ${pyRepr(x)}`).join(', ')}}`;
}

class FieldError extends Error {}

function fail(message: string): never {
  throw new FieldError(message);
}

const TRUE = new Set<unknown>(['t', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON', '1', 1, true]);
const FALSE = new Set<unknown>(['f', 'F', 'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF', '0', 0, false]);

/** A related object named by its id or by a dictionary of its attributes. */
function related(state: NbState, key: ModelKey, value: Json): number {
  const model = MODELS[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const matches = state.all(model).filter((r) => Object.entries(value).every(([k, want]) => {
      const got: Stored | undefined = k === 'id' ? r.id : r.values[k];
      return got !== undefined && (got === want || (typeof got === 'number' && typeof want === 'string' && String(got) === want));
    }));
    if (matches.length === 1) return matches[0]!.id;
    fail(`${matches.length ? 'Multiple objects match' : 'Related object not found using'} the provided attributes: ${pyRepr(value)}`);
  }
  // Python's int(): numbers are truncated, strings must spell an integer.
  let pk: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) pk = Math.trunc(value);
  else if (typeof value === 'boolean') pk = value ? 1 : 0;
  else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) pk = Number(value);
  if (pk === undefined) fail(`Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if (!state.get(model, pk)) fail(`Related object not found using the provided numeric ID: ${pk}`);
  return pk;
}

function text(spec: { max: number; required?: boolean; nullable?: boolean }, value: Json): Stored {
  if (value === null) {
    if (spec.nullable) return null;
    fail('This field may not be null.');
  }
  if (typeof value !== 'string' && typeof value !== 'number') fail('Not a valid string.');
  const s = String(value).trim();
  if (s === '' && spec.required) fail('This field may not be blank.');
  if (s.length > spec.max) fail(`Ensure this field has no more than ${spec.max} characters.`);
  return s === '' && spec.nullable ? null : s;
}

function convert(state: NbState, spec: FieldSpec, value: Json): Stored {
  switch (spec.kind) {
    case 'string':
      return text(spec, value);
    case 'slug': {
      const s = text({ ...spec, required: true }, value) as string;
      if (!/^[-a-zA-Z0-9_]+$/.test(s)) fail('Enter a valid “slug” consisting of letters, numbers, underscores or hyphens.');
      return s;
    }
    case 'choice': {
      if (value === null || value === '') {
        if (spec.allowBlank) return '';
        fail('This field may not be blank.');
      }
      if (typeof value === 'object') fail('Value must be passed directly (e.g. "foo": 123); do not use a dictionary or list.');
      if (typeof value === 'string' && value in spec.choices) return value;
      fail(`${typeof value === 'boolean' ? (value ? 'True' : 'False') : value} is not a valid choice.`);
    }
    case 'fk':
      if (value === null) {
        if (spec.required) fail('This field may not be null.');
        return null;
      }
      return related(state, spec.model, value);
    case 'boolean':
      if (TRUE.has(value)) return true;
      if (FALSE.has(value)) return false;
      return fail(value === null ? 'This field may not be null.' : 'Must be a valid boolean.');
    case 'decimal': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) fail(value === null ? 'This field may not be null.' : 'A valid number is required.');
      if (n < spec.min) fail(`Ensure this value is greater than or equal to ${spec.min}.`);
      return n;
    }
    case 'color':
      if (typeof value !== 'string' || !/^[0-9a-f]{6}$/.test(value)) fail('Enter a valid hexadecimal RGB color code.');
      return value;
    case 'prefix':
    case 'address': {
      if (typeof value !== 'string') fail(value === null ? 'This field may not be null.' : 'Not a valid string.');
      const c = parseCidr(value);
      if (!c) fail(`Invalid IP ${spec.kind === 'prefix' ? 'prefix' : 'address'} format: ${value}`);
      return spec.kind === 'prefix' ? networkOf(c) : `${c.address}/${c.length}`;
    }
    case 'tags': {
      if (!Array.isArray(value)) fail(`Expected a list of items but got type "${pyType(value)}".`);
      return [...new Set(value.map((v) => related(state, 'extras/tags', v)))];
    }
    case 'customFields': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`Invalid data. Expected a dictionary, but got ${pyType(value)}.`);
      const unknown = Object.keys(value)[0];
      if (unknown !== undefined) fail(`Unknown field name '${unknown}' in custom field data.`);
      return {};
    }
  }
}

function isRequired(spec: FieldSpec): boolean {
  return spec.kind === 'slug' || spec.kind === 'prefix' || spec.kind === 'address' || ((spec.kind === 'string' || spec.kind === 'fk') && spec.required === true);
}

function defaultOf(spec: FieldSpec): Stored {
  switch (spec.kind) {
    case 'choice':
    case 'boolean':
    case 'decimal':
    case 'color':
      return spec.default;
    case 'string':
      return spec.nullable ? null : '';
    case 'tags':
      return [];
    case 'customFields':
      return {};
    default:
      return null;
  }
}

/**
 * The values a write leaves on an object, or the errors NetBox answers for it (400, `{"<field>": ["..."]}`;
 * errors of the whole object under `__all__`). `current` is the stored object of an update; `partial` is a PATCH.
 * Fields the body does not name keep their stored values on an update (a PUT must name the required ones), take
 * their defaults on a create. Unknown and read-only fields are ignored, as DRF does.
 */
export function validate(state: NbState, model: ModelSpec, body: Json, current: NbRecord | undefined, partial: boolean): { values: Record<string, Stored> } | { errors: Errors } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { errors: { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pyType(body)}.`] } };
  }
  const errors: Errors = {};
  const values: Record<string, Stored> = {};
  for (const [name, spec] of Object.entries(model.fields)) {
    if (!Object.hasOwn(body, name)) {
      if (isRequired(spec) && (!current || !partial)) errors[name] = ['This field is required.'];
      else values[name] = current ? current.values[name]! : defaultOf(spec);
      continue;
    }
    try {
      values[name] = convert(state, spec, body[name]!);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      errors[name] = [err.message];
    }
  }
  if (Object.keys(errors).length) return { errors };
  const others = state.all(model).filter((r) => r.id !== current?.id);
  for (const name of model.unique) {
    const v = values[name];
    if (v !== null && v !== '' && others.some((r) => r.values[name] === v)) errors[name] = [`${capfirst(model.verboseName)} with this ${name.replace(/_/g, ' ')} already exists.`];
  }
  // dcim.Device: UniqueConstraint(Lower('name'), 'site', 'tenant', violation_error_message="Device name must be unique per site.")
  if (model.key === 'dcim/devices' && typeof values.name === 'string') {
    const name = values.name.toLowerCase();
    if (others.some((r) => r.values.site === values.site && typeof r.values.name === 'string' && r.values.name.toLowerCase() === name)) {
      errors.__all__ = ['Device name must be unique per site.'];
    }
  }
  return Object.keys(errors).length ? { errors } : { values };
}

/** The model's default ordering (Meta.ordering), then the id. */
export function compare(model: ModelSpec): (a: NbRecord, b: NbRecord) => number {
  const byId = (a: NbRecord, b: NbRecord): number => a.id - b.id;
  if (model.key === 'ipam/prefixes' || model.key === 'ipam/ip-addresses') {
    // Prefix: ordering = (vrf, nulls first), prefix, pk; IPAddress: address, pk.
    const prefix = model.key === 'ipam/prefixes';
    const key = (r: NbRecord): bigint => sortKey(parseCidr(String(r.values[prefix ? 'prefix' : 'address']))!);
    const vrf = (a: NbRecord, b: NbRecord): number => (!prefix || a.values.vrf === b.values.vrf ? 0 : a.values.vrf === null ? -1 : b.values.vrf === null ? 1
      : (a.values.vrf as number) - (b.values.vrf as number));
    return (a, b) => vrf(a, b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) || byId(a, b);
  }
  const field = model.key === 'dcim/device-types' ? 'model' : 'name';
  // NetBox orders names naturally (NaturalOrderingField: "leaf-2" before "leaf-10").
  const collator = new Intl.Collator('en', { numeric: true });
  return (a, b) => collator.compare(String(a.values[field] ?? ''), String(b.values[field] ?? '')) || byId(a, b);
}
