/**
 * NetBox's read-only GraphQL API (`POST /graphql/`, strawberry-graphql), for the simulated models: the query fields
 * `<model>(id:)` and `<model>_list(pagination: {offset, limit})`, selections of their fields and related objects,
 * aliases, variables and `__typename`. A mutation or subscription is refused as NetBox's schema refuses it (it has
 * no Mutation type); fragments, directives, list filters and introspection are not simulated and answer an error.
 * Answers are always HTTP 200 with `{"data": ..., "errors": [...]}` (GraphQL over HTTP, as NetBox answers).
 */
import { MODELS, type ModelSpec } from './models.js';
import type { NbRecord, NbState } from './store.js';

type Value = null | boolean | number | string | Value[] | { [k: string]: Value } | { variable: string };

interface Field {
  alias: string;
  name: string;
  args: Record<string, Value>;
  selection: Field[] | undefined;
  line: number;
  column: number;
}

interface Operation {
  type: 'query' | 'mutation' | 'subscription';
  name: string | undefined;
  selection: Field[];
  line: number;
  column: number;
}

export class GraphqlError extends Error {
  constructor(message: string, readonly location?: { line: number; column: number }) {
    super(message);
  }
}

interface Token {
  kind: 'punct' | 'name' | 'int' | 'float' | 'string';
  text: string;
  line: number;
  column: number;
}

/** The lexical grammar of the GraphQL spec (Appendix B): ignored tokens, punctuators, names, numbers and strings. */
function lex(doc: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (): { line: number; column: number } => ({ line, column: i - lineStart + 1 });
  while (i < doc.length) {
    const c = doc[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === ',' || c === '\ufeff') {
      i++;
    } else if (c === '#') {
      while (i < doc.length && doc[i] !== '\n') i++;
    } else if (doc.startsWith('...', i)) {
      tokens.push({ kind: 'punct', text: '...', ...at() });
      i += 3;
    } else if ('{}()[]:!$=@|&'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, ...at() });
      i++;
    } else if (/[_A-Za-z]/.test(c)) {
      const m = /^[_A-Za-z][_0-9A-Za-z]*/.exec(doc.slice(i))![0];
      tokens.push({ kind: 'name', text: m, ...at() });
      i += m.length;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(doc.slice(i));
      if (!m) throw new GraphqlError(`Syntax Error: Invalid number, unexpected digit after 0: "${c}".`, at());
      tokens.push({ kind: m[2] || m[3] ? 'float' : 'int', text: m[0], ...at() });
      i += m[0].length;
    } else if (c === '"') {
      const start = at();
      if (doc.startsWith('"""', i)) {
        const end = doc.indexOf('"""', i + 3);
        if (end < 0) throw new GraphqlError('Syntax Error: Unterminated string.', start);
        tokens.push({ kind: 'string', text: doc.slice(i + 3, end), ...start });
        i = end + 3;
        continue;
      }
      let j = i + 1;
      let s = '';
      for (;;) {
        if (j >= doc.length || doc[j] === '\n') throw new GraphqlError('Syntax Error: Unterminated string.', start);
        if (doc[j] === '"') break;
        if (doc[j] === '\\') {
          const e = doc[j + 1]!;
          if (e === 'u') {
            s += String.fromCharCode(parseInt(doc.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          s += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
          j += 2;
          continue;
        }
        s += doc[j];
        j++;
      }
      tokens.push({ kind: 'string', text: s, ...start });
      i = j + 1;
    } else {
      throw new GraphqlError(`Syntax Error: Unexpected character: "${c}".`, at());
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new GraphqlError('Syntax Error: Unexpected <EOF>.');
    return t;
  }

  private expect(text: string): Token {
    const t = this.next();
    if (t.text !== text || (t.kind !== 'punct' && t.kind !== 'name')) throw new GraphqlError(`Syntax Error: Expected "${text}", found "${t.text}".`, t);
    return t;
  }

  private is(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === 'punct' && t.text === text;
  }

  document(): Operation[] {
    const ops: Operation[] = [];
    while (this.peek()) ops.push(this.operation());
    if (!ops.length) throw new GraphqlError('Syntax Error: Unexpected <EOF>.');
    return ops;
  }

  private operation(): Operation {
    const t = this.peek()!;
    if (this.is('{')) return { type: 'query', name: undefined, selection: this.selectionSet(), line: t.line, column: t.column };
    if (t.kind !== 'name' || !['query', 'mutation', 'subscription'].includes(t.text)) {
      if (t.text === 'fragment') throw new GraphqlError('fragments are not simulated', t);
      throw new GraphqlError(`Syntax Error: Unexpected Name "${t.text}".`, t);
    }
    this.next();
    const name = this.peek()?.kind === 'name' ? this.next().text : undefined;
    if (this.is('(')) this.variableDefinitions();
    if (this.is('@')) throw new GraphqlError('directives are not simulated', this.peek());
    return { type: t.text as Operation['type'], name, selection: this.selectionSet(), line: t.line, column: t.column };
  }

  /** `($id: ID! = 1, ...)`: the types and defaults are read and not checked. */
  private variableDefinitions(): void {
    this.expect('(');
    while (!this.is(')')) {
      this.expect('$');
      this.next();
      this.expect(':');
      this.type();
      if (this.is('=')) {
        this.next();
        this.value();
      }
    }
    this.expect(')');
  }

  private type(): void {
    if (this.is('[')) {
      this.next();
      this.type();
      this.expect(']');
    } else {
      this.next();
    }
    if (this.is('!')) this.next();
  }

  private selectionSet(): Field[] {
    this.expect('{');
    const fields: Field[] = [];
    while (!this.is('}')) {
      const t = this.next();
      if (t.kind === 'punct' && t.text === '...') throw new GraphqlError('fragments are not simulated', t);
      if (t.kind !== 'name') throw new GraphqlError(`Syntax Error: Expected Name, found "${t.text}".`, t);
      const alias = t.text;
      let name = t.text;
      if (this.is(':')) {
        this.next();
        name = this.next().text;
      }
      const args: Record<string, Value> = {};
      if (this.is('(')) {
        this.next();
        while (!this.is(')')) {
          const arg = this.next().text;
          this.expect(':');
          args[arg] = this.value();
        }
        this.expect(')');
      }
      if (this.is('@')) throw new GraphqlError('directives are not simulated', this.peek());
      fields.push({ alias, name, args, selection: this.is('{') ? this.selectionSet() : undefined, line: t.line, column: t.column });
    }
    this.expect('}');
    if (!fields.length) throw new GraphqlError('Syntax Error: Expected Name, found "}".');
    return fields;
  }

  private value(): Value {
    const t = this.next();
    if (t.kind === 'int' || t.kind === 'float') return Number(t.text);
    if (t.kind === 'string') return t.text;
    if (t.kind === 'name') return t.text === 'true' ? true : t.text === 'false' ? false : t.text === 'null' ? null : t.text;
    if (t.text === '$') return { variable: this.next().text };
    if (t.text === '[') {
      const list: Value[] = [];
      while (!this.is(']')) list.push(this.value());
      this.next();
      return list;
    }
    if (t.text === '{') {
      const obj: Record<string, Value> = {};
      while (!this.is('}')) {
        const k = this.next().text;
        this.expect(':');
        obj[k] = this.value();
      }
      this.next();
      return obj;
    }
    throw new GraphqlError(`Syntax Error: Unexpected "${t.text}".`, t);
  }
}

/** strawberry-django's type names: the model's name with `Type` (dcim.Device is DeviceType, dcim.DeviceType is DeviceTypeType). */
function typeName(model: ModelSpec): string {
  return `${model.verboseName.split(' ').map((w) => (w === 'IP' || w === 'VRF' ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('')}Type`;
}

type Out = null | boolean | number | string | Out[] | { [k: string]: Out };

export interface GraphqlAnswer {
  data: { [k: string]: Out } | null;
  errors?: { message: string; locations?: { line: number; column: number }[]; path?: string[] }[];
}

/**
 * Runs one GraphQL request. `visible(model)` lists the objects of a model the caller may view (NetBox restricts
 * every GraphQL queryset to the user's view permission).
 */
export function runGraphql(state: NbState, request: { query?: unknown; variables?: unknown; operationName?: unknown }, visible: (model: ModelSpec) => NbRecord[]): GraphqlAnswer {
  try {
    if (typeof request.query !== 'string') throw new GraphqlError('No GraphQL query found in the request.');
    const ops = new Parser(lex(request.query)).document();
    const op = typeof request.operationName === 'string' ? ops.find((o) => o.name === request.operationName) : ops.length === 1 ? ops[0] : undefined;
    if (!op) throw new GraphqlError(ops.length > 1 ? 'Must provide operation name if query contains multiple operations.' : `Unknown operation named '${String(request.operationName)}'.`);
    if (op.type !== 'query') throw new GraphqlError(`Schema is not configured to execute ${op.type} operation.`, op);
    const variables = typeof request.variables === 'object' && request.variables !== null ? request.variables as Record<string, Value> : {};
    const data: { [k: string]: Out } = {};
    for (const f of op.selection) data[f.alias] = rootField(state, f, variables, visible);
    return { data };
  } catch (err) {
    if (!(err instanceof GraphqlError)) throw err;
    return { data: null, errors: [{ message: err.message, ...(err.location ? { locations: [{ line: err.location.line, column: err.location.column }] } : {}) }] };
  }
}

function resolveValue(v: Value, variables: Record<string, Value>): Value {
  if (v !== null && typeof v === 'object' && 'variable' in v && typeof v.variable === 'string') return variables[v.variable] ?? null;
  return v;
}

function rootField(state: NbState, f: Field, variables: Record<string, Value>, visible: (model: ModelSpec) => NbRecord[]): Out {
  if (f.name === '__typename') return 'Query';
  for (const model of Object.values(MODELS)) {
    if (f.name === model.graphql.one) {
      const unknown = Object.keys(f.args).find((a) => a !== 'id');
      if (unknown !== undefined) throw new GraphqlError(`Unknown argument '${unknown}' on field 'Query.${f.name}'.`, f);
      const id = Number(resolveValue(f.args.id ?? null, variables));
      const rec = visible(model).find((r) => r.id === id);
      if (!rec) throw new GraphqlError(`${model.verboseName.charAt(0).toUpperCase()}${model.verboseName.slice(1)} matching query does not exist.`, f);
      return object(state, model, rec, f, variables);
    }
    if (f.name === model.graphql.list) {
      const unknown = Object.keys(f.args).find((a) => a !== 'pagination');
      if (unknown !== undefined) throw new GraphqlError(`Unknown argument '${unknown}' on field 'Query.${f.name}' (list filters are not simulated).`, f);
      const page = resolveValue(f.args.pagination ?? null, variables) as { offset?: Value; limit?: Value } | null;
      const offset = typeof page?.offset === 'number' ? page.offset : 0;
      const limit = typeof page?.limit === 'number' ? page.limit : 100;
      return visible(model).sort((a, b) => a.id - b.id).slice(offset, offset + limit).map((r) => object(state, model, r, f, variables));
    }
  }
  throw new GraphqlError(`Cannot query field '${f.name}' on type 'Query'.`, f);
}

function object(state: NbState, model: ModelSpec, rec: NbRecord, f: Field, variables: Record<string, Value>): Out {
  const type = typeName(model);
  if (!f.selection) throw new GraphqlError(`Field '${f.name}' of type '${type}' must have a selection of subfields.`, f);
  const out: { [k: string]: Out } = {};
  for (const sub of f.selection) {
    const scalar = (v: Out): Out => {
      if (sub.selection) throw new GraphqlError(`Field '${sub.name}' must not have a selection since its type has no subfields.`, sub);
      return v;
    };
    if (sub.name === '__typename') out[sub.alias] = scalar(type);
    else if (sub.name === 'id') out[sub.alias] = scalar(String(rec.id));
    else if (sub.name === 'created' || sub.name === 'last_updated') out[sub.alias] = scalar(`${rec[sub.name]}+00:00`);
    else {
      const spec = model.fields[sub.name];
      if (!spec || spec.kind === 'customFields') throw new GraphqlError(`Cannot query field '${sub.name}' on type '${type}'.`, sub);
      const v = rec.values[sub.name];
      if (spec.kind === 'fk') {
        const target = MODELS[spec.model];
        const related = typeof v === 'number' ? state.get(target, v) : undefined;
        out[sub.alias] = related ? object(state, target, related, sub, variables) : null;
      } else if (spec.kind === 'tags') {
        const tags = MODELS['extras/tags'];
        out[sub.alias] = (v as number[]).flatMap((id) => {
          const tag = state.get(tags, id);
          return tag ? [object(state, tags, tag, sub, variables)] : [];
        });
      } else {
        out[sub.alias] = scalar(v as Out);
      }
    }
  }
  return out;
}
