/**
 * Verifies the SigV4 signature a caller made for the gateway, as AWS would verify it for itself: over the method, the
 * path the client sent (the gateway's, mount prefix included), the query, the signed headers (which must include
 * `host`), the exact body bytes and the `X-Amz-Date`, with the secret of the caller's access key in the callers file
 * (./callers.ts), in the credential scope of the mount (`aws.region`, `aws.service`), within 15 minutes of the
 * gateway's clock. A failure is refused with AWS's own code: MissingAuthenticationToken, InvalidClientTokenId or
 * SignatureDoesNotMatch (status 403, in the service's error envelope, ./render.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WritegateError } from '../../errors.js';
import type { AwsCaller, CallersFile } from './callers.js';
import { parseAmzDate, parseAuthorization, sha256Hex, signature } from './sigv4.js';

/** AWS's own allowance for clock skew between a client and the service. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export type AwsAuthCode = 'MissingAuthenticationToken' | 'InvalidClientTokenId' | 'SignatureDoesNotMatch';

/** A refusal of the caller's signature, rendered with `code` (status 403) in the service's envelope. */
export function authFailure(code: AwsAuthCode, message: string): WritegateError {
  return new WritegateError('WG_ERR_UNAUTHENTICATED', message, { details: { awsCode: code } });
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export interface SignedRequest {
  method: string;
  /**
   * The paths the client may have sent to the gateway (mount prefix included), without the query: the gateway hands
   * `/aws/iam` and `/aws/iam/` on as one request (`/` of the upstream), so a signature over either is the caller's
   * signature of that request (botocore signs an endpoint URL's path as written, without adding a "/").
   */
  wirePaths: readonly string[];
  /** The query's decoded pairs. */
  query: readonly (readonly [string, string])[];
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The caller whose signature `r` carries; throws authFailure otherwise. */
export function verifySignature(r: SignedRequest, scope: { region: string; service: string }, callers: CallersFile, now: Date): AwsCaller {
  const header = single(r.headers, 'authorization');
  if (header === undefined) {
    const presigned = r.query.some(([k]) => k === 'X-Amz-Signature' || k === 'X-Amz-Credential');
    throw authFailure('MissingAuthenticationToken', presigned
      ? 'query-string (presigned) authentication is not accepted by the gateway; sign with the Authorization header'
      : 'Request is missing Authentication Token');
  }
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') throw authFailure('SignatureDoesNotMatch', auth);
  let known: AwsCaller | undefined;
  try {
    known = callers.lookup(auth.accessKeyId);
  } catch (err) {
    throw authFailure('InvalidClientTokenId', `The security token included in the request is invalid (${(err as Error).message})`);
  }
  if (!known) throw authFailure('InvalidClientTokenId', 'The security token included in the request is invalid');
  if (auth.scope.region !== scope.region || auth.scope.service !== scope.service) {
    throw authFailure('SignatureDoesNotMatch', `Credential should be scoped to region ${scope.region} and service ${scope.service}, not ${auth.scope.region}/${auth.scope.service}`);
  }
  if (!auth.signedHeaders.includes('host')) throw authFailure('SignatureDoesNotMatch', 'SignedHeaders must include host');
  const amzDate = single(r.headers, 'x-amz-date');
  if (amzDate === undefined || !auth.signedHeaders.includes('x-amz-date')) throw authFailure('SignatureDoesNotMatch', 'the request must carry a signed X-Amz-Date');
  const at = parseAmzDate(amzDate);
  if (!at) throw authFailure('SignatureDoesNotMatch', `X-Amz-Date ${amzDate} is not a date in ISO 8601 basic format`);
  if (amzDate.slice(0, 8) !== auth.scope.date) throw authFailure('SignatureDoesNotMatch', `the credential scope's date ${auth.scope.date} is not the date of X-Amz-Date ${amzDate}`);
  if (Math.abs(at.getTime() - now.getTime()) > MAX_SKEW_MS) {
    throw authFailure('SignatureDoesNotMatch', `Signature expired: ${amzDate} is more than 15 minutes from the gateway's time ${now.toISOString()}`);
  }
  const headers: Record<string, string> = {};
  for (const h of auth.signedHeaders) {
    const v = single(r.headers, h);
    if (v === undefined) throw authFailure('SignatureDoesNotMatch', `the signed header ${h} is not in the request`);
    headers[h] = v;
  }
  const payloadHash = sha256Hex(r.body);
  const declared = single(r.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash) {
    throw authFailure('SignatureDoesNotMatch', 'X-Amz-Content-SHA256 is not the SHA-256 of the body (unsigned and streaming payloads are not accepted)');
  }
  const given = Buffer.from(auth.signature, 'latin1');
  const matches = r.wirePaths.map((path) => signature(known.secretAccessKey, auth.scope, amzDate, {
    method: r.method, path, query: r.query, headers, signedHeaders: auth.signedHeaders, payloadHash,
  })).filter((expected) => timingSafeEqual(Buffer.from(expected, 'latin1'), given));
  if (matches.length === 0) {
    throw authFailure('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return known;
}
