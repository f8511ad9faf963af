/**
 * Neighbours of a saved finding, so that a fix is checked against the finding's class and not only its example:
 * the policy with an operator, a `not`, a literal or an input field changed, decided on the finding's input, on
 * that input with one field missing, `null` or of another type, and on freshly generated inputs.
 */
import { jsonObject, generateInput } from './input-gen.js';
import { NUMBER_LITERALS, STRING_LITERALS } from './policy-gen.js';
import { Rng } from './rng.js';

const OPERATORS = ['==', '!=', '<', '<=', '>', '>='];
const FIELDS = ['s', 't', 'k', 'n', 'm', 'b', 'xs', 'ns', 'o', 'items', 'user', 'nul', 'missing'];

/** Replaces the `nth` match of `re` (global) in `text` by `f(match)`. */
function replaceNth(text: string, re: RegExp, nth: number, f: (m: string) => string): string {
  let i = 0;
  return text.replace(re, (m) => (i++ === nth ? f(m) : m));
}

function count(text: string, re: RegExp): number {
  return (text.match(re) ?? []).length;
}

/** One mutation of the policy's rules (the package line is kept). */
function mutateOnce(body: string, r: Rng): string {
  const ops: [RegExp, (m: string) => string][] = [
    [/==|!=|<=|>=|(?<![<-])<(?![=-])|(?<![=>])>(?!=)/g, () => r.pick(OPERATORS)],
    [/"(?:[^"\\]|\\.)*"/g, () => JSON.stringify(r.pick(STRING_LITERALS))],
    [/(?<![\w."])-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b(?![\w"])/g, () => r.pick(NUMBER_LITERALS)],
    [/\binput\.[a-z]+\b/g, () => `input.${r.pick(FIELDS)}`],
  ];
  const notLines = /^\t(?!some |every )(not )?(?!.*:=)(?!.*\[_\])(.+)$/gm;
  const choice = r.int(ops.length + 1);
  if (choice === ops.length) {
    const n = count(body, notLines);
    if (n === 0) return body;
    return replaceNth(body, notLines, r.int(n), (line) => (line.startsWith('\tnot ') ? `\t${line.slice(5)}` : `\tnot ${line.slice(1)}`));
  }
  const [re, f] = ops[choice]!;
  const n = count(body, re);
  return n === 0 ? body : replaceNth(body, re, r.int(n), f);
}

/** `n` distinct variants of `policy`, each one or two mutations away from it. */
export function policyMutants(policy: string, seed: number, n: number): string[] {
  const r = new Rng(seed, 0x6d75);
  const nl = policy.indexOf('\n');
  const [head, body] = [policy.slice(0, nl + 1), policy.slice(nl + 1)];
  const out = new Set<string>();
  for (let tries = 0; out.size < n && tries < n * 5; tries++) {
    let b = mutateOnce(body, r);
    if (r.chance(0.4)) b = mutateOnce(b, r);
    if (b !== body) out.add(head + b);
  }
  return [...out];
}

/** The input itself, each top-level field removed, `null` or of another type, and `fresh` generated inputs. */
export function inputMutants(input: unknown, seed: number, fresh: number): unknown[] {
  const out: unknown[] = [copy(input)];
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const entries = Object.entries(input);
    entries.forEach(([k], i) => {
      const rest = entries.filter((_, j) => j !== i);
      out.push(copy(jsonObject(rest)));
      for (const v of [null, [], {}, 'a', 1, true]) out.push(copy(jsonObject([...rest, [k, v]])));
    });
  }
  for (let j = 0; j < fresh; j++) out.push(generateInput(seed, 0x6d75, j));
  return out;
}

/** A deep copy, each input its own value (the gateway's input check normalises in place); `__proto__` stays a key. */
function copy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copy);
  if (typeof v === 'object' && v !== null) return jsonObject(Object.entries(v).map(([k, x]) => [k, copy(x)]));
  return v;
}
