import { gatewayUserInfo } from '../../auth/caller.js';
import { WritegateError, isWritegateError } from '../../errors.js';
import { inputHeaders } from '../../http/headers.js';
import { decodeRequestPath, parseQuery, splitUrl } from '../../http/path.js';
import type { UpstreamClient } from '../client.js';
import type { Classified, GateRequest, HeaderRules, KindConfig, RenderedResponse, UpstreamAdapter } from '../types.js';
import { decodeJsonBody } from '../../http/json-body.js';
import type { CloudflareOptions } from './config.js';
import { withCredentials } from '../headers.js';
import { CREDENTIAL_HEADERS, CloudflareIdentity, UNIDENTIFIED, cloudflareCredentials, type CfUserInfo } from './identity.js';
import { maskCloudflareInput } from './mask.js';
import { cloudflareTarget, type CfTarget } from './paths.js';
import { CLOUDFLARE_FIXES, fixFor, renderDeny, renderError, warningHeaders } from './render.js';
import {
  CurrentReader, afterUpdate, assertFieldNames, batchWrites, isObject, rulesetAfterPut, rulesetAfterRuleWrite, type CfWrite, type Json,
} from './resolve.js';
import { ZoneNames } from './zones.js';

export const INPUT_VERSION = 'writegate.dev/v1';

/** Methods that read: Cloudflare's API changes nothing on them (API reference: every GET lists or reads). */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The write methods of the API v4 and their operations; any other method is refused, not guessed. */
const OPERATIONS: Record<string, CfWrite['operation']> = { POST: 'CREATE', PUT: 'UPDATE', PATCH: 'UPDATE', DELETE: 'DELETE' };

/** Headers copied into the policy input (lower-case). Credentials never are. */
const INPUT_HEADERS = ['content-type', 'user-agent'];

interface CfDetail {
  target: CfTarget;
  rawPath: string;
  path: string;
  query: Record<string, string[]>;
}

/**
 * DNS record and ruleset bodies as Cloudflare documents them: a JSON object (or none), with ASCII snake_case field
 * names checked this deep (./resolve.ts assertFieldNames). The rules on them read `object`, which a list body
 * would leave null.
 */
function checkBody(target: CfTarget, body: Json): void {
  if (target.resource !== 'dns_records' && target.resource !== 'rulesets') return;
  if (body !== null && !isObject(body)) throw new WritegateError('WG_ERR_BAD_REQUEST', `a ${target.resource} body is a JSON object`);
  if (target.resource === 'dns_records' && target.shape !== 'dns-batch') assertFieldNames(body, 'the DNS record', 1);
  if (target.resource === 'rulesets') assertFieldNames(body, target.shape === 'ruleset-rule' ? 'the rule' : 'the ruleset', target.shape === 'ruleset-rule' ? 1 : 2);
}

/**
 * The current state a write other than a create acts on must be one object: a collection answered as a list (a
 * PUT or DELETE of a whole collection) would leave the policy a list to judge where it expects an object.
 */
function oneObject(v: Json, rawPath: string): Json {
  if (v !== null && !isObject(v)) {
    throw new WritegateError('WG_ERR_BAD_REQUEST', `${rawPath} is a collection; writes to a whole collection are not judged: write to its objects one by one`);
  }
  return v;
}

/** The segment of a raw path before its last one (the trailing slash decodeRequestPath allows is dropped first). */
function parentOf(rawPath: string): string {
  const p = rawPath.replace(/\/$/, '');
  return p.slice(0, p.lastIndexOf('/'));
}

/** The Cloudflare API v4 (/client/v4/...): reads pass, writes are judged as policies/README.md describes. */
export class CloudflareAdapter implements UpstreamAdapter {
  readonly kind = 'cloudflare';
  private readonly identity: CloudflareIdentity | undefined;
  private readonly zones = new ZoneNames();

  readonly headers: HeaderRules;

  constructor(private readonly cfg: KindConfig<'cloudflare', CloudflareOptions>, upstream: UpstreamClient) {
    this.identity = cfg.identity === 'upstream' ? new CloudflareIdentity(upstream) : undefined;
    this.headers = withCredentials({
      stripped: [],
      // The global key's headers say who Cloudflare acts as; a Connection header listing one would make the policy
      // judge a caller the upstream never sees (Authorization is protected for every kind).
      protected: ['x-auth-email', 'x-auth-key', 'x-auth-user-service-key'],
      credentials: (req) => cloudflareCredentials(req.headers),
      callerCredentials: CREDENTIAL_HEADERS,
    }, upstream.credentials);
  }

  readonly fixes = CLOUDFLARE_FIXES;

  classify(req: GateRequest): Classified {
    // The API v4 switches no protocols; an upgrade answered as a plain request would be judged as something else.
    if (req.upgrade) throw new WritegateError('WG_ERR_BAD_REQUEST', 'the Cloudflare API takes no protocol upgrades');
    const { rawPath, rawQuery } = splitUrl(req.url);
    const path = decodeRequestPath(rawPath);
    const query = parseQuery(rawQuery);
    if (READS.has(req.method)) return { isRead: true, operation: undefined, summary: `${req.method.toLowerCase()} ${path}`, detail: undefined };
    const operation = OPERATIONS[req.method];
    if (!operation) throw new WritegateError('WG_ERR_BAD_REQUEST', `the Cloudflare API has no ${req.method} writes`);
    const target = cloudflareTarget(rawPath);
    const scope = target.zone || target.account;
    const summary = `${req.method.toLowerCase()} ${target.resource} ${scope}${target.name && target.name !== scope ? `/${target.name}` : ''}`.trim();
    const detail: CfDetail = { target, rawPath, path, query };
    // A write to one rule is an update of the ruleset that holds it (policies/README.md).
    return { isRead: false, operation: target.shape === 'ruleset-rule' ? 'UPDATE' : operation, summary, detail };
  }

  async buildInput(req: GateRequest, classified: Classified, body: Buffer | undefined, upstream: UpstreamClient): Promise<Record<string, unknown>> {
    const creds = this.headers.credentials(req);
    // Who the caller is comes first, so that a write refused below is still logged with its caller.
    const user = this.cfg.identity === 'gateway' ? gatewayUserInfo(req.caller) : this.identity ? await this.identity.resolve(creds) : UNIDENTIFIED;
    try {
      return await this.resolveInput(req, classified, body ?? Buffer.alloc(0), new CurrentReader(upstream, creds), user);
    } catch (err) {
      if (isWritegateError(err)) err.details.caller = user.username;
      throw err;
    }
  }

  private async resolveInput(req: GateRequest, classified: Classified, bytes: Buffer, reader: CurrentReader, user: CfUserInfo): Promise<Record<string, unknown>> {
    const { target, rawPath, path, query } = classified.detail as CfDetail;
    const method = req.method;
    const parsed = decodeJsonBody(req.headers, bytes) as Json;
    checkBody(target, parsed);

    let account = target.account;
    let zoneName = '';
    if (target.zonePath) ({ name: zoneName, account } = await this.zones.lookup(target.zonePath, reader));

    let operation = classified.operation as CfWrite['operation'];
    let name = target.name;
    let object: Json = null;
    let oldObject: Json = null;
    let items: CfWrite[] | undefined;
    if (target.shape === 'dns-batch') {
      if (method !== 'POST') throw new WritegateError('WG_ERR_BAD_REQUEST', `${method} on dns_records/batch`);
      items = await batchWrites(parsed, parentOf(rawPath), reader);
    } else if (target.shape === 'ruleset-rule') {
      oldObject = oneObject(await reader.read(target.rulesetPath!), rawPath);
      object = rulesetAfterRuleWrite(method, target, oldObject, parsed);
    } else if (method === 'POST') {
      object = isObject(parsed) ? parsed : null;
      if (target.resource === 'zones' && isObject(parsed) && isObject(parsed.account) && typeof parsed.account.id === 'string') account = parsed.account.id;
    } else if (target.shape === 'entrypoint' && method === 'PUT') {
      // "Updates an entry point ruleset, creating it if necessary" (API reference): no entrypoint yet is a create.
      oldObject = oneObject(await reader.read(rawPath, null), rawPath);
      if (oldObject === null) operation = 'CREATE';
      if (isObject(oldObject) && typeof oldObject.id === 'string') name = oldObject.id;
      object = rulesetAfterPut(oldObject, parsed, decodeURIComponent(rawPath.replace(/\/$/, '').split('/').at(-2)!));
    } else {
      // An object Cloudflare says does not exist is `oldObject: null`; the write then meets Cloudflare's own 404.
      oldObject = oneObject(await reader.read(rawPath, null), rawPath);
      if (method === 'PUT' && target.resource === 'rulesets') object = rulesetAfterPut(oldObject, parsed, undefined);
      else if (method !== 'DELETE') object = afterUpdate(method, oldObject, parsed);
    }
    if (operation !== classified.operation) classified.operation = operation;

    const headers = inputHeaders(req.headers, INPUT_HEADERS);
    return {
      version: INPUT_VERSION,
      upstream: this.cfg.name,
      upstreamKind: this.kind,
      method,
      path,
      query,
      headers,
      request: {
        operation,
        method,
        path,
        query,
        body: parsed,
        object,
        oldObject,
        userInfo: user,
        resource: target.resource,
        name,
        account,
        zone: target.zone,
        zoneName,
        ...(items ? { items } : {}),
      },
    };
  }

  renderDeny = renderDeny;
  warningHeaders = warningHeaders;

  renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse {
    return renderError(err, decisionId, fixFor(err.code));
  }

  maskInput(input: Record<string, unknown>): Record<string, unknown> {
    return maskCloudflareInput(input);
  }
}
