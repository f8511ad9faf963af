/**
 * IP networks and addresses as NetBox stores them (netaddr): a prefix is kept as its network address
 * (Prefix.save() stores `prefix.cidr`), an address keeps its host bits and its mask.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** The address as written, normalised (IPv6 compressed). */
  address: string;
  length: number;
}

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}

function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
}

function v6ToBig(a: string): bigint {
  let text = a;
  // An embedded IPv4 tail (::ffff:192.0.2.1) is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToBig(v4[1]!);
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run of two or more zero groups as `::`. */
function bigToV6(n: bigint): string {
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => Number((n >> s) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/**
 * `a.b.c.d[/len]` or `v6[/len]` as netaddr's IPNetwork() reads it (no mask is the whole length); undefined when it
 * is not one.
 */
export function parseCidr(value: string): Cidr | undefined {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(value.trim());
  if (!m) return undefined;
  const addr = m[1]!;
  const length = m[2] !== undefined ? Number(m[2]) : isIPv4(addr) ? 32 : 128;
  if (isIPv4(addr) && length <= 32) return { family: 4, address: bigToV4(v4ToBig(addr)), length };
  if (isIPv6(addr) && length <= 128) return { family: 6, address: bigToV6(v6ToBig(addr)), length };
  return undefined;
}

/** The network a CIDR's address belongs to, in CIDR text (`10.1.2.3/16` -> `10.1.0.0/16`). */
export function networkOf(c: Cidr): string {
  const bits = c.family === 4 ? 32n : 128n;
  const host = (1n << (bits - BigInt(c.length))) - 1n;
  const n = (c.family === 4 ? v4ToBig(c.address) : v6ToBig(c.address)) & ~host;
  return `${c.family === 4 ? bigToV4(n) : bigToV6(n)}/${c.length}`;
}

/** For ordering: the address as a number, with the family first. */
export function sortKey(c: Cidr): bigint {
  return (BigInt(c.family) << 130n) | ((c.family === 4 ? v4ToBig(c.address) : v6ToBig(c.address)) << 8n) | BigInt(c.length);
}
