/**
 * AWS Signature Version 4 (the AWS General Reference, "Create a signed AWS API request"), written with node:crypto:
 * the canonical request, the string to sign, the signing key and the `Authorization` header, for the two sides the
 * gateway plays — verifying what a caller signed for the gateway, and signing what the gateway sends upstream.
 * Tested against AWS's published SigV4 test suite (test/unit/upstreams/aws/sigv4.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';

/** The SHA-256 of nothing: the payload hash of a request without a body. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 unreserved characters, which SigV4 never percent-encodes. */
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** SigV4's URI encoding: every byte but the unreserved characters as `%XX` (upper-case hex) of its UTF-8 form. */
export function awsEncode(text: string, keepSlash = false): string {
  let out = '';
  for (const ch of text) {
    if (UNRESERVED.test(ch) || (keepSlash && ch === '/')) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The canonical URI of a request path as it went on the wire: that path URI-encoded once more, `/` kept. For
 * services other than S3 this is the "encoded twice" of the reference (botocore quotes the already encoded path with
 * `safe='/~'`); a path spelt with dot segments is refused by the adapter before this is asked.
 */
export function canonicalUri(wirePath: string): string {
  return wirePath === '' ? '/' : awsEncode(wirePath, true);
}

/** The canonical query string of decoded parameters: each name and value encoded, sorted by name then value. */
export function canonicalQuery(pairs: readonly (readonly [string, string])[]): string {
  return pairs
    .map(([k, v]) => [awsEncode(k), awsEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** A header value as the canonical headers carry it: trimmed, runs of spaces as one. */
function canonicalValue(value: string): string {
  return value.trim().replace(/ +/g, ' ');
}

export interface SignableRequest {
  method: string;
  /** The request path as sent on the wire (percent-encoded), without the query. */
  path: string;
  /** The query's decoded name/value pairs. */
  query: readonly (readonly [string, string])[];
  /** Header values by lower-case name (several field lines already joined with ","). */
  headers: Readonly<Record<string, string>>;
  /** Lower-case names of the signed headers, sorted. */
  signedHeaders: readonly string[];
  /** Hex SHA-256 of the body. */
  payloadHash: string;
}

export function canonicalRequest(r: SignableRequest): string {
  const headers = r.signedHeaders.map((h) => `${h}:${canonicalValue(r.headers[h] ?? '')}\n`).join('');
  return [r.method, canonicalUri(r.path), canonicalQuery(r.query), headers, r.signedHeaders.join(';'), r.payloadHash].join('\n');
}

export interface Scope {
  /** yyyymmdd */
  date: string;
  region: string;
  service: string;
}

export function scopeText(s: Scope): string {
  return `${s.date}/${s.region}/${s.service}/aws4_request`;
}

export function stringToSign(amzDate: string, scope: Scope, canonical: string): string {
  return [ALGORITHM, amzDate, scopeText(scope), sha256Hex(canonical)].join('\n');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, scope: Scope): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, scope.date), scope.region), scope.service), 'aws4_request');
}

/** The hex signature of `r` at `amzDate` with `secret` in `scope`. */
export function signature(secret: string, scope: Scope, amzDate: string, r: SignableRequest): string {
  return createHmac('sha256', signingKey(secret, scope)).update(stringToSign(amzDate, scope, canonicalRequest(r)), 'utf8').digest('hex');
}

/** `20261202T103000Z` of a time. */
export function amzDateOf(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The time of an `X-Amz-Date` value (ISO 8601 basic format, UTC), or undefined when it is not one. */
export function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const at = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return amzDateOf(at) === text ? at : undefined;
}

export interface Authorization {
  accessKeyId: string;
  scope: Scope;
  signedHeaders: string[];
  signature: string;
}

/**
 * The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
 * SignedHeaders=a;b, Signature=hex` header, or why it is not one. Each part once, nothing else; the signed header
 * names lower-case, sorted and distinct, as a canonical request lists them.
 */
export function parseAuthorization(value: string): Authorization | string {
  if (!value.startsWith(`${ALGORITHM} `)) return `the Authorization header is not ${ALGORITHM}`;
  const parts = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const m = /^\s*([A-Za-z]+)=(\S*)\s*$/.exec(part);
    if (!m || parts.has(m[1]!)) return 'the Authorization header is malformed';
    parts.set(m[1]!, m[2]!);
  }
  const credential = parts.get('Credential');
  const signed = parts.get('SignedHeaders');
  const sig = parts.get('Signature');
  if (parts.size !== 3 || credential === undefined || signed === undefined || sig === undefined) {
    return 'the Authorization header needs Credential, SignedHeaders and Signature';
  }
  const c = credential.split('/');
  if (c.length !== 5 || c[4] !== 'aws4_request' || !/^\d{8}$/.test(c[1]!) || c.some((x) => x === '')) return 'the Credential of the Authorization header is malformed';
  if (!/^[0-9a-f]{64}$/.test(sig)) return 'the Signature of the Authorization header is not 64 hex digits';
  const signedHeaders = signed.split(';');
  const sorted = [...signedHeaders].sort();
  if (signedHeaders.some((h, i) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h) || h !== sorted[i] || h === signedHeaders[i - 1])) {
    return 'SignedHeaders must be distinct lower-case header names in sorted order';
  }
  return { accessKeyId: c[0]!, scope: { date: c[1]!, region: c[2]!, service: c[3]! }, signedHeaders, signature: sig };
}

/** The `Authorization` header value of a signature. */
export function authorizationHeader(accessKeyId: string, scope: Scope, signedHeaders: readonly string[], sig: string): string {
  return `${ALGORITHM} Credential=${accessKeyId}/${scopeText(scope)}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
}
