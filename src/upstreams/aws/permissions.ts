/**
 * Security-group rules in one shape for policies, from the places they come from: the parameters of an
 * Authorize/Revoke/UpdateSecurityGroupRuleDescriptions* request (EC2's `IpPermissions.N.*` list, or the older
 * top-level `IpProtocol`, `FromPort`, `ToPort`, `CidrIp` form, which EC2 still accepts), those of a
 * ModifySecurityGroupRules request (`SecurityGroupRule.N.SecurityGroupRule.*`, one range, group or prefix list per
 * rule) and the `ipPermissions` of DescribeSecurityGroups. A permission is
 * `{ipProtocol, fromPort, toPort, ipRanges: [cidr], ipv6Ranges: [cidr], groups: [group id or name], prefixListIds}`;
 * a port is a number (`-1` for all, as EC2 writes it) or null when not given.
 */
import { FormError, type ParamValue, type Params } from './form.js';
import { child, childText, entries, type XmlElement } from './xml.js';

export interface Permission {
  ipProtocol: string;
  fromPort: number | null;
  toPort: number | null;
  ipRanges: string[];
  ipv6Ranges: string[];
  groups: string[];
  prefixListIds: string[];
}

function port(value: ParamValue | undefined, name: string): number | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !/^-?[0-9]{1,5}$/.test(value)) throw new FormError(`${name} is not an integer`);
  return Number(value);
}

function text(value: ParamValue | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new FormError(`${name} is not a single value`);
  return value;
}

function list(value: ParamValue | undefined, name: string): Params[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || Array.isArray(v))) throw new FormError(`${name} is not a list of structures`);
  return value as Params[];
}

/** `field` of each entry of the list `name` of `p`. */
function column(p: Params, name: string, field: string): string[] {
  return list(p[name], name).map((e, i) => text(e[field], `${name}.${i + 1}.${field}`) ?? '');
}

/** The rules an Authorize/Revoke request names, in the order given; throws FormError on a malformed parameter. */
export function requestedPermissions(params: Params): Permission[] {
  const out = list(params.IpPermissions, 'IpPermissions').map((p, i): Permission => {
    const at = `IpPermissions.${i + 1}`;
    return {
      ipProtocol: text(p.IpProtocol, `${at}.IpProtocol`) ?? '',
      fromPort: port(p.FromPort, `${at}.FromPort`),
      toPort: port(p.ToPort, `${at}.ToPort`),
      ipRanges: column(p, 'IpRanges', 'CidrIp'),
      ipv6Ranges: column(p, 'Ipv6Ranges', 'CidrIpv6'),
      groups: list(p.Groups, `${at}.Groups`).map((g, j) => text(g.GroupId, `${at}.Groups.${j + 1}.GroupId`) ?? text(g.GroupName, `${at}.Groups.${j + 1}.GroupName`) ?? ''),
      prefixListIds: column(p, 'PrefixListIds', 'PrefixListId'),
    };
  });
  const legacy = ['IpProtocol', 'FromPort', 'ToPort', 'CidrIp', 'SourceSecurityGroupName', 'SourceSecurityGroupOwnerId'];
  if (legacy.some((k) => params[k] !== undefined)) {
    const cidr = text(params.CidrIp, 'CidrIp');
    const source = text(params.SourceSecurityGroupName, 'SourceSecurityGroupName');
    out.push({
      ipProtocol: text(params.IpProtocol, 'IpProtocol') ?? '',
      fromPort: port(params.FromPort, 'FromPort'),
      toPort: port(params.ToPort, 'ToPort'),
      ipRanges: cidr === undefined ? [] : [cidr],
      ipv6Ranges: [],
      groups: source === undefined ? [] : [source],
      prefixListIds: [],
    });
  }
  return out;
}

/** A rule of a ModifySecurityGroupRules request (`SecurityGroupRule.N`): the rule's id and what the rule becomes. */
export interface RuleUpdate {
  ruleId: string;
  permission: Permission;
}

/** The rules a ModifySecurityGroupRules request rewrites, in the order given; throws FormError on a malformed parameter. */
export function updatedRules(params: Params): RuleUpdate[] {
  return list(params.SecurityGroupRule, 'SecurityGroupRule').map((u, i): RuleUpdate => {
    const at = `SecurityGroupRule.${i + 1}.SecurityGroupRule`;
    const rule = u.SecurityGroupRule;
    if (rule === undefined || typeof rule !== 'object' || Array.isArray(rule)) throw new FormError(`${at} is not a structure`);
    const one = (name: string): string[] => {
      const v = text(rule[name], `${at}.${name}`);
      return v === undefined ? [] : [v];
    };
    return {
      ruleId: text(u.SecurityGroupRuleId, `SecurityGroupRule.${i + 1}.SecurityGroupRuleId`) ?? '',
      permission: {
        ipProtocol: text(rule.IpProtocol, `${at}.IpProtocol`) ?? '',
        fromPort: port(rule.FromPort, `${at}.FromPort`),
        toPort: port(rule.ToPort, `${at}.ToPort`),
        ipRanges: one('CidrIpv4'),
        ipv6Ranges: one('CidrIpv6'),
        groups: one('ReferencedGroupId'),
        prefixListIds: one('PrefixListId'),
      },
    };
  });
}

function xmlPort(el: XmlElement, name: string): number | null {
  const v = childText(el, name);
  return v === undefined || !/^-?[0-9]+$/.test(v) ? null : Number(v);
}

/** The rules of a DescribeSecurityGroups `<ipPermissions>` or `<ipPermissionsEgress>` element. */
export function describedPermissions(el: XmlElement | undefined): Permission[] {
  return entries(el, 'item').map((p) => ({
    ipProtocol: childText(p, 'ipProtocol') ?? '',
    fromPort: xmlPort(p, 'fromPort'),
    toPort: xmlPort(p, 'toPort'),
    ipRanges: entries(child(p, 'ipRanges'), 'item').map((r) => childText(r, 'cidrIp') ?? ''),
    ipv6Ranges: entries(child(p, 'ipv6Ranges'), 'item').map((r) => childText(r, 'cidrIpv6') ?? ''),
    groups: entries(child(p, 'groups'), 'item').map((g) => childText(g, 'groupId') ?? childText(g, 'groupName') ?? ''),
    prefixListIds: entries(child(p, 'prefixListIds'), 'item').map((r) => childText(r, 'prefixListId') ?? ''),
  }));
}
