/**
 * Answers in the service's own Query-protocol error envelope, which the AWS SDKs parse into an error code and
 * message (botocore's QueryParser for IAM, its EC2QueryParser for EC2; the AWS CLI prints "An error occurred (Code)
 * when calling the Action operation: Message", Terraform's AWS provider "api error Code: Message"):
 * - IAM: `<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`
 * - EC2: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`
 * The request id is the decision id, so the id the client prints is the one to look up in the decision log.
 */
import { randomUUID } from 'node:crypto';
import { errorCatalogue, type ErrorCode, type WritegateError } from '../../errors.js';
import type { RenderedResponse, Violation } from '../types.js';
import { escapeXml } from './xml.js';

export type AwsService = 'iam' | 'ec2';

export function errorEnvelope(service: AwsService, status: number, code: string, message: string, requestId: string): RenderedResponse {
  const c = escapeXml(code);
  const m = escapeXml(message);
  const id = escapeXml(requestId);
  const body = service === 'ec2'
    ? `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${c}</Code><Message>${m}</Message></Error></Errors><RequestID>${id}</RequestID></Response>`
    : `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${c}</Code><Message>${m}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`;
  return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

/** 403 AccessDenied naming every violation and the decision. */
export function renderDeny(service: AwsService, reasons: Violation[], decisionId: string): RenderedResponse {
  const list = reasons.length ? reasons.map((r) => r.msg) : ['denied by policy'];
  return errorEnvelope(service, 403, 'AccessDenied', `writegate denied the request: ${list.join('; ')} (decision ${decisionId})`, decisionId);
}

/** How to fix the catalogue's errors as they arise in front of AWS. */
export const AWS_FIXES: Partial<Record<ErrorCode, string>> = {
  WG_ERR_UNAUTHENTICATED: 'Sign the request (SigV4, Authorization header) with a key pair of the gateway\'s callers file (aws.callers), for the mount\'s region and service, with a clock within 15 minutes of the gateway\'s.',
  WG_ERR_BAD_PATH: 'Point the client\'s endpoint URL at the mount itself (e.g. --endpoint-url https://gateway:8443/aws/iam); the Query protocol is served at the mount\'s root only.',
  WG_ERR_BAD_REQUEST: 'Send the Query protocol as AWS SDKs do: POST with a form body (or GET with the query), Action and Version, each parameter once, lists numbered from 1.',
  WG_ERR_MALFORMED_BODY: 'Send the parameters form-encoded (application/x-www-form-urlencoded): each name once, every pair with "=", non-ASCII percent-encoded as UTF-8, no ";".',
  WG_ERR_UNSUPPORTED_MEDIA_TYPE: 'Send the Query protocol\'s form body (Content-Type: application/x-www-form-urlencoded), not content-encoded.',
  WG_ERR_RESOLVE_FAILED: 'Before the write the gateway reads what it changes (the user\'s access keys, the group\'s rules) with the held credential; that read failed. Check the names in the request and the held credential\'s permissions.',
  WG_ERR_CREDENTIAL_UNAVAILABLE: 'The gateway\'s held AWS key pair (credentials.accessKeyIdFile/Env, secretAccessKeyFile/Env) cannot be read; fix the file or variable.',
  WG_ERR_NO_DECISION: 'The configured policy path has no value for this input; check the upstream `policy` path (writegate/aws/decision) and that the package is loaded in OPA.',
};

function fixFor(code: ErrorCode): string {
  return AWS_FIXES[code] ?? errorCatalogue[code].fix;
}

/**
 * A catalogue error in the service's envelope. A caller whose signature does not verify gets AWS's own code for it
 * (MissingAuthenticationToken, InvalidClientTokenId, SignatureDoesNotMatch) with AWS's status 403; a rate limit
 * AWS's throttling code, which the SDKs retry; anything else its catalogue code and status.
 */
export function renderError(service: AwsService, err: WritegateError, decisionId: string | undefined): RenderedResponse {
  const id = decisionId ?? randomUUID();
  const suffix = decisionId ? ` (decision ${decisionId})` : '';
  if (err.code === 'WG_ERR_UNAUTHENTICATED') {
    const code = typeof err.details.awsCode === 'string' ? err.details.awsCode : 'MissingAuthenticationToken';
    return errorEnvelope(service, 403, code, `${err.message}${suffix}`, id);
  }
  if (err.code === 'WG_ERR_RATE_LIMITED') {
    return errorEnvelope(service, err.status, service === 'ec2' ? 'RequestLimitExceeded' : 'Throttling', `writegate: ${err.message}${suffix}`, id);
  }
  return errorEnvelope(service, err.status, err.code, `writegate: ${err.message}. ${fixFor(err.code)}${suffix}`, id);
}

/**
 * `Warning: 299 - "text"` (RFC 7234 §5.5): AWS has no warning of its own and the body of a forwarded write is AWS's,
 * so warnings travel in the standard header. Quotes and backslashes are escaped, control characters dropped; the
 * UTF-8 bytes go as latin1 octets.
 */
export function warningHeaders(warnings: Violation[]): string[] {
  return warnings.map((w) => {
    const t = w.msg.replace(/[\x00-\x1f\x7f]/g, ' ').replace(/[\\"]/g, (c) => `\\${c}`);
    return Buffer.from(`299 - "${t}"`, 'utf8').toString('latin1');
  });
}
