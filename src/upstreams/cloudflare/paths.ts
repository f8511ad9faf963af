/**
 * Names the resource a Cloudflare API v4 path addresses (developers.cloudflare.com/api/, the official OpenAPI spec;
 * shared/research/clients.md §4.2): accounts, zones, DNS records and their batch endpoint, rulesets (a ruleset, its
 * rules, a phase entrypoint), firewall and page rules, Access applications, Workers routes, and any other path by
 * its segments. Only names come out of here; what the request does to them is resolved in ./resolve.ts.
 */
import { WritegateError } from '../../errors.js';
import { decodeRequestPath } from '../../http/path.js';

export const API_PREFIX = '/client/v4';

/** How the gateway works out `object` and `oldObject` for a write to the path. */
export type Shape =
  /** One object or collection at its own path: a GET on the same path reads its current state. */
  | 'plain'
  /** POST dns_records/batch: every element of deletes, patches, puts and posts is a write of its own. */
  | 'dns-batch'
  /** rulesets/phases/<phase>/entrypoint: a PUT replaces every rule, and creates the entrypoint if there is none. */
  | 'entrypoint'
  /** rulesets/<id>/rules[/<rule id>]: a write to one rule changes the ruleset that holds it. */
  | 'ruleset-rule';

export interface CfTarget {
  /** The resource as the policy names it: `dns_records`, `rulesets`, `firewall/rules`, or the segments of another path. */
  resource: string;
  /** The id the path names ('' for a collection). */
  name: string;
  /** The account id in the path ('' if none; a zone's account is learnt from the zone). */
  account: string;
  /** The zone id in the path ('' if none). */
  zone: string;
  shape: Shape;
  /** The raw path (as sent) of the zone, for reading its name: `/client/v4/zones/<id>`. */
  zonePath?: string;
  /** The raw path of the ruleset a rule belongs to. */
  rulesetPath?: string;
  /** The rule a rule path names ('' when it adds one). */
  rule?: string;
}

interface Segment {
  raw: string;
  /** Decoded, and lower-cased for matching path keywords. */
  key: string;
  decoded: string;
}

/**
 * A path under the mount as its segments. Whether a keyword matches is decided in lower case: if the upstream's
 * router matched `DNS_Records` as `dns_records`, the write must not be judged as some other resource.
 */
function segmentsOf(rawPath: string): Segment[] {
  decodeRequestPath(rawPath);
  const raws = rawPath.split('/').slice(1);
  // decodeRequestPath allows one trailing slash; the segment it leaves names nothing.
  if (raws[raws.length - 1] === '') raws.pop();
  return raws.map((raw) => {
    const decoded = decodeURIComponent(raw);
    return { raw, decoded, key: decoded.toLowerCase() };
  });
}

/** The resource named by the segments inside a scope (after `zones/<id>` or `accounts/<id>`, or at the top). */
function scoped(rest: Segment[], scopePath: string): Pick<CfTarget, 'resource' | 'name' | 'shape' | 'rulesetPath' | 'rule'> {
  const k = rest.map((s) => s.key);
  const at = (i: number): string => rest[i]?.decoded ?? '';
  const n = rest.length;
  if (k[0] === 'dns_records') {
    if (n === 1) return { resource: 'dns_records', name: '', shape: 'plain' };
    if (n === 2 && k[1] === 'batch') return { resource: 'dns_records', name: '', shape: 'dns-batch' };
    if (n === 2) return { resource: 'dns_records', name: at(1), shape: 'plain' };
  }
  if (k[0] === 'rulesets') {
    if (n === 1) return { resource: 'rulesets', name: '', shape: 'plain' };
    if (n === 4 && k[1] === 'phases' && k[3] === 'entrypoint') return { resource: 'rulesets', name: '', shape: 'entrypoint' };
    if (n === 2 && k[1] !== 'phases') return { resource: 'rulesets', name: at(1), shape: 'plain' };
    if ((n === 3 || n === 4) && k[2] === 'rules') {
      const rulesetPath = `${scopePath}/${rest.slice(0, 2).map((s) => s.raw).join('/')}`;
      return { resource: 'rulesets', name: at(1), shape: 'ruleset-rule', rulesetPath, rule: at(3) };
    }
  }
  for (const [a, b] of [['firewall', 'rules'], ['access', 'apps'], ['workers', 'routes']] as const) {
    if (k[0] === a && k[1] === b) {
      if (n === 2) return { resource: `${a}/${b}`, name: '', shape: 'plain' };
      if (n === 3) return { resource: `${a}/${b}`, name: at(2), shape: 'plain' };
    }
  }
  if (k[0] === 'pagerules') {
    if (n === 1) return { resource: 'pagerules', name: '', shape: 'plain' };
    if (n === 2) return { resource: 'pagerules', name: at(1), shape: 'plain' };
  }
  // Any other path: the resource is the rest of the path as sent (decoded), ids included, for rules to match with
  // startswith ("settings/ssl", "custom_hostnames/<id>"); `name` is "" (policies/README.md). Its current object is
  // what GET on the same path answers.
  return { resource: rest.map((s) => s.decoded).join('/'), name: '', shape: 'plain' };
}

/**
 * The target of a path under /client/v4. Throws WG_ERR_BAD_PATH for paths outside the API (the mount forwards
 * nothing else to Cloudflare that the gate could judge).
 */
export function cloudflareTarget(rawPath: string): CfTarget {
  const all = segmentsOf(rawPath);
  if (all[0]?.key !== 'client' || all[1]?.key !== 'v4') {
    throw new WritegateError('WG_ERR_BAD_PATH', `a write outside ${API_PREFIX}/ (this mount forwards the Cloudflare API v4)`);
  }
  const s = all.slice(2);
  const prefix = `/${all.slice(0, 2).map((x) => x.raw).join('/')}`;
  const top = s[0]?.key;
  if ((top === 'zones' || top === 'accounts') && s.length <= 2) {
    const id = s[1]?.decoded ?? '';
    return {
      resource: top, name: id, shape: 'plain',
      account: top === 'accounts' ? id : '', zone: top === 'zones' ? id : '',
      ...(top === 'zones' && id ? { zonePath: `${prefix}/zones/${s[1]!.raw}` } : {}),
    };
  }
  if (top === 'zones' || top === 'accounts') {
    const scopePath = `${prefix}/${s[0]!.raw}/${s[1]!.raw}`;
    const inner = scoped(s.slice(2), scopePath);
    return top === 'zones'
      ? { ...inner, account: '', zone: s[1]!.decoded, zonePath: scopePath }
      : { ...inner, account: s[1]!.decoded, zone: '' };
  }
  return { ...scoped(s, prefix), account: '', zone: '' };
}
