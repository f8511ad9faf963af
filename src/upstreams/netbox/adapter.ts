import { gatewayUserInfo } from '../../auth/caller.js';
import { WritegateError, isWritegateError } from '../../errors.js';
import { inputHeaders } from '../../http/headers.js';
import { decodeJsonBody } from '../../http/json-body.js';
import { decodeRequestPath, parseQuery, splitUrl } from '../../http/path.js';
import type { UpstreamClient } from '../client.js';
import { callHeaders, withCredentials } from '../headers.js';
import type { Classified, GateRequest, HeaderRules, KindConfig, UpstreamAdapter } from '../types.js';
import type { NetboxOptions } from './config.js';
import { assertQueryOnly } from './graphql.js';
import { NetboxIdentity, UNIDENTIFIED, netboxCredentials, type NbUserInfo } from './identity.js';
import { maskNetboxInput } from './mask.js';
import { netboxTarget, type NbTarget } from './paths.js';
import { NETBOX_FIXES, renderDeny, renderError, warningHeaders } from './render.js';
import { CurrentReader, bulkItems, isObject, updated, type Json } from './resolve.js';

export const INPUT_VERSION = 'writegate.dev/v1';

/** Methods that read: NetBox's GET, HEAD and OPTIONS views change nothing (Django REST framework's safe methods). */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The write methods of NetBox's REST API and their operations; any other method is refused, not guessed. */
const OPERATIONS: Record<string, 'CREATE' | 'UPDATE' | 'DELETE'> = { POST: 'CREATE', PUT: 'UPDATE', PATCH: 'UPDATE', DELETE: 'DELETE' };

/** NetBox's read-only GraphQL endpoint (netbox/netbox/urls.py), judged by its body. */
const GRAPHQL = '/graphql/';

/** Headers copied into the policy input (lower-case). Credentials never are. */
const INPUT_HEADERS = ['content-type', 'user-agent'];

interface NbDetail {
  target: NbTarget;
  rawPath: string;
  path: string;
  query: Record<string, string[]>;
}

/**
 * The NetBox REST API behind a mount: reads and GraphQL queries pass, writes are judged as policies/README.md
 * describes. NetBox must serve under the mount's path (its BASE_PATH, the target URL's path): the absolute URLs it
 * answers (`url`, pagination `next`/`previous`) are built from the request's path and from the X-Forwarded-Host
 * and -Proto the gateway sets, so they point at the gateway's mount and clients that follow them (pynetbox's
 * save(), delete(), .all()) come back through the gate. No response body is rewritten.
 */
export class NetboxAdapter implements UpstreamAdapter {
  readonly kind = 'netbox';
  private readonly identity: NetboxIdentity | undefined;

  constructor(private readonly cfg: KindConfig<'netbox', NetboxOptions>, upstream: UpstreamClient) {
    const base = new URL(cfg.target).pathname.replace(/\/$/, '');
    if (base !== cfg.prefix) {
      throw new WritegateError('WG_ERR_CONFIG_INVALID', `upstream ${cfg.name}: NetBox must serve under the mount's path: `
        + `set its BASE_PATH to "${cfg.prefix.slice(1)}/" and the target to its URL with that path (e.g. http://netbox:8080${cfg.prefix}), `
        + `or the absolute URLs it answers would bypass or miss the mount`);
    }
    this.identity = cfg.identity === 'upstream' ? new NetboxIdentity(upstream) : undefined;
    this.headers = withCredentials({
      // The gateway tells NetBox who connected and where (added below); a client's own forwarding headers would make
      // NetBox build its URLs for another host or check a token's allowed IPs against an address the client chose.
      stripped: ['x-forwarded-', 'forwarded', 'x-real-ip'],
      protected: [],
      credentials: (req) => netboxCredentials(req.headers, req.remoteAddress),
      // A session cookie or an API token (./identity.ts).
      callerCredentials: ['authorization', 'cookie'],
      added: (req) => forwardedFor(req),
    }, upstream.credentials);
  }

  readonly headers: HeaderRules;

  readonly fixes = NETBOX_FIXES;

  classify(req: GateRequest): Classified {
    if (req.upgrade) throw new WritegateError('WG_ERR_BAD_REQUEST', 'the NetBox API takes no protocol upgrades');
    // gunicorn (forwarder_headers, from a trusted peer such as the gateway) and WSGI servers map a header with "_"
    // onto a CGI variable: `SCRIPT_NAME: /netbox/api/ipam` moves that prefix out of the routed path, so NetBox
    // would execute another path than the one judged (test/netbox/README.md).
    const underscore = Object.keys(req.headers).find((h) => h.includes('_'));
    if (underscore !== undefined) throw new WritegateError('WG_ERR_BAD_REQUEST', `header "${underscore}": header names with "_" are not forwarded to NetBox`);
    const { rawPath, rawQuery } = splitUrl(req.url);
    const path = decodeRequestPath(rawPath);
    const query = parseQuery(rawQuery);
    if (READS.has(req.method)) return { isRead: true, operation: undefined, summary: `${req.method.toLowerCase()} ${path}`, detail: undefined };
    if (req.method === 'POST' && path === GRAPHQL) return { isRead: false, needsBody: true, operation: undefined, summary: 'graphql', detail: undefined };
    const operation = OPERATIONS[req.method];
    if (!operation) throw new WritegateError('WG_ERR_BAD_REQUEST', `the NetBox API has no ${req.method} writes`);
    if (!path.startsWith('/api/')) throw new WritegateError('WG_ERR_BAD_PATH', 'a write outside /api/ (this mount gates the NetBox REST API)');
    // Django answers a path without its trailing slash with a redirect (APPEND_SLASH), never with the write.
    if (!path.endsWith('/')) throw new WritegateError('WG_ERR_BAD_PATH', `${path}: NetBox API paths end with "/"`);
    const target = netboxTarget(path);
    const summary = `${req.method.toLowerCase()} ${target.resource}${target.id !== null ? ` ${target.id}` : ''}${target.subResource ? ` ${target.subResource}` : ''}`;
    const detail: NbDetail = { target, rawPath, path, query };
    return { isRead: false, operation, summary, detail };
  }

  classifyBody(req: GateRequest, _classified: Classified, body: Buffer): Classified {
    const parsed = decodeJsonBody(req.headers, body);
    // strawberry-graphql's view takes one operation request: {"query", "variables"?, "operationName"?}.
    if (!isObject(parsed) || typeof parsed.query !== 'string') {
      throw new WritegateError('WG_ERR_BAD_REQUEST', 'a GraphQL request is a JSON object with a "query" string');
    }
    assertQueryOnly(parsed.query);
    return { isRead: true, operation: undefined, summary: 'graphql query', detail: undefined };
  }

  async buildInput(req: GateRequest, classified: Classified, body: Buffer | undefined, upstream: UpstreamClient): Promise<Record<string, unknown>> {
    const creds = this.headers.credentials(req);
    // Who the caller is comes first, so that a write refused below is still logged with its caller.
    const user = this.cfg.identity === 'gateway' ? gatewayUserInfo(req.caller) : this.identity ? await this.identity.resolve(creds) : UNIDENTIFIED;
    try {
      // The gateway's reads carry the forwarding headers too, so the current object's URLs are the ones the
      // caller sees through the mount.
      const reader = new CurrentReader(upstream, callHeaders(creds, { ...forwardedFor(req), accept: 'application/json' }));
      return await this.resolveInput(req, classified, body ?? Buffer.alloc(0), reader, user);
    } catch (err) {
      if (isWritegateError(err)) err.details.caller = user.username;
      throw err;
    }
  }

  private async resolveInput(req: GateRequest, classified: Classified, bytes: Buffer, reader: CurrentReader, user: NbUserInfo): Promise<Record<string, unknown>> {
    const { target, rawPath, path, query } = classified.detail as NbDetail;
    const method = req.method;
    const operation = classified.operation as 'CREATE' | 'UPDATE' | 'DELETE';
    // NetBox parses JSON (REST_FRAMEWORK DEFAULT_PARSER_CLASSES: JSONParser, and MultiPartParser for image
    // attachments, which cannot be judged exactly and are refused) and answers 415 to other media types.
    const parsed = decodeJsonBody(req.headers, bytes) as Json;

    let object: Json = null;
    let oldObject: Json = null;
    let items: Awaited<ReturnType<typeof bulkItems>> | undefined;
    if (method === 'POST') {
      // A create, a list action (users/tokens/provision) or a detail action (available-ips, a script's run): the
      // object is the body; a list body on the list endpoint is a bulk create.
      if (Array.isArray(parsed) && target.id === null && !target.subResource) items = await bulkItems(method, parsed, rawPath, reader);
      else object = isObject(parsed) ? parsed : null;
    } else if (target.subResource) {
      throw new WritegateError('WG_ERR_BAD_REQUEST', `NetBox takes only POST on ${path}`);
    } else if (target.id === null) {
      // NetBox's router maps every PUT, PATCH and DELETE of a list endpoint to a bulk action, which refuses a body
      // that is not a list (netbox/netbox/api/viewsets/mixins.py get_non_list_response).
      if (!Array.isArray(parsed)) throw new WritegateError('WG_ERR_BAD_REQUEST', `a ${method} of the list endpoint ${path} is a bulk write: send a list of objects with their "id"`);
      items = await bulkItems(method, parsed, rawPath, reader);
    } else {
      if (method !== 'DELETE' && !isObject(parsed)) throw new WritegateError('WG_ERR_BAD_REQUEST', `a ${method} of ${path} takes one JSON object`);
      const current = await reader.readWithTag(rawPath);
      oldObject = current.object;
      if (method !== 'DELETE') object = updated(oldObject, parsed);
      pin(req, classified, bytes, current.etag);
    }

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
        name: target.id === null ? '' : String(target.id),
        app: target.app,
        model: target.model,
        id: target.id,
        ...(target.subResource ? { subResource: target.subResource } : {}),
        ...(items ? { items } : {}),
      },
    };
  }

  renderDeny = renderDeny;
  renderError = renderError;
  warningHeaders = warningHeaders;

  maskInput(input: Record<string, unknown>): Record<string, unknown> {
    return maskNetboxInput(input);
  }
}

/**
 * Pins a single update or delete to the version of the object the policy was shown: NetBox (≥ 4.6) answers a
 * detail GET with a weak ETag from `last_updated` and checks `If-Match` on PUT, PATCH and DELETE, again under a row
 * lock before it writes (netbox/netbox/api/viewsets/__init__.py ETagMixin, perform_update, perform_destroy), so a
 * concurrent write in between makes it answer 412 instead of applying a write nobody judged. A client's own
 * If-Match (other than `*`) is left alone: it names the version judged, or a version the object no longer has
 * (timestamps only grow), which NetBox refuses. Without an ETag (an object without timestamps) the write is not
 * pinned. The body goes as the client sent it.
 */
function pin(req: GateRequest, classified: Classified, bytes: Buffer, etag: string | undefined): void {
  const own = req.headers['if-match'];
  if (etag === undefined || (own !== undefined && own.trim() !== '*')) return;
  classified.forward = { body: bytes, contentType: req.headers['content-type'] ?? 'application/json', precondition: { etag }, headers: { 'if-match': etag } };
}

/**
 * What NetBox is told about the client's connection: the host and scheme it reached the gateway by (Django builds
 * absolute URLs from X-Forwarded-Host, NetBox setting USE_X_FORWARDED_HOST, and from X-Forwarded-Proto, its
 * SECURE_PROXY_SSL_HEADER) and the address it connected from (a token's allowed IPs are checked against
 * X-Forwarded-For).
 */
function forwardedFor(req: GateRequest): Record<string, string> {
  const out: Record<string, string> = { 'x-forwarded-proto': req.secure ? 'https' : 'http' };
  const host = req.headers.host;
  if (typeof host === 'string') out['x-forwarded-host'] = host;
  if (req.remoteAddress !== '') out['x-forwarded-for'] = req.remoteAddress;
  return out;
}
