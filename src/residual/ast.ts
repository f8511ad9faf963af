/**
 * Wire types of OPA's Compile API (`POST /v1/compile`), named as in OPA's Go source:
 * v1/server/types/types.go (CompileRequestV1, CompileResponseV1) and the JSON encoding of the Rego AST in
 * v1/ast/term.go / v1/ast/policy.go (Term, Expr, Rule, Head, Module). Shapes were checked against
 * OPA v1.22.3's real responses (see test/residual/golden/*.json).
 */

export interface CompileRequestV1 {
  query: string;
  input?: unknown;
  unknowns?: string[];
  options?: {
    /** Refs whose rules partial evaluation keeps as support rules instead of inlining them. */
    disableInlining?: string[];
    /** The server reads this spelling (types.go); leave it off so nondeterministic calls stay in the residual. */
    nondeterministicBuiltins?: boolean;
  };
}

/** `{"result": {}}` (no `queries`) means "never true"; a `[]` body means "always true" (docs rest-api.md). */
export interface CompileResponseV1 {
  result?: {
    queries?: Body[];
    support?: Module[];
  };
}

export type Term =
  | { type: 'null'; value: Record<string, never> }
  | { type: 'boolean'; value: boolean }
  | { type: 'number'; value: number | string }
  | { type: 'string'; value: string }
  | { type: 'var'; value: string }
  | { type: 'ref'; value: Term[] }
  | { type: 'array'; value: Term[] }
  | { type: 'set'; value: Term[] }
  | { type: 'object'; value: [Term, Term][] }
  | { type: 'call'; value: Term[] }
  | { type: 'arraycomprehension'; value: { term: Term; body: Body } }
  | { type: 'setcomprehension'; value: { term: Term; body: Body } }
  | { type: 'objectcomprehension'; value: { key: Term; value: Term; body: Body } }
  | { type: string; value: unknown };

export interface With {
  target: Term;
  value: Term;
}

export interface SomeDecl {
  symbols: Term[];
}

export interface Every {
  key: Term | null;
  value: Term;
  domain: Term;
  body: Body;
}

/**
 * `terms` is an array for a call (`[operator, args…, output?]`), a single Term for a "truthy" expression,
 * `{symbols}` for `some`, or `{key, value, domain, body}` for `every` (v1/ast/policy.go Expr).
 */
export interface Expr {
  index: number;
  negated?: boolean;
  generated?: boolean;
  terms: Term[] | Term | SomeDecl | Every | Record<string, unknown>;
  with?: With[];
}

export type Body = Expr[];

export interface Head {
  name?: string;
  ref?: Term[];
  args?: Term[];
  key?: Term;
  value?: Term;
  assign?: boolean;
}

export interface Rule {
  default?: boolean;
  head: Head;
  body: Body;
  else?: Rule;
}

export interface Module {
  package: { path: Term[] };
  rules?: Rule[];
  imports?: unknown[];
}

/**
 * Parses a Compile API response body. Number literals that a JavaScript double cannot hold exactly (more than 15
 * significant digits and not a safe integer) are kept as their source text so that `compileResidual` can refuse
 * them instead of comparing a rounded value: OPA compares numbers exactly (v1/ast/compare.go NumberCompare).
 */
export function parseCompileResponse(text: string): CompileResponseV1 {
  const guarded = text.replace(
    /"type":"number","value":(-?[0-9][0-9.eE+-]*)/g,
    (whole, raw: string) => (isExactDouble(raw) ? whole : `"type":"number","value":${JSON.stringify(raw)}`),
  );
  return JSON.parse(guarded) as CompileResponseV1;
}

function isExactDouble(raw: string): boolean {
  const n = Number(raw);
  if (!Number.isFinite(n)) return false;
  if (Number.isInteger(n)) return Number.isSafeInteger(n) || String(n) === raw;
  const mantissa = raw.replace(/[eE].*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '');
  // Any decimal with at most 15 significant digits round-trips through a double (DBL_DIG), so it orders
  // against JSON input numbers exactly as OPA's exact decimal comparison does.
  return mantissa.length <= 15;
}
