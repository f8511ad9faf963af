/**
 * List filters (django-filter FilterSets, netbox/<app>/filtersets.py) for the simulated fields: `id`, `q`, `tag`,
 * each text and choice field by value with the lookups `__n` (not), `__ie` (case-insensitive exact) and `__ic`
 * (contains, case-insensitive), booleans, and related objects by `<field>_id` and, for models with a slug,
 * `<field>=<slug>`. A repeated parameter matches any of its values; different parameters must all match. Other
 * parameters are ignored, as django-filter ignores names it does not define (unverified for every NetBox endpoint).
 */
import { MODELS, type ModelSpec } from './models.js';
import { display, type Errors } from './objects.js';
import type { NbRecord, NbState, Stored } from './store.js';

/** Query parameters that are not filters: pagination, representation, ordering, export. */
const RESERVED = new Set(['limit', 'offset', 'start', 'brief', 'fields', 'omit', 'ordering', 'format', 'export']);

type Test = (rec: NbRecord) => boolean;

function textTest(lookup: string, values: string[], get: (rec: NbRecord) => Stored | undefined): Test | undefined {
  const s = (rec: NbRecord): string => {
    const v = get(rec);
    return v === null || v === undefined ? '' : String(v);
  };
  switch (lookup) {
    case '':
      return (rec) => values.includes(s(rec));
    case 'n':
      return (rec) => !values.includes(s(rec));
    case 'ie':
      return (rec) => values.some((v) => v.toLowerCase() === s(rec).toLowerCase());
    case 'ic':
      return (rec) => values.some((v) => s(rec).toLowerCase().includes(v.toLowerCase()));
    default:
      return undefined;
  }
}

/** The filter of one parameter, an error for a value it cannot read, or undefined when it is not a filter. */
function filterFor(state: NbState, model: ModelSpec, param: string, values: string[]): Test | Errors | undefined {
  if (param === 'id') {
    if (values.some((v) => !/^\d+$/.test(v))) return { id: ['Enter a number.'] };
    return (rec) => values.includes(String(rec.id));
  }
  if (param === 'q') return (rec) => values.some((v) => display(state, model, rec).toLowerCase().includes(v.trim().toLowerCase()));
  if (param === 'tag' && 'tags' in model.fields) {
    return (rec) => values.some((slug) => (rec.values.tags as number[]).some((id) => state.get('extras/tags', id)?.values.slug === slug));
  }
  const [field, lookup = ''] = param.split('__') as [string, string | undefined];
  const spec = model.fields[field];
  if (spec && (spec.kind === 'string' || spec.kind === 'slug' || spec.kind === 'choice' || spec.kind === 'prefix' || spec.kind === 'address')) {
    return textTest(lookup, values, (rec) => rec.values[field]);
  }
  if (spec?.kind === 'boolean' && lookup === '') {
    const want = values.map((v) => ['true', 'True', '1'].includes(v));
    return (rec) => want.includes(rec.values[field] === true);
  }
  if (spec?.kind === 'fk' && lookup === '' && 'slug' in MODELS[spec.model].fields) {
    return (rec) => {
      const related = typeof rec.values[field] === 'number' ? state.get(spec.model, rec.values[field]) : undefined;
      return related !== undefined && values.includes(String(related.values.slug));
    };
  }
  const fk = /^(.+)_id$/.exec(field)?.[1];
  const fkSpec = fk === undefined ? undefined : model.fields[fk];
  if (fk !== undefined && fkSpec?.kind === 'fk') {
    if (values.some((v) => v !== 'null' && !/^\d+$/.test(v))) return { [param]: ['Select a valid choice. That choice is not one of the available choices.'] };
    return textTest(lookup, values.map((v) => (v === 'null' ? '' : v)), (rec) => rec.values[fk]);
  }
  return undefined;
}

/** The objects of `model` that match the request's filters, or the errors NetBox answers (400). */
export function applyFilters(state: NbState, model: ModelSpec, query: URLSearchParams, records: NbRecord[]): NbRecord[] | Errors {
  const tests: Test[] = [];
  const errors: Errors = {};
  for (const param of new Set(query.keys())) {
    if (RESERVED.has(param)) continue;
    const test = filterFor(state, model, param, query.getAll(param));
    if (typeof test === 'function') tests.push(test);
    else if (test) Object.assign(errors, test);
  }
  if (Object.keys(errors).length) return errors;
  return records.filter((r) => tests.every((t) => t(r)));
}
