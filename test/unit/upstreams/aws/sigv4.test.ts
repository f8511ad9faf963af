import { describe, expect, it } from 'vitest';
import { EMPTY_SHA256, authorizationHeader, canonicalRequest, parseAmzDate, parseAuthorization, sha256Hex, signature, type SignableRequest } from '../../../../src/upstreams/aws/sigv4.js';

/**
 * AWS's SigV4 test suite (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html, as the AWS SDK for
 * JavaScript v3 carries it in @aws-sdk/signature-v4's suite.fixture): credentials AKIDEXAMPLE, region us-east-1,
 * service "service", 2015-08-30T12:36:00Z. Each case: the request as sent and the signature AWS published.
 */
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SCOPE = { date: '20150830', region: 'us-east-1', service: 'service' };
const DATE = '20150830T123600Z';
const HOST = 'example.amazonaws.com';

interface Vector {
  name: string;
  method: string;
  path: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: string;
  signature: string;
}

const VECTORS: Vector[] = [
  { name: 'get-vanilla', method: 'GET', path: '/', signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'get-vanilla-empty-query-key', method: 'GET', path: '/', query: [['Param1', 'value1']], signature: 'a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb' },
  { name: 'get-vanilla-query-order-key-case', method: 'GET', path: '/', query: [['Param2', 'value2'], ['Param1', 'value1']], signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' },
  {
    name: 'get-vanilla-query-unreserved', method: 'GET', path: '/',
    query: [['-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', '-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz']],
    signature: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
  },
  { name: 'get-vanilla-utf8-query', method: 'GET', path: '/', query: [['ሴ', 'bar']], signature: '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04' },
  { name: 'get-unreserved', method: 'GET', path: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f' },
  { name: 'get-utf8', method: 'GET', path: '/ሴ', signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' },
  { name: 'get-header-key-duplicate', method: 'GET', path: '/', headers: { 'my-header1': 'value2,value2,value1' }, signature: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea' },
  { name: 'get-header-value-order', method: 'GET', path: '/', headers: { 'my-header1': 'value4,value1,value3,value2' }, signature: '08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01' },
  { name: 'get-header-value-trim', method: 'GET', path: '/', headers: { 'my-header1': 'value1', 'my-header2': '"a   b   c"' }, signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736' },
  { name: 'post-vanilla', method: 'POST', path: '/', signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' },
  { name: 'post-vanilla-query', method: 'POST', path: '/', query: [['Param1', 'value1']], signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11' },
  { name: 'post-vanilla-query-nonunreserved', method: 'POST', path: '/', query: [['@#$%^', ''], ['+', '/,?><`";:\\|][{}']], signature: '66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e' },
  { name: 'post-vanilla-query-space', method: 'POST', path: '/', query: [['p', '']], signature: 'e71688addb58a26418614085fb730ba3faa623b461c17f48f2fbdb9361b94a9b' },
  { name: 'post-header-key-sort', method: 'POST', path: '/', headers: { 'my-header1': 'value1' }, signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c' },
  { name: 'post-header-value-case', method: 'POST', path: '/', headers: { 'my-header1': 'VALUE1' }, signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d' },
  {
    name: 'post-sts-header-before', method: 'POST', path: '/',
    headers: { 'x-amz-security-token': 'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==' },
    signature: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
  { name: 'post-x-www-form-urlencoded', method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Param1=value1', signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a' },
  { name: 'post-x-www-form-urlencoded-parameters', method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf8' }, body: 'Param1=value1', signature: '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe' },
];

function request(v: Vector): SignableRequest {
  const headers: Record<string, string> = { host: HOST, 'x-amz-date': DATE, ...v.headers };
  return {
    method: v.method, path: v.path, query: v.query ?? [], headers,
    signedHeaders: Object.keys(headers).sort(), payloadHash: v.body === undefined ? EMPTY_SHA256 : sha256Hex(v.body),
  };
}

describe('SigV4 (AWS test suite)', () => {
  it.each(VECTORS)('$name', (v) => {
    expect(signature(SECRET, SCOPE, DATE, request(v))).toBe(v.signature);
  });

  it('builds the canonical request of the suite\'s get-vanilla-query-order-key-case', () => {
    const v = VECTORS.find((x) => x.name === 'get-vanilla-query-order-key-case')!;
    expect(canonicalRequest(request(v))).toBe(`GET\n/\nParam1=value1&Param2=value2\nhost:${HOST}\nx-amz-date:${DATE}\n\nhost;x-amz-date\n${EMPTY_SHA256}`);
  });

  it('encodes a wire path once more (non-S3 services: "%" of an encoded path becomes %25)', () => {
    const r = { ...request(VECTORS[0]!), path: '/a%20b' };
    expect(canonicalRequest(r).split('\n')[1]).toBe('/a%2520b');
  });

  it('writes and reads back an Authorization header', () => {
    const v = VECTORS[0]!;
    const header = authorizationHeader('AKIDEXAMPLE', SCOPE, ['host', 'x-amz-date'], v.signature);
    expect(header).toBe(`AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${v.signature}`);
    expect(parseAuthorization(header)).toEqual({ accessKeyId: 'AKIDEXAMPLE', scope: SCOPE, signedHeaders: ['host', 'x-amz-date'], signature: v.signature });
  });

  it.each([
    ['another algorithm', 'AWS4-HMAC-SHA512 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=' + '0'.repeat(64)],
    ['a part twice', 'AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, Credential=B/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=' + '0'.repeat(64)],
    ['an extra part', 'AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=' + '0'.repeat(64) + ', Extra=1'],
    ['a short credential', 'AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/aws4_request, SignedHeaders=host, Signature=' + '0'.repeat(64)],
    ['unsorted signed headers', 'AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=x-amz-date;host, Signature=' + '0'.repeat(64)],
    ['a signed header twice', 'AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=host;host, Signature=' + '0'.repeat(64)],
    ['upper-case signed headers', 'AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=Host, Signature=' + '0'.repeat(64)],
    ['a short signature', 'AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, SignedHeaders=host, Signature=abc'],
  ])('refuses an Authorization header with %s', (_name, header) => {
    expect(typeof parseAuthorization(header)).toBe('string');
  });

  it('reads X-Amz-Date only in ISO 8601 basic format, and only real times', () => {
    expect(parseAmzDate(DATE)?.toISOString()).toBe('2015-08-30T12:36:00.000Z');
    expect(parseAmzDate('20150830T123600')).toBeUndefined();
    expect(parseAmzDate('20150231T123600Z')).toBeUndefined();
    expect(parseAmzDate('Sun, 30 Aug 2015 12:36:00 GMT')).toBeUndefined();
  });
});
