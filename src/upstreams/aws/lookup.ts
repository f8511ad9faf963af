/**
 * What a write changes, read from the upstream before it is judged (`input.request.oldObject`), with the key pair
 * the gateway holds: a user's access keys and their ages (IAM GetUser, ListAccessKeys) for CreateAccessKey,
 * UpdateAccessKey and DeleteAccessKey; a security group's current rules (EC2 DescribeSecurityGroups) for
 * Authorize/Revoke*, UpdateSecurityGroupRuleDescriptions* and ModifySecurityGroupRules, and for the latter which of
 * the rules it rewrites are egress rules (DescribeSecurityGroupRules). An upstream refusal (no such user, no such group) is relayed as the answer to the write, which
 * would meet the same refusal.
 */
import { WritegateError } from '../../errors.js';
import type { UpstreamClient } from '../client.js';
import { API_VERSION } from './actions.js';
import type { Params } from './form.js';
import type { HeldKeyPair } from './held.js';
import { describedPermissions, type Permission } from './permissions.js';
import { signRequest } from './sign.js';
import { awsEncode } from './sigv4.js';
import { child, childText, entries, parseXml, type XmlElement } from './xml.js';

/** The gateway's own Query-protocol calls to one upstream, signed with the held pair. */
export class QueryCaller {
  private readonly host: string;

  constructor(private readonly upstream: UpstreamClient, private readonly service: 'iam' | 'ec2', private readonly region: string, private readonly held: HeldKeyPair) {
    this.host = new URL(upstream.origin).host;
  }

  /** The `<Action>Result` (IAM) or the response element (EC2) of `action` with `params`. */
  async call(action: string, params: [string, string][]): Promise<XmlElement> {
    const body = Buffer.from([['Action', action], ...params, ['Version', API_VERSION[this.service]]].map(([k, v]) => `${awsEncode(k!)}=${awsEncode(v!)}`).join('&'));
    const headers = signRequest({
      method: 'POST',
      target: `${this.upstream.basePath}/`,
      headers: { host: this.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    }, this.held.value(), { region: this.region, service: this.service }, new Date());
    const what = `${action} ${params.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    const res = await this.upstream.request('POST', '/', headers, body);
    if (res.status !== 200) {
      throw new WritegateError('WG_ERR_RESOLVE_FAILED', `reading what the write changes (${what}) answered ${res.status}`, { details: { upstreamResponse: res } });
    }
    let doc: XmlElement;
    try {
      doc = parseXml(res.body.toString('utf8'));
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `${what} answered something other than the Query protocol's XML: ${(err as Error).message}`, { cause: err });
    }
    if (doc.name !== `${action}Response`) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `${what} answered <${doc.name}>`);
    return this.service === 'iam' ? child(doc, `${action}Result`) ?? doc : doc;
  }
}

export interface AccessKey {
  accessKeyId: string;
  status: string;
  createDate: string;
  /** Whole days since createDate, at the time of the request. */
  ageDays: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function required(el: XmlElement | undefined, name: string, what: string): string {
  const v = childText(el, name);
  if (v === undefined) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `${what} has no ${name}`);
  return v;
}

/** The user `userName` (with its tags as an object) and its access keys with their ages. */
export async function currentAccessKeys(query: QueryCaller, userName: string, now: Date): Promise<Record<string, unknown>> {
  const user = child(await query.call('GetUser', [['UserName', userName]]), 'User');
  const listed = await query.call('ListAccessKeys', [['UserName', userName]]);
  // A user has at most two access keys (IAM quotas); a truncated list would judge the write against part of them.
  if (childText(listed, 'IsTruncated') === 'true') throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `ListAccessKeys of ${userName} answered a truncated list`);
  const accessKeys: AccessKey[] = entries(child(listed, 'AccessKeyMetadata'), 'member').map((m) => {
    const createDate = required(m, 'CreateDate', 'an access key');
    const created = Date.parse(createDate);
    if (Number.isNaN(created)) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `an access key's CreateDate "${createDate}" is not a date`);
    return {
      accessKeyId: required(m, 'AccessKeyId', 'an access key'),
      status: required(m, 'Status', 'an access key'),
      createDate,
      ageDays: Math.floor((now.getTime() - created) / DAY_MS),
    };
  });
  const tags: Record<string, string> = {};
  for (const t of entries(child(user, 'Tags'), 'member')) tags[required(t, 'Key', 'a tag')] = childText(t, 'Value') ?? '';
  return {
    userName,
    user: {
      userName: required(user, 'UserName', 'GetUser'),
      userId: childText(user, 'UserId') ?? '',
      arn: childText(user, 'Arn') ?? '',
      path: childText(user, 'Path') ?? '',
      tags,
    },
    accessKeys,
  };
}

export interface SecurityGroup {
  groupId: string;
  groupName: string;
  vpcId: string;
  ipPermissions: Permission[];
  ipPermissionsEgress: Permission[];
}

/** The group an Authorize/Revoke request names (by GroupId, else GroupName) with its rules; null when it names none. */
export async function currentSecurityGroup(query: QueryCaller, params: Params): Promise<SecurityGroup | null> {
  const by: [string, string] | undefined = typeof params.GroupId === 'string' ? ['GroupId.1', params.GroupId]
    : typeof params.GroupName === 'string' ? ['GroupName.1', params.GroupName] : undefined;
  if (!by) return null;
  const groups = entries(child(await query.call('DescribeSecurityGroups', [by]), 'securityGroupInfo'), 'item');
  if (groups.length !== 1) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `DescribeSecurityGroups ${by[0]}=${by[1]} answered ${groups.length} groups`);
  const g = groups[0]!;
  return {
    groupId: required(g, 'groupId', 'a security group'),
    groupName: childText(g, 'groupName') ?? '',
    vpcId: childText(g, 'vpcId') ?? '',
    ipPermissions: describedPermissions(child(g, 'ipPermissions')),
    ipPermissionsEgress: describedPermissions(child(g, 'ipPermissionsEgress')),
  };
}

/**
 * The ids among `ruleIds` that DescribeSecurityGroupRules names as egress rules. Every other id is taken for an
 * ingress rule, so that a rule the answer leaves out is judged by the stricter ingress rules.
 */
export async function egressRuleIds(query: QueryCaller, ruleIds: string[]): Promise<Set<string>> {
  if (ruleIds.length === 0) return new Set();
  const answer = await query.call('DescribeSecurityGroupRules', ruleIds.map((id, i): [string, string] => [`SecurityGroupRuleId.${i + 1}`, id]));
  if (childText(answer, 'nextToken')) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', 'DescribeSecurityGroupRules answered a truncated list');
  const rules = entries(child(answer, 'securityGroupRuleSet'), 'item');
  return new Set(rules.filter((r) => childText(r, 'isEgress') === 'true').map((r) => required(r, 'securityGroupRuleId', 'a security group rule')));
}
