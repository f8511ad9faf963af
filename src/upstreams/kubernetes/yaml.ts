/**
 * YAML request bodies decoded the way kube-apiserver decodes them, or refused.
 *
 * The apiserver turns a YAML body into JSON with sigs.k8s.io/yaml (YAMLToJSON), which unmarshals it with
 * go-yaml v2: YAML 1.1 scalar resolution (`yes`, `on`, `y` are booleans; `0777` is octal; `0x1F`, `0b11`, `1_000`
 * are integers), merge keys, and keys converted to JSON strings after resolution (`on:` becomes `"true"`). A
 * YAML 1.2 parser reads the same text differently (`privileged: yes` is the string "yes"), so the policy would
 * judge another object than the one stored. Here plain scalars are resolved with go-yaml v2's rules
 * (sigs.k8s.io/yaml goyaml.v2/resolve.go, `resolve`), and whatever the gateway does not reproduce exactly is
 * refused: merge keys, explicit tags, directives, complex and non-scalar keys, float and null keys, non-finite
 * numbers (the apiserver answers 400 for them: encoding/json cannot encode Inf or NaN), integers beyond what a
 * JSON number in the policy input holds exactly, and keys that repeat once resolved (`y:` and `yes:` are one key).
 *
 * Error messages give a position, never body text: a body may be a Secret.
 */
import { Alias, isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node, Scalar } from 'yaml';
import { WritegateError } from '../../errors.js';

/** go-yaml v2 resolveMap (resolve.go init). */
const RESOLVE_MAP = new Map<string, unknown>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, true] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s) => [s, false] as const),
  ...['', '~', 'null', 'Null', 'NULL'].map((s) => [s, null] as const),
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, Number.NaN] as const),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, Number.POSITIVE_INFINITY] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, Number.NEGATIVE_INFINITY] as const),
]);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** At most this many alias expansions per document (go-yaml v2 also refuses excessive aliasing). */
const MAX_ALIAS_EXPANSIONS = 1000;

/** Characters YAML 1.1 reads as line breaks and YAML 1.2 does not (NEL, LS, PS). */
const YAML11_ONLY_BREAKS = /[\u0085\u2028\u2029]/;

/** A resolved integer: go-yaml yields an int64 (or a uint64 above int64's range). */
class GoInt {
  constructor(readonly value: bigint) {}
}

function malformed(message: string, node?: { range?: [number, number, number] | null }, text?: string): WritegateError {
  return new WritegateError('WG_ERR_MALFORMED_BODY', node?.range && text !== undefined ? `${message} at ${position(text, node.range[0])}` : message);
}

/** "line L, column C" (1-based) of an offset. */
function position(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

/**
 * Go's strconv.ParseInt/ParseUint syntax for base 0 without underscores (go-yaml removes them first): an
 * optional sign (ParseInt only), then `0x`/`0X` hex, `0b`/`0B` binary, `0o`/`0O` octal, a leading `0` octal, or
 * decimal. Returns undefined when the text is not such an integer or overflows `max`.
 */
function goParseIntBase0(s: string, signed: boolean, max: bigint, min: bigint): bigint | undefined {
  let sign = 1n;
  let rest = s;
  if (signed && (rest.startsWith('+') || rest.startsWith('-'))) {
    if (rest[0] === '-') sign = -1n;
    rest = rest.slice(1);
  }
  let digits: RegExp;
  let prefix: string;
  if (/^0[xX]/.test(rest)) { digits = /^[0-9a-fA-F]+$/; prefix = '0x'; rest = rest.slice(2); }
  else if (/^0[bB]/.test(rest)) { digits = /^[01]+$/; prefix = '0b'; rest = rest.slice(2); }
  else if (/^0[oO]/.test(rest)) { digits = /^[0-7]+$/; prefix = '0o'; rest = rest.slice(2); }
  else if (/^0[0-9]/.test(rest)) { digits = /^[0-7]+$/; prefix = '0o'; rest = rest.slice(1); }
  else { digits = /^[0-9]+$/; prefix = ''; }
  if (!digits.test(rest)) return undefined;
  const v = sign * BigInt(`${prefix}${rest}`);
  return v > max || v < min ? undefined : v;
}

/** Go's strconv.ParseInt(s, 2, 64) / ParseUint(s, 2, 64), which resolve.go applies after a `0b` prefix. */
function goParseBinary(s: string, signed: boolean): bigint | undefined {
  const m = /^([+-]?)([01]+)$/.exec(s);
  if (!m || (!signed && m[1] !== '')) return undefined;
  const v = (m[1] === '-' ? -1n : 1n) * BigInt(`0b${m[2]}`);
  return signed ? (v > INT64_MAX || v < INT64_MIN ? undefined : v) : (v > UINT64_MAX ? undefined : v);
}

/** Go's strconv.ParseFloat on text that matched one of resolve.go's float shapes; undefined on a range error. */
function goParseFloat(s: string): number | undefined {
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** What strconv.ParseFloat accepts of a scalar starting with "." (no hex, no underscores without a base prefix). */
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;

/**
 * go-yaml v2 `resolve("", in)` for a plain scalar: null, a boolean, a GoInt, a float or the string itself.
 * Timestamps resolve to their own text when the target is interface{} (decode.go keeps them as strings).
 */
export function resolvePlainScalar(text: string): unknown {
  const first = text[0];
  const hint = text === '' ? 'N' : first === '+' || first === '-' ? 'S' : first !== undefined && first >= '0' && first <= '9' ? 'D'
    : first !== undefined && 'yYnNtTfFoO~'.includes(first) ? 'M' : first === '.' ? '.' : '';
  if (hint === '') return text;
  if (RESOLVE_MAP.has(text)) return RESOLVE_MAP.get(text);
  if (hint === '.') {
    if (DOT_FLOAT.test(text)) return goParseFloat(text) ?? text;
    return text;
  }
  if (hint === 'D' || hint === 'S') {
    const plain = text.replace(/_/g, '');
    const int = goParseIntBase0(plain, true, INT64_MAX, INT64_MIN);
    if (int !== undefined) return new GoInt(int);
    const uint = goParseIntBase0(plain, false, UINT64_MAX, 0n);
    if (uint !== undefined) return new GoInt(uint);
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = goParseFloat(plain);
      if (f !== undefined) return f;
    }
    if (plain.startsWith('0b')) {
      const b = goParseBinary(plain.slice(2), true) ?? goParseBinary(plain.slice(2), false);
      if (b !== undefined) return new GoInt(b);
    } else if (plain.startsWith('-0b')) {
      const b = goParseBinary(`-${plain.slice(3)}`, true);
      if (b !== undefined) return new GoInt(b);
    }
  }
  return text;
}

class Decoder {
  private expansions = 0;
  /**
   * Values the decoder may produce. Without aliases a document yields fewer values than it has characters; each
   * alias copies its anchor's whole subtree, so a few aliases of aliases can expand a small body into millions of
   * values (seconds of event-loop time, unauthenticated). Counting the values produced bounds the work linearly
   * in the body's size, whatever the aliasing.
   */
  private budget: number;

  constructor(private readonly doc: Document.Parsed, private readonly text: string) {
    this.budget = text.length + 10_000;
  }

  value(node: unknown, depth: number): unknown {
    if (depth > 200) throw malformed('YAML nesting too deep');
    if (--this.budget < 0) throw malformed('YAML aliases expand to more values than the body holds');
    if (isAlias(node)) {
      if (++this.expansions > MAX_ALIAS_EXPANSIONS) throw malformed('too many YAML aliases');
      return this.value((node as Alias).resolve(this.doc), depth + 1);
    }
    if (node === null || node === undefined) return null;
    const n = node as Node;
    if (n.tag !== undefined) throw malformed('explicit YAML tags are not accepted', n, this.text);
    if (isScalar(n)) return this.scalar(n);
    if (isSeq(n)) return n.items.map((item) => this.value(item, depth + 1));
    if (isMap(n)) {
      const out: Record<string, unknown> = {};
      for (const pair of n.items) {
        const key = this.key(pair.key);
        if (Object.prototype.hasOwnProperty.call(out, key)) throw malformed(`a key repeats (as resolved by YAML 1.1)`, pair.key as Node, this.text);
        out[key] = this.value(pair.value, depth + 1);
      }
      return out;
    }
    throw malformed('unsupported YAML node', n, this.text);
  }

  private scalar(n: Scalar): unknown {
    const raw = n.value;
    if (typeof raw !== 'string') throw malformed('unsupported YAML scalar', n, this.text);
    if (n.type !== Scalar.PLAIN) return raw;
    const v = resolvePlainScalar(raw);
    if (v instanceof GoInt) {
      if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw malformed('an integer beyond ±2^53 cannot be evaluated exactly', n, this.text);
      }
      return Number(v.value);
    }
    if (typeof v === 'number' && !Number.isFinite(v)) throw malformed('.inf and .nan have no JSON form (the apiserver refuses them)', n, this.text);
    return v;
  }

  /** A map key as YAMLToJSON writes it: strings as they are, booleans and integers in their Go text form. */
  private key(node: unknown): string {
    const target = isAlias(node) ? (node as Alias).resolve(this.doc) : node;
    if (!isScalar(target)) throw malformed('only scalar YAML keys are accepted', target as Node | undefined, this.text);
    if (target.tag !== undefined) throw malformed('explicit YAML tags are not accepted', target, this.text);
    if (target.type === Scalar.PLAIN && target.value === '<<') {
      // go-yaml v2 merges `<<` (a later merge even overrides keys set before it); the gateway does not reproduce it.
      throw malformed('YAML merge keys (<<) are not accepted', target, this.text);
    }
    const raw = target.value;
    if (typeof raw !== 'string') throw malformed('unsupported YAML scalar', target, this.text);
    if (target.type !== Scalar.PLAIN) return raw;
    const v = resolvePlainScalar(raw);
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return String(v);
    // A key is a string in JSON whatever its size, so an int64 key is exact (strconv.Itoa); YAMLToJSON has no
    // case for a uint64 key and the apiserver answers 400.
    if (v instanceof GoInt && v.value <= INT64_MAX) return v.value.toString();
    throw malformed('null and floating-point YAML keys are not accepted', target, this.text);
  }
}

/** `[` and `{` characters a YAML body may hold; JSON bodies have no such limit (they parse in linear time). */
const MAX_FLOW_OPENERS = 10_000;

/**
 * Bounds the YAML parser's work before it runs. It builds its whole concrete syntax tree first, and
 * `a: [[[[…]]]]` a million levels deep (2 MB) kept the event loop busy for seconds (attack review OF-6). Telling
 * real flow nesting from brackets inside quoted scalars, comments and block scalars needs the parser itself (and
 * a scanner that guessed could be led astray by a `'` in a block scalar), so the bound is on every `[` and `{`
 * of the text: a few tens of milliseconds of parsing at most. YAML bodies are rare (kubectl and the client
 * libraries send JSON); a larger one is refused with the advice to send JSON.
 */
function refuseManyFlowOpeners(text: string): void {
  let openers = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 0x5b || c === 0x7b) && ++openers > MAX_FLOW_OPENERS) {
      throw malformed(`a YAML body may hold at most ${MAX_FLOW_OPENERS} flow collections ("[" or "{"); send it as JSON`);
    }
  }
}

/**
 * The one YAML document of a body as the apiserver would read it, as a JSON value. Throws WG_ERR_MALFORMED_BODY
 * (with a position, never body text) for anything the gateway cannot decode exactly as the apiserver does.
 */
export function decodeKubeYaml(text: string): unknown {
  if (YAML11_ONLY_BREAKS.test(text)) throw malformed('NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR are line breaks in YAML 1.1 only; not accepted');
  refuseManyFlowOpeners(text);
  // The failsafe schema keeps every scalar a string, so resolution is go-yaml's alone (below).
  const docs = parseAllDocuments(text, { version: '1.1', schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
  if (!Array.isArray(docs) || docs.length !== 1) throw malformed('expected exactly one YAML document');
  const doc = docs[0]!;
  const err = doc.errors[0];
  if (err) throw malformed(`YAML syntax error ${err.code}`, { range: [err.pos[0], err.pos[1], err.pos[1]] }, text);
  if (doc.directives.yaml.explicit || Object.keys(doc.directives.tags).some((h) => h !== '!' && h !== '!!')) {
    throw malformed('YAML directives are not accepted');
  }
  return new Decoder(doc, text).value(doc.contents, 0);
}
