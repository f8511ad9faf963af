import { describe, expect, it } from 'vitest';
import { FormError, parseForm, structure } from '../../../../src/upstreams/aws/form.js';
import { isOperation } from '../../../../src/upstreams/aws/operations.js';
import { updatedRules } from '../../../../src/upstreams/aws/permissions.js';

const params = (form: string) => structure(parseForm(form));

describe('updatedRules (ModifySecurityGroupRules\' SecurityGroupRule.N)', () => {
  it('reads each rule id and what the rule becomes, in the shape of the other permissions', () => {
    const form = 'Action=ModifySecurityGroupRules&GroupId=sg-1'
      + '&SecurityGroupRule.1.SecurityGroupRuleId=sgr-1&SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp'
      + '&SecurityGroupRule.1.SecurityGroupRule.FromPort=22&SecurityGroupRule.1.SecurityGroupRule.ToPort=22'
      + '&SecurityGroupRule.1.SecurityGroupRule.CidrIpv4=0.0.0.0%2F0'
      + '&SecurityGroupRule.2.SecurityGroupRuleId=sgr-2&SecurityGroupRule.2.SecurityGroupRule.IpProtocol=-1'
      + '&SecurityGroupRule.2.SecurityGroupRule.PrefixListId=pl-1&Version=2016-11-15';
    expect(updatedRules(params(form))).toEqual([
      { ruleId: 'sgr-1', permission: { ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: ['0.0.0.0/0'], ipv6Ranges: [], groups: [], prefixListIds: [] } },
      { ruleId: 'sgr-2', permission: { ipProtocol: '-1', fromPort: null, toPort: null, ipRanges: [], ipv6Ranges: [], groups: [], prefixListIds: ['pl-1'] } },
    ]);
  });

  it.each([
    ['a rule that is a value, not a structure', 'SecurityGroupRule.1.SecurityGroupRuleId=sgr-1&SecurityGroupRule.1.SecurityGroupRule=x', /SecurityGroupRule.1.SecurityGroupRule is not a structure/],
    ['a rule without its SecurityGroupRule', 'SecurityGroupRule.1.SecurityGroupRuleId=sgr-1', /SecurityGroupRule.1.SecurityGroupRule is not a structure/],
    ['a port that is not an integer', 'SecurityGroupRule.1.SecurityGroupRuleId=sgr-1&SecurityGroupRule.1.SecurityGroupRule.FromPort=22x', /FromPort is not an integer/],
    ['SecurityGroupRule as a value', 'SecurityGroupRule=x', /SecurityGroupRule is not a list of structures/],
  ])('%s is a FormError (a 400 WG_ERR_MALFORMED_BODY)', (_name, form, message) => {
    expect(() => updatedRules(params(form))).toThrow(FormError);
    expect(() => updatedRules(params(form))).toThrow(message);
  });
});

describe('isOperation (the closed lists of IAM and EC2 operations)', () => {
  it('knows the operations the adapter and the policy name, and the common reads', () => {
    for (const action of ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'AttachUserPolicy', 'AttachGroupPolicy', 'AttachRolePolicy', 'GetUser', 'ListAccessKeys', 'CreateUser']) {
      expect(isOperation('iam', action), action).toBe(true);
    }
    for (const action of ['AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules', 'UpdateSecurityGroupRuleDescriptionsIngress', 'DescribeSecurityGroups', 'DescribeSecurityGroupRules', 'RunInstances']) {
      expect(isOperation('ec2', action), action).toBe(true);
    }
  });

  it('refuses other spellings, other services\' operations and made-up names', () => {
    for (const action of ['CreateAccessKEY', 'createAccessKey', 'AttachUserPOLICY', 'RunInstances', 'CreateAccessKeys', '']) {
      expect(isOperation('iam', action), action).toBe(false);
    }
    expect(isOperation('ec2', 'CreateAccessKey')).toBe(false);
    expect(isOperation('ec2', 'authorizeSecurityGroupIngress')).toBe(false);
  });
});
