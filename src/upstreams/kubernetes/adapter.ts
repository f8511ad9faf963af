import { randomUUID } from 'node:crypto';
import { inputHeaders } from '../../http/headers.js';
import type { IncomingHttpHeaders } from 'node:http';
import { WritegateError, errorCatalogue, isWritegateError } from '../../errors.js';
import { decodeRequestPath, parseQuery, splitUrl } from '../../http/path.js';
import type { UpstreamClient, UpstreamResponse } from '../client.js';
import { callHeaders, withCredentials } from '../headers.js';
import type { Classified, ForwardedBody, GateRequest, HeaderRules, KindConfig, RenderedResponse, UpstreamAdapter } from '../types.js';
import type { KubernetesOptions } from './config.js';
import { KubeCallerIdentity, KubeTokenReview, credentialHeaders, impersonatedUser, isWebSocketUpgrade, type ImpersonatedUser, type UserInfo } from './identity.js';
import { kindOf, subresourceKind } from './kinds.js';
import { decodeJson, decodeWriteBody } from './body.js';
import { maskKubeInput } from './mask.js';
import { PROTOBUF, pinProtobufDeleteOptions, queryBool, writeOptions } from './options.js';
import { applyKubePatch, KubePatchError } from './patch.js';
import { pinJsonPatch, pinObjectBody } from './pin.js';
import { decodeKubeProtobuf } from './protobuf.js';
import { kubeRequestInfo, type AdmissionOperation, type KubeRequestInfo } from './request-info.js';
import { KUBE_FIXES, renderDeny, renderError, warningHeaders } from './render.js';
import { decodeKubeYaml } from './yaml.js';

export const INPUT_VERSION = 'writegate.dev/v1';

/** Headers copied into the policy input (lower-case). Credentials never are. */
const INPUT_HEADERS = [
  'content-type', 'user-agent', 'kubectl-command', 'kubectl-session', 'impersonate-user', 'impersonate-group',
  'impersonate-uid', 'x-request-id',
];

const PATCH_TYPES = new Set([
  'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml',
]);

interface KubeDetail {
  info: KubeRequestInfo;
  rawPath: string;
  rawQuery: string;
  query: Record<string, string[]>;
}

function mediaType(headers: IncomingHttpHeaders): string {
  const ct = headers['content-type'];
  return (typeof ct === 'string' ? ct.split(';')[0] ?? '' : '').trim().toLowerCase();
}

function first(query: Record<string, string[]>, key: string): string | undefined {
  return query[key]?.[0];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** PodExecOptions and friends, from the query the way the apiserver's connect handlers read it. */
function connectOptions(info: KubeRequestInfo, query: Record<string, string[]>): Record<string, unknown> {
  const sk = subresourceKind(info.resource, info.subresource);
  const kind = sk?.kind ?? 'ConnectOptions';
  const flag = (k: string): boolean => query[k] !== undefined && queryBool(query[k]);
  const opts: Record<string, unknown> = { kind, apiVersion: 'v1' };
  if (info.subresource === 'exec' || info.subresource === 'attach') {
    if (info.subresource === 'exec') opts.command = query.command ?? [];
    if (first(query, 'container') !== undefined) opts.container = first(query, 'container');
    opts.stdin = flag('stdin');
    opts.stdout = flag('stdout');
    opts.stderr = flag('stderr');
    opts.tty = flag('tty');
  } else if (info.subresource === 'portforward') {
    // metav1 Convert_Slice_string_To_Slice_int32: every comma-separated part is strconv.ParseUint(part, 10, 16), and
    // anything else is a 400 from the apiserver, so it is refused here rather than read some other way.
    opts.ports = (query.ports ?? []).flatMap((p) => p.split(',')).map((p) => {
      if (!/^[0-9]+$/.test(p) || Number(p) > 65535) throw new WritegateError('WG_ERR_BAD_REQUEST', 'ports must be decimal port numbers (the apiserver refuses others)');
      return Number(p);
    });
  } else if (info.subresource === 'proxy') {
    const parts = info.path.split('/');
    const at = parts.indexOf('proxy');
    opts.path = at === -1 ? '' : `/${parts.slice(at + 1).join('/')}`;
  }
  return opts;
}

function dryRunUrl(rawPath: string, rawQuery: string): string {
  const q = parseQuery(rawQuery);
  if (q.dryRun?.includes('All')) return rawQuery ? `${rawPath}?${rawQuery}` : rawPath;
  return `${rawPath}?${rawQuery ? `${rawQuery}&` : ''}dryRun=All`;
}

function jsonOf(res: UpstreamResponse): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function rejected(res: UpstreamResponse, what: string): WritegateError {
  return new WritegateError('WG_ERR_RESOLVE_FAILED', `${what} answered ${res.status}`, {
    details: { upstreamResponse: { status: res.status, headers: res.headers, body: res.body } },
  });
}

function decodeLocally(bytes: Buffer): Record<string, unknown> {
  try {
    return decodeKubeProtobuf(bytes) as Record<string, unknown>;
  } catch (err) {
    throw new WritegateError('WG_ERR_MALFORMED_BODY', (err as Error).message, { cause: err });
  }
}

/**
 * The apiserver gives a body without a namespace the one of the path before
 * admission and storage (rest.EnsureObjectNamespaceMatchesRequestNamespace in
 * the create and update handlers), and `kubectl create` sends none. A
 * Namespace's own path names the object, not a namespace it lives in.
 */
export function inRequestNamespace(obj: Record<string, unknown>, info: KubeRequestInfo): Record<string, unknown> {
  if (!info.namespace || (info.apiGroup === '' && info.resource === 'namespaces')) return obj;
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  if (typeof meta.namespace === 'string' && meta.namespace !== '') return obj;
  return { ...obj, metadata: { ...meta, namespace: info.namespace } };
}

interface Resolved {
  object: Record<string, unknown>;
  oldObject: Record<string, unknown> | null;
  created: boolean;
  /** The object is the upstream's answer to a dry run of this very write. */
  dryRun: boolean;
  /** The precondition on the old object's version: the body to forward (undefined: the client's carries its own). */
  pin: { forward: ForwardedBody | undefined } | undefined;
}

/** A dry run the apiserver answered with 409 Conflict. */
function isConflict(err: unknown): boolean {
  return isWritegateError(err) && (err.details.upstreamResponse as { status?: number } | undefined)?.status === 409;
}

function resourceVersionOf(o: Record<string, unknown> | null): string {
  return o && isObject(o.metadata) && typeof o.metadata.resourceVersion === 'string' ? o.metadata.resourceVersion : '';
}

/**
 * The client's body plus a precondition on `rv` (./pin.ts), or undefined when the client's body already carries
 * one. A YAML body that needs one is forwarded as the JSON it decoded to (./yaml.ts refuses what it cannot decode
 * exactly as the apiserver does); a protobuf update must carry its own.
 */
function pinned(bytes: Buffer, type: string, parsed: unknown, rv: string, contentType: string): ForwardedBody | undefined {
  const text = bytes.toString('utf8');
  const precondition = { resourceVersion: rv };
  const withText = (body: string | undefined, ct = contentType): ForwardedBody | undefined =>
    body === undefined ? undefined : { body: Buffer.from(body), contentType: ct, precondition };
  if (type === PROTOBUF) {
    if (resourceVersionOf(decodeLocally(bytes))) return undefined;
    throw new WritegateError('WG_ERR_BAD_REQUEST', 'a protobuf update must carry metadata.resourceVersion');
  }
  if (type === 'application/json-patch+json') return withText(pinJsonPatch(text, rv));
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    if (isJsonText(text)) return withText(pinObjectBody(text, rv));
    if (!isObject(parsed)) throw new WritegateError('WG_ERR_MALFORMED_BODY', 'the body must be a YAML object');
    if (resourceVersionOf(parsed)) return undefined;
    const meta = isObject(parsed.metadata) ? parsed.metadata : {};
    // apply-patch+yaml takes JSON as it is; a YAML update body becomes an application/json one.
    return withText(JSON.stringify({ ...parsed, metadata: { ...meta, resourceVersion: rv } }), type === 'application/yaml' ? 'application/json' : contentType);
  }
  return withText(pinObjectBody(text, rv));
}

/**
 * The DELETE's options plus `preconditions.resourceVersion = rv`, as the body to forward (./pin.ts, and
 * ./options.ts for protobuf), or undefined when the client's options carry one. A DELETE without a body took its
 * options from the query; the same options go as a JSON body, which the apiserver reads instead of the query.
 */
function pinnedDelete(bytes: Buffer, type: string, options: Record<string, unknown>, rv: string, contentType: string): ForwardedBody | undefined {
  const precondition = { resourceVersion: rv };
  const withBody = (body: Buffer | string | undefined, ct = contentType): ForwardedBody | undefined =>
    body === undefined ? undefined : { body: Buffer.from(body), contentType: ct, precondition };
  if (bytes.length === 0) {
    return withBody(JSON.stringify({ ...options, kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', preconditions: precondition }), 'application/json');
  }
  if (type === PROTOBUF) return withBody(pinProtobufDeleteOptions(bytes, rv));
  const text = bytes.toString('utf8');
  if (type === 'application/yaml' && !isJsonText(text)) {
    const current = isObject(options.preconditions) ? options.preconditions : {};
    if (current.resourceVersion) return undefined;
    const doc = decodeKubeYaml(text) as Record<string, unknown>;
    const pre = isObject(doc.preconditions) ? doc.preconditions : {};
    return withBody(JSON.stringify({ ...doc, preconditions: { ...pre, resourceVersion: rv } }), 'application/json');
  }
  return withBody(pinObjectBody(text, rv, 'preconditions', true));
}

function isJsonText(text: string): boolean {
  try {
    decodeJson(text);
    return true;
  } catch {
    return false;
  }
}

/** What {@link admissionReview} assembles: the request as the gateway read it and the objects it resolved. */
export interface AdmissionParts {
  info: KubeRequestInfo;
  method: string;
  query: Record<string, string[]>;
  /** The client's request headers; only the allow-listed ones reach the input. */
  headers: IncomingHttpHeaders;
  /** The upstream's name in the gateway config. */
  upstream: string;
  operation: AdmissionOperation | undefined;
  object: Record<string, unknown> | null;
  oldObject: Record<string, unknown> | null;
  /** The body as decoded from the client's bytes (undefined without one): it names a create's object. */
  parsed: unknown;
  userInfo: UserInfo;
  /** The identity the request asks the apiserver to act as (`Impersonate-*`); none (null) when left out. */
  impersonatedUser?: ImpersonatedUser | null;
  dryRun: boolean;
  options: Record<string, unknown> | null;
}

/**
 * The policy input of a Kubernetes write, shaped as `AdmissionReview` (policies/README.md), from what the adapter
 * read and resolved. No I/O: `writegate check kubernetes` (src/check/kubernetes.ts) builds a manifest's CREATE with
 * it, so that the same rules fire there as in the gateway.
 */
export function admissionReview(p: AdmissionParts): Record<string, unknown> {
  const { info, object, oldObject, parsed, operation } = p;
  const sk = info.subresource ? subresourceKind(info.resource, info.subresource) : undefined;
  const objKind = (o: Record<string, unknown> | null): string => (o && typeof o.kind === 'string' ? o.kind : '');
  const kind = sk ?? { group: info.apiGroup, version: info.apiVersion, kind: objKind(object) || objKind(oldObject) || kindOf(info.apiGroup, info.resource) };
  const resource = { group: info.apiGroup, version: info.apiVersion, resource: info.resource };
  const headers = inputHeaders(p.headers, INPUT_HEADERS);
  // A create's name is the one its body gives ("" for generateName), not one a dry run generated.
  const named = (o: unknown): string => (isObject(o) && isObject(o.metadata) && typeof o.metadata.name === 'string' ? o.metadata.name : '');
  const name = info.name || (isObject(parsed) ? named(parsed) : named(object));
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind,
      resource,
      ...(info.subresource ? { subResource: info.subresource } : {}),
      requestKind: kind,
      requestResource: resource,
      ...(info.subresource ? { requestSubResource: info.subresource } : {}),
      name,
      namespace: info.namespace,
      operation,
      userInfo: p.userInfo,
      impersonatedUser: p.impersonatedUser ?? null,
      object,
      oldObject,
      dryRun: p.dryRun,
      options: p.options,
    },
    version: INPUT_VERSION,
    upstream: p.upstream,
    upstreamKind: 'kubernetes',
    verb: info.verb,
    method: p.method,
    path: info.path,
    query: p.query,
    headers,
  };
}

/** The WebSocket subprotocol that carries a bearer token (k8s.io/apiserver/pkg/authentication/request/websocket). */
const BEARER_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';

/**
 * What a caller may not send when the gateway holds the upstream credential. `Impersonate-*`: the apiserver would
 * check the gateway's right to impersonate, not the caller's, so any caller could act as anyone the gateway may
 * (reads included, which no policy judges); the gateway impersonates the authenticated caller itself when told to
 * (`impersonate: true`). A bearer token subprotocol: a second credential beside the gateway's, which the apiserver
 * would accept in its place if the gateway's failed.
 */
function refuseWithHeldCredential(headers: IncomingHttpHeaders): WritegateError | undefined {
  const impersonation = Object.keys(headers).find((h) => h.startsWith('impersonate-'));
  if (impersonation !== undefined) {
    return new WritegateError('WG_ERR_BAD_REQUEST', `header ${impersonation}: the gateway holds this upstream's credential, so callers cannot ask it to impersonate`);
  }
  const protocols = headers['sec-websocket-protocol'];
  if ((Array.isArray(protocols) ? protocols.join(',') : protocols ?? '').includes(BEARER_PROTOCOL)) {
    return new WritegateError('WG_ERR_BAD_REQUEST', 'a bearer token subprotocol: the gateway holds this upstream\'s credential');
  }
  return undefined;
}

export class KubernetesAdapter implements UpstreamAdapter {
  readonly kind = 'kubernetes';
  private readonly identity: KubeCallerIdentity;
  readonly tokenReviewer: KubeTokenReview | undefined;
  readonly headers: HeaderRules;

  constructor(private readonly cfg: KindConfig<'kubernetes', KubernetesOptions>, upstream: UpstreamClient) {
    this.identity = new KubeCallerIdentity(cfg.identity, upstream);
    this.tokenReviewer = cfg.identity === 'tokenreview' ? new KubeTokenReview(upstream) : undefined;
    this.headers = withCredentials({
      // kube-apiserver's request-header (front proxy) authentication trusts these only from a front-proxy client
      // certificate, which the gateway may hold, so a client's own values never go upstream.
      stripped: ['x-remote-user', 'x-remote-group', 'x-remote-uid', 'x-remote-extra-'],
      // Who the apiserver acts as: a Connection header listing one would make the policy judge another caller.
      protected: ['impersonate-', 'x-remote-'],
      credentials: (req) => credentialHeaders(req.headers, isWebSocketUpgrade(req.upgrade, req.headers)),
      callerCredentials: ['authorization'],
      refuseHeld: refuseWithHeldCredential,
    }, upstream.credentials);
  }

  classify(req: GateRequest): Classified {
    const { rawPath, rawQuery } = splitUrl(req.url);
    const path = decodeRequestPath(rawPath);
    const query = parseQuery(rawQuery);
    const info = kubeRequestInfo(req.method, path, query, req.upgrade);
    // The apiserver switches protocols only on connect subresources (exec, attach, portforward, proxy; their
    // handlers take GET and POST). Anywhere else it answers an Upgrade as the plain request, which is not what a
    // gated CONNECT judged (a read upgrade answered 200 once left a raw pipe to the upstream), so it is refused.
    if (req.upgrade && !(info.verb === 'connect' && (req.method === 'GET' || req.method === 'POST'))) {
      throw new WritegateError('WG_ERR_BAD_REQUEST', 'a protocol upgrade is accepted only on exec, attach, portforward and proxy (GET or POST)');
    }
    const group = info.apiGroup ? `.${info.apiGroup}` : '';
    const target = info.isResourceRequest
      ? `${info.resource}${group}${info.subresource ? `/${info.subresource}` : ''} ${info.namespace ? `${info.namespace}/` : ''}${info.name}`.trim()
      : path;
    const detail: KubeDetail = { info, rawPath, rawQuery, query };
    return { isRead: info.isRead, operation: info.operation, summary: `${info.verb} ${target}`, detail };
  }

  async buildInput(req: GateRequest, classified: Classified, body: Buffer | undefined, upstream: UpstreamClient): Promise<Record<string, unknown>> {
    const bytes = body ?? Buffer.alloc(0);
    const encoding = req.headers['content-encoding'];
    if (bytes.length > 0 && encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      // The policy must read the bytes the upstream stores; an encoded body would be evaluated as something else.
      throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', `content encoding "${encoding}" for a write`);
    }
    // Who the caller is comes first, so that a write refused below is still logged with its caller.
    const creds = this.headers.credentials(req);
    const user: UserInfo = await this.identity.resolve(req.caller, creds);
    try {
      return await this.resolveInput(req, classified, bytes, upstream, user, creds);
    } catch (err) {
      if (isWritegateError(err)) err.details.caller = user.username;
      throw err;
    }
  }

  private async resolveInput(
    req: GateRequest, classified: Classified, bytes: Buffer, upstream: UpstreamClient, user: UserInfo, creds: Record<string, string | string[]>,
  ): Promise<Record<string, unknown>> {
    const { info, rawPath, rawQuery, query } = classified.detail as KubeDetail;
    const type = mediaType(req.headers);
    // Go's url.ParseQuery (what the apiserver's req.URL.Query() runs) drops every pair with a raw ";" in it, so
    // such a parameter would count for the policy and not upstream (an exec `command`, a `dryRun`).
    if (rawQuery.includes(';')) throw new WritegateError('WG_ERR_BAD_REQUEST', 'a ";" in the query is not accepted (the apiserver drops such parameters); encode it as %3B');

    // The options first: a DELETE takes them from its body, and whether they make this a dry run decides what the
    // write does upstream.
    const opts = writeOptions(info, query, info.operation === 'DELETE' ? bytes : Buffer.alloc(0), type);

    let parsed: unknown;
    const hasBody = bytes.length > 0 && (info.operation === 'CREATE' || info.operation === 'UPDATE');
    if (hasBody) {
      if (type === PROTOBUF) {
        if (info.verb === 'patch') throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'a patch body cannot be protobuf');
      } else if (info.verb === 'patch' ? !PATCH_TYPES.has(type) : !(type === '' || type === 'application/json' || type === 'application/yaml')) {
        throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', `content type "${type}" for ${info.verb}`);
      } else {
        parsed = decodeWriteBody(bytes, type);
      }
    }

    const getCurrent = async (): Promise<Record<string, unknown> | null> => {
      if (!info.name) return null;
      const res = await upstream.request('GET', rawPath, callHeaders(creds, { accept: 'application/json' }));
      if (res.status === 200) {
        const obj = jsonOf(res);
        return isObject(obj) ? obj : null;
      }
      return null;
    };
    /** The write replayed with dryRun=All: the client's body, or the one that will be forwarded (pinned). */
    const replayDryRun = async (send: ForwardedBody | undefined): Promise<{ object: Record<string, unknown>; created: boolean }> => {
      const headers = callHeaders(creds, { accept: 'application/json', 'content-type': send?.contentType ?? req.headers['content-type'] });
      const res = await upstream.request(req.method, dryRunUrl(rawPath, rawQuery), headers, send?.body ?? bytes);
      const obj = jsonOf(res);
      if (res.status >= 300 || !isObject(obj)) throw rejected(res, 'the dry run of this write');
      return { object: obj, created: res.status === 201 };
    };

    const local = this.cfg.kubernetes.resolve === 'local';
    // The dry run of a create on a subresource answers with what its handler made, not with what admission
    // sees: serviceaccounts/token with a freshly signed, valid token (which would land in the policy input and
    // in both decision logs), pods/eviction and pods/binding with a Status. Those bodies are decoded here.
    const subresourceCreate = info.operation === 'CREATE' && info.subresource !== '';
    const viaDryRun = !local && !subresourceCreate && (type === PROTOBUF || info.verb === 'patch' || this.cfg.kubernetes.dryRunWrites);
    const contentType = req.headers['content-type'] ?? type;
    const resolveObject = async (): Promise<Resolved> => {
      const oldObject = info.operation === 'UPDATE' ? await getCurrent() : null;
      // An update is pinned to the version of the old object the policy is shown (./pin.ts), and dry-run pinned
      // too: a write in between makes the dry run itself a 409, so object and oldObject are of one version and the
      // forwarded write is exactly the one dry-run.
      const oldVersion = opts.dryRun ? '' : resourceVersionOf(oldObject);
      const pin = oldVersion ? { forward: pinned(bytes, type, parsed, oldVersion, contentType) } : undefined;
      if (viaDryRun) {
        const { object, created } = await replayDryRun(pin?.forward);
        // A handler that stores nothing (e.g. bindings) answers a dry run with a Status; admission sees the body.
        if (object.kind === 'Status' && isObject(parsed) && parsed.kind !== 'Status') return { object: inRequestNamespace(parsed, info), oldObject, created: false, dryRun: false, pin };
        return { object, oldObject, created, dryRun: true, pin };
      }
      if (type === PROTOBUF) return { object: decodeLocally(bytes), oldObject, created: false, dryRun: false, pin };
      if (info.verb === 'patch') {
        // An apply body is handed over as the JSON it decoded to (./yaml.ts), so no other YAML reading of it counts.
        const patch = type === 'application/apply-patch+yaml' ? Buffer.from(JSON.stringify(parsed)) : bytes;
        try {
          // Only an apply patch succeeds on an object that does not exist: it creates it.
          return { object: applyKubePatch(oldObject ?? undefined, patch, type) as Record<string, unknown>, oldObject, created: oldObject === null, dryRun: false, pin };
        } catch (err) {
          const code = err instanceof KubePatchError ? err.code : 'WG_PATCH_INVALID';
          throw new WritegateError('WG_ERR_MALFORMED_BODY', `the patch cannot be applied (${code})`, { cause: err });
        }
      }
      if (!isObject(parsed)) throw new WritegateError('WG_ERR_MALFORMED_BODY', 'the body must be a JSON or YAML object');
      return { object: inRequestNamespace(parsed, info), oldObject, created: false, dryRun: false, pin };
    };

    let object: Record<string, unknown> | null = null;
    let oldObject: Record<string, unknown> | null = null;
    let created = false;
    switch (info.operation) {
      case 'CREATE':
      case 'UPDATE': {
        let r: Resolved;
        try {
          r = await resolveObject();
        } catch (err) {
          // The object changed between the read and the pinned dry run: read and resolve once more. A second
          // conflict goes back to the client as the apiserver's own 409.
          if (info.operation !== 'UPDATE' || !isConflict(err)) throw err;
          r = await resolveObject();
        }
        ({ object, oldObject, created } = r);
        if (info.operation === 'UPDATE' && !created && !opts.dryRun) {
          if (r.pin) {
            classified.forward = r.pin.forward;
          } else if (r.dryRun) {
            // The old object could not be read (no get permission): the write is pinned to the version dry-run.
            const rv = resourceVersionOf(r.object);
            if (!rv) throw new WritegateError('WG_ERR_BAD_REQUEST', 'the object has no resourceVersion to pin this write to');
            classified.forward = pinned(bytes, type, parsed, rv, contentType);
          }
        }
        break;
      }
      case 'DELETE': {
        oldObject = await getCurrent();
        // The delete is pinned to the version of the object the policy is shown, as updates are.
        const rv = opts.dryRun || info.verb !== 'delete' ? '' : resourceVersionOf(oldObject);
        if (rv) classified.forward = pinnedDelete(bytes, type, opts.options!, rv, contentType);
        break;
      }
      case 'CONNECT':
        object = info.isResourceRequest ? connectOptions(info, query) : null;
        break;
      default:
        break;
    }

    // A patch that creates its object (server-side apply of a new object) is admitted by the apiserver as a
    // CREATE with CreateOptions (patcher.applyAdmission, k8s.io/apiserver/pkg/endpoints/handlers/patch.go), and so
    // is a replace that creates it (resources that allow create on update; handlers/update.go,
    // updateToCreateOptions), so rules written for CREATE see them too.
    const operation = created ? 'CREATE' : info.operation;
    if (operation !== info.operation) classified.operation = operation;
    const review = admissionReview({
      info, method: req.method, query, headers: req.headers, upstream: this.cfg.name, operation, object, oldObject, parsed, userInfo: user, impersonatedUser: impersonatedUser(req.headers),
      dryRun: opts.dryRun,
      options: operation === info.operation ? opts.options : writeOptions({ verb: 'create' }, query, Buffer.alloc(0), type).options,
    });
    // A create names its object in the body; let the log line say which.
    const name = (review.request as { name: string }).name;
    if (!info.name && name && classified.summary.endsWith('/')) classified.summary += name;
    return review;
  }

  readonly fixes = KUBE_FIXES;

  renderDeny = renderDeny;
  warningHeaders = warningHeaders;

  renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse {
    return renderError(err, decisionId, this.fixes[err.code] ?? errorCatalogue[err.code].fix);
  }

  maskInput(input: Record<string, unknown>): Record<string, unknown> {
    return maskKubeInput(input);
  }
}
