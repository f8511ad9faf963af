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
 * Parses a Compile API response body. A number literal is kept as a JavaScript number only when the residual
 * compares and formats it exactly as OPA does ({@link isExactLiteral}); any other is kept as its source text
 * (a string) so that `compileResidual` refuses it ("number literal not exactly representable") instead of using a
 * rounded value. Every number token outside strings is checked, wherever it sits in the response.
 */
export function parseCompileResponse(text: string): CompileResponseV1 {
  // The one accepted builtin that reads a number's text is sprintf; a response is self-contained (its support
  // rules included), so a literal can only reach a sprintf of the same response.
  const formats = text.includes('"sprintf"');
  const guarded = text.replace(/"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*/g, (token) =>
    token.startsWith('"') || isExactLiteral(token, formats) ? token : JSON.stringify(token),
  );
  return JSON.parse(guarded) as CompileResponseV1;
}

/**
 * OPA keeps a number as its decimal text and compares such texts exactly (v1/ast/compare.go NumberCompare);
 * what OPA receives for an input number is JSON.stringify of a double, the shortest decimal that rounds to it.
 * That map from doubles to decimals is strictly increasing, so for a literal `L` whose exact value *is* the
 * shortest decimal of `Number(L)`, `x < L` on doubles holds exactly when it holds on OPA's decimals (and so for
 * `==` and the other comparisons). Any other literal changes comparisons once rounded: `1e-400` becomes 0,
 * `0.99999999999999999` becomes 1, `3e-324` becomes the subnormal `5e-324`, `9007199254740993` becomes
 * `9007199254740992`. Trailing zeros (`1.50`) do not matter to the value.
 *
 * OPA's `sprintf` also reads the text: `8080.0` and `1e3` are floats there (v1/topdown/strings.go
 * isFloatNumber), printed `%!d(float64=8080)`, while the residual would see the safe integers 8080 and 1000 and
 * print them as integers. When `formats` (the residual calls sprintf), such literals are refused too; beyond
 * 2^53 the residual refuses `sprintf` and arithmetic at run time anyway.
 */
export function isExactLiteral(raw: string, formats: boolean): boolean {
  const n = Number(raw);
  if (!Number.isFinite(n)) return false;
  if (formats && Number.isSafeInteger(n) && /[.eE]/.test(raw)) return false;
  const a = decimal(raw);
  const b = decimal(String(n));
  return a !== undefined && b !== undefined && a.digits === b.digits && a.exp === b.exp && (a.neg === b.neg || a.digits === '');
}
/** `raw` as sign, significant digits (no leading or trailing zeros; '' for zero) and the exponent of the last. */
function decimal(raw: string): { neg: boolean; digits: string; exp: number } | undefined {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  const all = m[2]! + frac;
  const lead = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(lead).replace(/0+$/, '');
  const trailing = all.length - lead - digits.length;
  const exp = Number(m[4] ?? 0) - frac.length + trailing;
  return { neg: m[1] === '-', digits, exp: digits === '' ? 0 : exp };
}
