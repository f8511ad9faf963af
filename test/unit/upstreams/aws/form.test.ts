import { describe, expect, it } from 'vitest';
import { FormError, parseForm, structure } from '../../../../src/upstreams/aws/form.js';
import { requestedPermissions } from '../../../../src/upstreams/aws/permissions.js';

describe('parseForm (the Query protocol\'s form, read as AWS and moto read it)', () => {
  it('decodes "+" as a space and %XX as UTF-8, keeps empty values', () => {
    expect(parseForm('Action=CreateUser&UserName=a+b%20c&Path=%2F&Description=&N=%E1%88%B4')).toEqual([
      ['Action', 'CreateUser'], ['UserName', 'a b c'], ['Path', '/'], ['Description', ''], ['N', 'ሴ'],
    ]);
    expect(parseForm('')).toEqual([]);
  });

  it.each([
    ['a name given twice (moto reads the first, another reader the last)', 'Action=CreateUser&UserName=a&UserName=admin'],
    ['a name given twice in two spellings', 'UserName=a&User%4Eame=b'],
    ['a pair without "="', 'Action=CreateUser&UserName'],
    ['an empty pair', 'Action=CreateUser&&UserName=a'],
    ['a trailing "&"', 'Action=CreateUser&'],
    ['an empty name', '=x&Action=CreateUser'],
    ['";" (a separator to older parsers)', 'Action=CreateUser;UserName=a'],
    ['a malformed escape', 'UserName=a%2'],
    ['a non-hex escape', 'UserName=a%zz'],
    ['escapes that are not UTF-8 (parse_qs would make them U+FFFD)', 'UserName=%ff%fe'],
    ['an overlong UTF-8 encoding', 'UserName=%c0%af'],
    ['a raw space', 'UserName=a b'],
    ['raw non-ASCII', 'UserName=\u00e9'],
    ['a control character', 'UserName=a\nb'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseForm(text)).toThrow(FormError);
  });
});

describe('structure (dotted names as lists and objects)', () => {
  it('reads IAM\'s member lists and EC2\'s numbered lists', () => {
    expect(structure(parseForm('Action=CreateUser&Tags.member.1.Key=team&Tags.member.1.Value=a&Tags.member.2.Key=env&Tags.member.2.Value=prod'))).toEqual({
      Action: 'CreateUser', Tags: [{ Key: 'team', Value: 'a' }, { Key: 'env', Value: 'prod' }],
    });
    const ec2 = structure(parseForm('GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22'
      + '&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&IpPermissions.1.IpRanges.2.CidrIp=0.0.0.0%2F0&IpPermissions.2.IpProtocol=-1&IpPermissions.2.Ipv6Ranges.1.CidrIpv6=%3A%3A%2F0'));
    expect(ec2).toEqual({
      GroupId: 'sg-1',
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: '22', ToPort: '22', IpRanges: [{ CidrIp: '10.0.0.0/8' }, { CidrIp: '0.0.0.0/0' }] },
        { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      ],
    });
    expect(requestedPermissions(ec2)).toEqual([
      { ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: ['10.0.0.0/8', '0.0.0.0/0'], ipv6Ranges: [], groups: [], prefixListIds: [] },
      { ipProtocol: '-1', fromPort: null, toPort: null, ipRanges: [], ipv6Ranges: ['::/0'], groups: [], prefixListIds: [] },
    ]);
  });

  it('reads the top-level form of an ingress rule as one more permission', () => {
    expect(requestedPermissions(structure(parseForm('GroupId=sg-1&IpProtocol=tcp&FromPort=3389&ToPort=3389&CidrIp=0.0.0.0%2F0')))).toEqual([
      { ipProtocol: 'tcp', fromPort: 3389, toPort: 3389, ipRanges: ['0.0.0.0/0'], ipv6Ranges: [], groups: [], prefixListIds: [] },
    ]);
    expect(() => requestedPermissions(structure(parseForm('IpPermissions.1.FromPort=22x')))).toThrow(FormError);
  });

  it.each([
    ['a list with a gap', 'Tags.member.1.Key=a&Tags.member.3.Key=b'],
    ['a list starting at 2', 'Tags.member.2.Key=a'],
    ['index 0', 'IpPermissions.0.IpProtocol=tcp'],
    ['an index with a leading zero', 'IpPermissions.01.IpProtocol=tcp'],
    ['a list written with and without member', 'Tags.member.1.Key=a&Tags.2.Key=b'],
    ['the same entry with and without member', 'Tags.member.1.Key=a&Tags.1.Value=b'],
    ['a value that is also a structure', 'UserName=a&UserName.First=b'],
    ['a structure that is also a value', 'UserName.First=b&UserName=a'],
    ['a list that is also an object', 'Tags.1.Key=a&Tags.Key=b'],
    ['an empty name part', 'Tags..Key=a'],
    ['a name ending in "."', 'UserName.=a'],
  ])('refuses %s', (_name, text) => {
    expect(() => structure(parseForm(text))).toThrow(FormError);
  });
});
