import type { Caller } from '../../auth/caller.js';
import { WritegateError, isWritegateError } from '../../errors.js';
import { inputHeaders } from '../../http/headers.js';
import { splitUrl } from '../../http/path.js';
import type { UpstreamClient } from '../client.js';
import { withCredentials } from '../headers.js';
import type { Classified, ForwardRequest, GateRequest, HeaderRules, KindConfig, RenderedResponse, UpstreamAdapter, Violation } from '../types.js';
import { ACCESS_KEY_ACTIONS, ACTION, MODIFY_RULES_ACTION, SECURITY_GROUP_RULE_ACTIONS, isReadAction, operationOf, type AwsOperation } from './actions.js';
import { CallersFile } from './callers.js';
import { awsCredentials, type AwsOptions } from './config.js';
import { FormError, parseForm, structure, type Params } from './form.js';
import { HeldKeyPair } from './held.js';
import { QueryCaller, currentAccessKeys, currentSecurityGroup, egressRuleIds } from './lookup.js';
import { maskAwsInput } from './mask.js';
import { isOperation } from './operations.js';
import { requestedPermissions, updatedRules } from './permissions.js';
import { AWS_FIXES, renderDeny, renderError, warningHeaders, type AwsService } from './render.js';
import { signRequest } from './sign.js';
import { verifySignature } from './verify.js';

export const INPUT_VERSION = 'writegate.dev/v1';

/** Headers copied into the policy input (lower-case). Credentials never are. */
const INPUT_HEADERS = ['content-type', 'user-agent'];

/** The Query protocol's media type; its `charset` may only say UTF-8. */
const FORM = /^application\/x-www-form-urlencoded\s*(;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i;

interface AwsDetail {
  rawPath: string;
  rawQuery: string;
}

/** A request whose signature verified and whose parameters were read (classifyBody). */
interface AwsRequest extends AwsDetail {
  caller: Caller;
  /** The query's pairs (a GET's parameters; none for a POST). */
  query: [string, string][];
  action: string;
  apiVersion: string;
  params: Params;
}

function bad(message: string): WritegateError {
  return new WritegateError('WG_ERR_BAD_REQUEST', message);
}

/** The pairs of a form or query (./form.ts), a malformed one refused as such. */
function formPairs(text: string, caller?: string): [string, string][] {
  try {
    return parseForm(text);
  } catch (err) {
    if (err instanceof FormError) throw new WritegateError('WG_ERR_MALFORMED_BODY', err.message, caller === undefined ? undefined : { details: { caller } });
    throw err;
  }
}

/**
 * An AWS Query-protocol service (IAM, EC2) behind a mount. Every request is buffered, its SigV4 signature verified
 * against the callers file (./verify.ts) and its parameters read (./form.ts); then Get*, List* and Describe* go
 * upstream without a decision and every other action is judged (./actions.ts). Whatever goes upstream is signed
 * again with the key pair the gateway holds (signForward): the caller's own signature is for the gateway's host and
 * path and never leaves the gateway, and the caller never holds the upstream's credential.
 */
export class AwsAdapter implements UpstreamAdapter {
  readonly kind = 'aws';
  /** Every request's SigV4 signature is verified against aws.callers (classifyBody): the caller is the key's. */
  readonly authenticatesCallers = true;
  readonly headers: HeaderRules;
  readonly fixes = AWS_FIXES;
  private readonly service: AwsService;
  private readonly callers: CallersFile;
  private readonly held: HeldKeyPair;
  private readonly query: QueryCaller;
  private readonly upstreamHost: string;

  constructor(private readonly cfg: KindConfig<'aws', AwsOptions>, upstream: UpstreamClient) {
    this.service = cfg.aws.service;
    this.upstreamHost = new URL(cfg.target).host;
    this.callers = new CallersFile(cfg.aws.callers);
    this.held = new HeldKeyPair(cfg.name, awsCredentials.parse(cfg.credentials));
    this.query = new QueryCaller(upstream, this.service, cfg.aws.region, this.held);
    this.headers = withCredentials({
      // The caller's signature and what it signed with: the forwarded request is signed anew (signForward).
      stripped: ['x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token'],
      protected: [],
      // The gateway's own calls are signed by ./lookup.ts with the held pair; nothing of the caller's goes with them.
      credentials: () => ({}),
      callerCredentials: ['authorization'],
    }, upstream.credentials);
  }

  classify(req: GateRequest): Classified {
    if (req.upgrade) throw bad('AWS APIs take no protocol upgrades');
    if (req.method !== 'POST' && req.method !== 'GET') throw bad(`the Query protocol is POST (or GET), not ${req.method}`);
    const { rawPath, rawQuery } = splitUrl(req.url);
    if (rawPath !== '/') throw new WritegateError('WG_ERR_BAD_PATH', `the Query protocol is served at the mount's root ("/"), not ${rawPath.slice(0, 64)}`);
    if (req.method === 'GET' && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) !== 0)) {
      throw bad('a GET request carries its parameters in the query, not in a body');
    }
    // Only the signature over the body, and the Action in it, say who is asking for what: the body is always read.
    const detail: AwsDetail = { rawPath, rawQuery };
    return { isRead: false, needsBody: true, operation: undefined, summary: `${req.method.toLowerCase()} ${this.service}`, detail };
  }

  classifyBody(req: GateRequest, classified: Classified, body: Buffer): Classified {
    const { rawPath, rawQuery } = classified.detail as AwsDetail;
    const query = formPairs(rawQuery);
    // Who is asking: the signature is checked before anything the request says is believed.
    const { caller } = verifySignature(
      { method: req.method, wirePaths: rawQuery === '' ? [this.cfg.prefix, `${this.cfg.prefix}/`] : [`${this.cfg.prefix}/`], query, headers: req.headers, body },
      { region: this.cfg.aws.region, service: this.service }, this.callers, new Date(),
    );
    const refused = (code: 'WG_ERR_BAD_REQUEST' | 'WG_ERR_MALFORMED_BODY' | 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', message: string): WritegateError =>
      new WritegateError(code, message, { details: { caller: caller.username } });
    let pairs = query;
    if (req.method === 'POST') {
      if (rawQuery !== '') throw refused('WG_ERR_BAD_REQUEST', 'a POST request carries its parameters in the form body, not also in the query');
      const type = req.headers['content-type'];
      if (type === undefined || !FORM.test(type)) throw refused('WG_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type ?? '(none)'}: the Query protocol's body is application/x-www-form-urlencoded`);
      if (req.headers['content-encoding'] !== undefined) throw refused('WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'a content-encoded body cannot be judged');
      pairs = formPairs(body.toString('latin1'), caller.username);
    }
    let params: Params;
    try {
      params = structure(pairs);
    } catch (err) {
      if (err instanceof FormError) throw refused('WG_ERR_MALFORMED_BODY', err.message);
      throw err;
    }
    const { Action: action, Version: apiVersion } = params;
    if (typeof action !== 'string' || !ACTION.test(action)) throw refused('WG_ERR_BAD_REQUEST', 'the request names no Action (or an Action that is not an AWS action name)');
    if (!isOperation(this.service, action)) throw refused('WG_ERR_BAD_REQUEST', `Action ${action} is not an operation of ${this.service} (names are exact, case included)`);
    if (typeof apiVersion !== 'string' || apiVersion === '') throw refused('WG_ERR_BAD_REQUEST', 'the request names no Version');
    // The held pair is read now, so that a request that cannot be signed upstream is refused before it is judged.
    this.held.value();
    const detail: AwsRequest = { rawPath, rawQuery, caller, action, apiVersion, params, query: req.method === 'GET' ? query : [] };
    const read = isReadAction(action);
    return { isRead: read, operation: read ? undefined : operationOf(action), summary: `${action} ${this.service}`, detail, caller };
  }

  async buildInput(req: GateRequest, classified: Classified): Promise<Record<string, unknown>> {
    const { caller, action, apiVersion, params, query: pairs } = classified.detail as AwsRequest;
    const operation = classified.operation as AwsOperation;
    const query = Object.fromEntries(pairs.map(([k, v]) => [k, [v]]));
    const request: Record<string, unknown> = {
      operation,
      method: req.method,
      path: '/',
      query,
      service: this.service,
      region: this.cfg.aws.region,
      action,
      apiVersion,
      params,
      oldObject: null,
      userInfo: { ...caller, groups: [...caller.groups], extra: { ...caller.extra } },
    };
    try {
      if (this.service === 'iam' && ACCESS_KEY_ACTIONS.has(action)) {
        const userName = params.UserName;
        // Without UserName, IAM acts on the user whose key signed the request: the gateway's own held identity.
        if (typeof userName !== 'string' || userName === '') throw new WritegateError('WG_ERR_BAD_REQUEST', `${action} needs UserName: without it IAM would act on the gateway's own held identity`, { details: { caller: caller.username } });
        request.oldObject = await currentAccessKeys(this.query, userName, new Date());
      }
      if (this.service === 'ec2' && SECURITY_GROUP_RULE_ACTIONS.has(action)) {
        request.permissions = requestedPermissions(params);
        request.oldObject = await currentSecurityGroup(this.query, params);
      }
      if (this.service === 'ec2' && action === MODIFY_RULES_ACTION) {
        const updates = updatedRules(params);
        const egress = await egressRuleIds(this.query, updates.map((u) => u.ruleId));
        request.permissions = updates.filter((u) => !egress.has(u.ruleId)).map((u) => u.permission);
        request.permissionsEgress = updates.filter((u) => egress.has(u.ruleId)).map((u) => u.permission);
        request.oldObject = await currentSecurityGroup(this.query, params);
      }
    } catch (err) {
      if (err instanceof FormError) throw new WritegateError('WG_ERR_MALFORMED_BODY', err.message, { details: { caller: caller.username } });
      if (isWritegateError(err) && err.details.caller === undefined) err.details.caller = caller.username;
      throw err;
    }
    return {
      version: INPUT_VERSION,
      upstream: this.cfg.name,
      upstreamKind: this.kind,
      method: req.method,
      path: '/',
      query,
      headers: inputHeaders(req.headers, INPUT_HEADERS),
      request,
    };
  }

  signForward(_req: GateRequest, forward: ForwardRequest): Record<string, string | string[]> {
    // The signature covers the Host the upstream sees: the target's, which the forwarder would send anyway.
    const headers = { ...forward.headers, host: this.upstreamHost };
    return signRequest({ ...forward, headers }, this.held.value(), { region: this.cfg.aws.region, service: this.service }, new Date());
  }

  renderDeny(reasons: Violation[], decisionId: string): RenderedResponse {
    return renderDeny(this.service, reasons, decisionId);
  }

  renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse {
    return renderError(this.service, err, decisionId);
  }

  warningHeaders(warnings: Violation[]): string[] {
    return warningHeaders(warnings);
  }

  maskInput(input: Record<string, unknown>): Record<string, unknown> {
    return maskAwsInput(input);
  }
}
