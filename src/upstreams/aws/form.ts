/**
 * The parameters of an AWS Query-protocol request (`Action=CreateUser&UserName=bob&Version=2010-05-08`), read as the
 * upstream reads them or refused where two readers could disagree. moto (werkzeug and urllib.parse.parse_qs) and
 * AWS both take `+` as a space and `%XX` as UTF-8 bytes; they differ on what this module refuses: a name given twice
 * (parse_qs keeps a list, moto reads its first value), a pair without `=` or with an empty name, an empty pair, `;`
 * (a separator to older parsers), bytes outside printable ASCII, a malformed `%` escape and escapes that are not
 * UTF-8 (parse_qs would replace them with U+FFFD, so the policy would judge another value than AWS executes).
 */

export class FormError extends Error {}

const HEX2 = /^[0-9A-Fa-f]{2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One name or value of a form, decoded: `+` is a space, `%XX` a byte, the bytes UTF-8. */
function decodeComponent(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!HEX2.test(hex)) throw new FormError(`a malformed percent escape "${text.slice(i, i + 3)}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c === '+' ? 0x20 : c.charCodeAt(0));
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new FormError('a percent-encoded value that is not UTF-8');
  }
}

/** Printable ASCII but `;` (a form is ASCII; raw UTF-8 or control bytes are read differently by different parsers). */
const FORM_TEXT = /^[\x21-\x3a\x3c-\x7e]*$/;

/** The name/value pairs of a form or query string, in order; every name once. Throws FormError. */
export function parseForm(text: string): [string, string][] {
  if (text === '') return [];
  if (!FORM_TEXT.test(text)) throw new FormError('the parameters hold a character outside printable ASCII, a space or ";" (percent-encode it)');
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    if (part === '') throw new FormError('an empty parameter ("&&", or "&" at an end)');
    if (eq < 0) throw new FormError(`the parameter "${part.slice(0, 64)}" has no "=" (write "${part.slice(0, 64)}=" for an empty value)`);
    const name = decodeComponent(part.slice(0, eq));
    if (name === '') throw new FormError('a parameter without a name');
    if (seen.has(name)) throw new FormError(`the parameter "${name.slice(0, 64)}" is given twice`);
    seen.add(name);
    pairs.push([name, decodeComponent(part.slice(eq + 1))]);
  }
  return pairs;
}

/** A list index of a parameter name: 1, 2, ... as AWS numbers them (no 0, no leading zeros), bounded. */
const INDEX = /^[1-9][0-9]{0,3}$/;

type Node =
  | { kind: 'value'; value: string }
  | { kind: 'object'; keys: Map<string, Node> }
  | { kind: 'list'; items: Map<number, Node>; member: boolean };

export type Params = { [key: string]: ParamValue };
export type ParamValue = string | Params | ParamValue[];

function describe(path: readonly (string | number)[]): string {
  return path.join('.') || '(top level)';
}

function materialize(node: Node, path: (string | number)[]): ParamValue {
  if (node.kind === 'value') return node.value;
  if (node.kind === 'object') {
    const out: Params = {};
    for (const [k, v] of node.keys) out[k] = materialize(v, [...path, k]);
    return out;
  }
  const out: ParamValue[] = [];
  for (let i = 1; i <= node.items.size; i++) {
    const item = node.items.get(i);
    if (!item) throw new FormError(`the list ${describe(path)} skips index ${i}`);
    out.push(materialize(item, [...path, i]));
  }
  return out;
}

/** A parameter name as keys (a list index as a number), each index saying whether it was written `member.N`. */
function keysOf(name: string): { key: string | number; member: boolean }[] {
  const segments = name.split('.');
  if (segments.some((s) => s === '')) throw new FormError(`the parameter name "${name.slice(0, 64)}" has an empty part`);
  const keys: { key: string | number; member: boolean }[] = [];
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (/^[0-9]+$/.test(s) && !INDEX.test(s)) throw new FormError(`the parameter name "${name.slice(0, 64)}" has the list index ${s.slice(0, 8)} (lists count from 1, at most 9999)`);
    if (s === 'member' && INDEX.test(segments[i + 1] ?? '')) {
      keys.push({ key: Number(segments[i + 1]), member: true });
      i += 1;
    } else {
      keys.push({ key: INDEX.test(s) ? Number(s) : s, member: false });
    }
  }
  return keys;
}

/**
 * The parameters as structured data: `Tags.member.1.Key=k` is `{Tags: [{Key: "k"}]}` (IAM's lists), and
 * `IpPermissions.1.IpRanges.1.CidrIp=c` is `{IpPermissions: [{IpRanges: [{CidrIp: "c"}]}]}` (EC2's). Lists are
 * numbered from 1 without gaps; a name that is both a value and a structure, or both a list and an object, or a list
 * written both with and without `member`, is refused. Values stay strings, as on the wire.
 */
export function structure(pairs: readonly (readonly [string, string])[]): Params {
  const root: Node = { kind: 'object', keys: new Map() };
  for (const [name, value] of pairs) {
    const keys = keysOf(name);
    let node: Node = root;
    for (let j = 0; j < keys.length; j++) {
      const { key } = keys[j]!;
      const path = keys.slice(0, j + 1).map((k) => k.key);
      const after = keys[j + 1];
      const next: Node = after === undefined ? { kind: 'value', value }
        : typeof after.key === 'number' ? { kind: 'list', items: new Map(), member: after.member } : { kind: 'object', keys: new Map() };
      let existing: Node | undefined;
      if (typeof key === 'number') {
        if (node.kind !== 'list') throw new FormError(`${describe(path.slice(0, -1))} is both a list and a structure`);
        if (node.member !== keys[j]!.member) throw new FormError(`the list ${describe(path.slice(0, -1))} is written both with and without "member"`);
        existing = node.items.get(key);
        if (!existing) node.items.set(key, next);
      } else {
        if (node.kind !== 'object') throw new FormError(`${describe(path.slice(0, -1))} is both ${node.kind === 'list' ? 'a list' : 'a value'} and a structure`);
        existing = node.keys.get(key);
        if (!existing) node.keys.set(key, next);
      }
      if (existing && (after === undefined || existing.kind !== next.kind)) {
        throw new FormError(`${describe(path)} is given twice, or both as a value and as a structure`);
      }
      node = existing ?? next;
    }
  }
  return materialize(root, []) as Params;
}
