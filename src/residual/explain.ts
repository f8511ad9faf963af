/**
 * Renders a Compile API residual as Rego-like text, in the layout `opa eval --partial -f pretty` uses:
 * the queries (an OR of bodies) followed by the support modules. Used by `writegate explain` and by logs;
 * the output is for people, never parsed back.
 */
import type { Body, CompileResponseV1, Every, Expr, Module, Rule, Term } from './ast.js';
import { BUILTINS } from './builtins.js';

const INFIX: Record<string, string> = {
  eq: '=',
  equal: '==',
  neq: '!=',
  lt: '<',
  lte: '<=',
  gt: '>',
  gte: '>=',
  plus: '+',
  minus: '-',
  mul: '*',
  div: '/',
  rem: '%',
  and: '&',
  or: '|',
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function refText(ref: Term[]): string {
  let out = '';
  for (const [i, t] of ref.entries()) {
    if (i === 0) out += t.type === 'var' ? String(t.value) : termText(t);
    else if (t.type === 'string' && IDENT.test(String(t.value))) out += '.' + String(t.value);
    else out += '[' + termText(t) + ']';
  }
  return out;
}

function callText(terms: Term[]): string {
  const op = terms[0]?.type === 'ref' ? refText(terms[0].value as Term[]) : termText(terms[0]!);
  const args = terms.slice(1);
  if (op === 'internal.member_2' && args.length === 2) return `${termText(args[0]!)} in ${termText(args[1]!)}`;
  if (op === 'internal.member_3' && args.length === 3) {
    return `${termText(args[0]!)}, ${termText(args[1]!)} in ${termText(args[2]!)}`;
  }
  const infix = INFIX[op];
  if (infix && args.length === 2) return `${termText(args[0]!)} ${infix} ${termText(args[1]!)}`;
  if (infix && infix !== '=' && args.length === 3) {
    return `${termText(args[2]!)} = ${termText(args[0]!)} ${infix} ${termText(args[1]!)}`;
  }
  // A builtin given one operand more than its arity unifies its result with that operand.
  const arity = BUILTINS[op]?.arity;
  if (arity !== undefined && args.length === arity + 1) {
    return `${termText(args[arity]!)} = ${op}(${args.slice(0, arity).map(termText).join(', ')})`;
  }
  return `${op}(${args.map(termText).join(', ')})`;
}

export function termText(t: Term): string {
  switch (t.type) {
    case 'null':
      return 'null';
    case 'boolean':
    case 'number':
      return String(t.value);
    case 'string':
      return JSON.stringify(t.value);
    case 'var':
      return String(t.value);
    case 'ref':
      return refText(t.value as Term[]);
    case 'array':
      return '[' + (t.value as Term[]).map(termText).join(', ') + ']';
    case 'set': {
      const items = t.value as Term[];
      return items.length === 0 ? 'set()' : '{' + items.map(termText).join(', ') + '}';
    }
    case 'object':
      return '{' + (t.value as [Term, Term][]).map(([k, v]) => `${termText(k)}: ${termText(v)}`).join(', ') + '}';
    case 'call':
      return callText(t.value as Term[]);
    case 'arraycomprehension':
    case 'setcomprehension': {
      const v = t.value as { term: Term; body: Body };
      const [open, close] = t.type === 'arraycomprehension' ? ['[', ']'] : ['{', '}'];
      return `${open}${termText(v.term)} | ${bodyInline(v.body)}${close}`;
    }
    case 'objectcomprehension': {
      const v = t.value as { key: Term; value: Term; body: Body };
      return `{${termText(v.key)}: ${termText(v.value)} | ${bodyInline(v.body)}}`;
    }
    default:
      return `<${t.type}>`;
  }
}

function bodyInline(body: Body): string {
  return body.map(exprText).join('; ');
}

export function exprText(e: Expr): string {
  const t = e.terms;
  let s: string;
  if (Array.isArray(t)) s = callText(t);
  else if (typeof t === 'object' && t !== null && 'domain' in t) {
    const ev = t as Every;
    const vars = ev.key ? `${termText(ev.key)}, ${termText(ev.value)}` : termText(ev.value);
    s = `every ${vars} in ${termText(ev.domain)} { ${bodyInline(ev.body)} }`;
  } else if (typeof t === 'object' && t !== null && 'symbols' in t) {
    s = 'some ' + ((t as { symbols: Term[] }).symbols ?? []).map(termText).join(', ');
  } else if (typeof t === 'object' && t !== null && 'type' in t) s = termText(t as Term);
  else s = '<expression>';
  if (e.negated) s = 'not ' + s;
  for (const w of e.with ?? []) s += ` with ${termText(w.target)} as ${termText(w.value)}`;
  return s;
}

function ruleText(rule: Rule): string {
  const h = rule.head;
  let head = h.ref ? refText(h.ref) : (h.name ?? '?');
  if (h.args) head += '(' + h.args.map(termText).join(', ') + ')';
  if (h.key && !h.value) head += ` contains ${termText(h.key)}`;
  if (h.value) head += ` := ${termText(h.value)}`;
  if (rule.default) return `default ${head}`;
  const body = rule.body.filter((e) => !(e.generated && !Array.isArray(e.terms) && (e.terms as Term).value === true));
  let out = body.length === 0 ? head : `${head} if {\n${body.map((e) => '  ' + exprText(e)).join('\n')}\n}`;
  if (rule.else) out += ' else ' + ruleText(rule.else).replace(/^[^ ]+ ?/, '');
  return out;
}

function moduleText(m: Module): string {
  const pkg = refText(m.package.path).replace(/^data\./, '');
  return [`package ${pkg}`, ...(m.rules ?? []).map(ruleText)].join('\n\n');
}

/** The residual as text: `never true`, `always true`, or each query body followed by the support modules. */
export function renderResidual(response: CompileResponseV1): string {
  const queries = response.result?.queries;
  if (!queries || queries.length === 0) return '# never true (no residual queries)';
  const parts = queries.map((q, i) =>
    q.length === 0 ? `# query ${i + 1}: always true` : `# query ${i + 1}\n${q.map(exprText).join('\n')}`,
  );
  for (const m of response.result?.support ?? []) parts.push(`# support\n${moduleText(m)}`);
  return parts.join('\n\n');
}
