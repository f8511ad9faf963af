/**
 * What an AWS Query-protocol action is to the gate: a read or a write, and for a write its operation. AWS names
 * actions verb first (CreateUser, AuthorizeSecurityGroupIngress); the verb decides.
 *
 * - read: Get*, List*, Describe* — forwarded without a decision (re-signed like everything else).
 * - CREATE: Create, Add, Attach, Authorize, Put, Upload, Tag, Run, Allocate, Associate, Import, Register, Copy,
 *   Request — the action adds something (a user, a key, a policy attachment, an ingress rule, a tag).
 * - DELETE: Delete, Remove, Detach, Revoke, Untag, Terminate, Release, Disassociate, Deregister — it takes
 *   something away.
 * - UPDATE: every other write (Update*, Modify*, Change*, Set*, Reset*, Enable*, Disable*, ...).
 *
 * Policies should match on `input.request.action`; the operation is for rules that hold across actions.
 */

export type AwsOperation = 'CREATE' | 'UPDATE' | 'DELETE';

const READ_VERBS = new Set(['Get', 'List', 'Describe']);
const CREATE_VERBS = new Set(['Create', 'Add', 'Attach', 'Authorize', 'Put', 'Upload', 'Tag', 'Run', 'Allocate', 'Associate', 'Import', 'Register', 'Copy', 'Request']);
const DELETE_VERBS = new Set(['Delete', 'Remove', 'Detach', 'Revoke', 'Untag', 'Terminate', 'Release', 'Disassociate', 'Deregister']);

/** An action name as AWS spells them: a capital letter, then letters and digits. */
export const ACTION = /^[A-Z][A-Za-z0-9]{1,127}$/;

function verbOf(action: string): string {
  return /^[A-Z][a-z]*/.exec(action)?.[0] ?? '';
}

export function isReadAction(action: string): boolean {
  return READ_VERBS.has(verbOf(action));
}

export function operationOf(action: string): AwsOperation {
  const verb = verbOf(action);
  return CREATE_VERBS.has(verb) ? 'CREATE' : DELETE_VERBS.has(verb) ? 'DELETE' : 'UPDATE';
}

/** The Query API version of each service the kind mounts (what the gateway's own lookups send). */
export const API_VERSION: Record<'iam' | 'ec2', string> = { iam: '2010-05-08', ec2: '2016-11-15' };

/** IAM actions on a user's access keys, judged with the user's keys (`oldObject`). */
export const ACCESS_KEY_ACTIONS = new Set(['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey']);

/**
 * EC2 actions on a security group's rules that name them as `IpPermissions`, judged with the group's rules
 * (`oldObject`) and the rules they name (`permissions`). ModifySecurityGroupRules names rules by id: see
 * MODIFY_RULES_ACTION.
 */
export const SECURITY_GROUP_RULE_ACTIONS = new Set([
  'AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress',
  'UpdateSecurityGroupRuleDescriptionsIngress', 'UpdateSecurityGroupRuleDescriptionsEgress',
]);

/**
 * The EC2 action that rewrites rules in place, judged with the group's rules (`oldObject`), the ingress rules it
 * leaves (`permissions`) and the egress ones (`permissionsEgress`).
 */
export const MODIFY_RULES_ACTION = 'ModifySecurityGroupRules';
