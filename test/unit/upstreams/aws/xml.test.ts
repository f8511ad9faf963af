import { describe, expect, it } from 'vitest';
import { child, childText, entries, escapeXml, parseXml } from '../../../../src/upstreams/aws/xml.js';

describe('the Query protocol\'s XML reader', () => {
  it('reads an IAM answer: declaration, namespace attribute, member lists, entities', () => {
    const doc = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
      + '<ListAccessKeysResult><AccessKeyMetadata><member><UserName>a&amp;b &#x41;&#66;</UserName><Status>Active</Status></member>'
      + '<member><UserName>c</UserName></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>');
    expect(doc.name).toBe('ListAccessKeysResponse');
    const members = entries(child(child(doc, 'ListAccessKeysResult'), 'AccessKeyMetadata'), 'member');
    expect(members.map((m) => childText(m, 'UserName'))).toEqual(['a&b AB', 'c']);
    expect(childText(members[1], 'Status')).toBeUndefined();
  });

  it('reads self-closing elements as empty', () => {
    const doc = parseXml('<R><ipv6Ranges/><groups /></R>');
    expect(entries(child(doc, 'ipv6Ranges'), 'item')).toEqual([]);
    expect(child(doc, 'groups')?.text).toBe('');
  });

  it.each([
    ['a DOCTYPE (entity expansion)', '<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'],
    ['CDATA', '<r><![CDATA[x]]></r>'],
    ['a processing instruction', '<r><?php x ?></r>'],
    ['an unknown entity', '<r>&nbsp;</r>'],
    ['a bare "&"', '<r>a & b</r>'],
    ['a mismatched close', '<a><b></a></b>'],
    ['an unclosed element', '<a><b></b>'],
    ['two document elements', '<a/><b/>'],
    ['text outside the document element', 'x<a/>'],
    ['a character reference out of range', '<r>&#x110000;</r>'],
    ['malformed attributes', '<r a=1></r>'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseXml(text)).toThrow();
  });

  it('escapes text, and drops what XML 1.0 cannot carry', () => {
    expect(escapeXml('<a & "b" \'c\'>\u0000\u0007')).toBe('&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;  ');
    expect(parseXml(`<m>${escapeXml('x <y> & z')}</m>`).text).toBe('x <y> & z');
  });
});
