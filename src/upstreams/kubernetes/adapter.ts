import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parseAllDocuments } from 'yaml';
import type { UpstreamConfig } from '../../config/schema.js';
import { WritegateError, isWritegateError } from '../../errors.js';
import { parseJsonStrict } from '../../http/json.js';
import { decodeRequestPath, parseQuery, splitUrl } from '../../http/path.js';
import type { UpstreamClient, UpstreamResponse } from '../client.js';
import type { Classified, GateRequest, UpstreamAdapter } from '../types.js';
import { KubeIdentity, impersonatedUser, credentialHeaders, type UserInfo } from './identity.js';
import { kindOf, subresourceKind } from './kinds.js';
import { applyKubePatch } from './patch.js';
import { decodeKubeProtobuf } from './protobuf.js';
import { kubeRequestInfo, type KubeRequestInfo } from './request-info.js';
import { renderDeny, renderError, warningHeaders } from './render.js';

export const INPUT_VERSION = 'writegate.dev/v1';

/** Headers copied into the policy input (lower-case). Credentials never are. */
const INPUT_HEADERS = [
  'content-type', 'user-agent', 'kubectl-command', 'kubectl-session', 'impersonate-user', 'impersonate-group',
  'impersonate-uid', 'x-request-id',
];

/**
 * Method-override headers honoured by some frameworks. The apiserver ignores
 * them, but a request carrying one is asking someone on the path to treat it
 * as another method; it is refused so no hop can turn a read into a write.
 */
const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];

const PATCH_TYPES = new Set([
  'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml',
]);
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

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

function parseYamlDocument(text: string): unknown {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs) || docs.length !== 1) throw new WritegateError('WG_ERR_MALFORMED_BODY', 'expected exactly one YAML document');
  const doc = docs[0]!;
  if (doc.errors.length) throw new WritegateError('WG_ERR_MALFORMED_BODY', doc.errors[0]!.message);
  return doc.toJSON();
}

/** Decodes a JSON or YAML write body; protobuf is handled by the resolver. */
function decodeBody(body: Buffer, type: string): unknown {
  const text = body.toString('utf8');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    // apply-patch+yaml bodies are usually JSON (kubectl sends JSON), which is YAML too; parse JSON strictly first.
    const trimmed = text.trimStart();
    return trimmed.startsWith('{') ? parseJsonStrict(text) : parseYamlDocument(text);
  }
  return parseJsonStrict(text);
}

function first(query: Record<string, string[]>, key: string): string | undefined {
  return query[key]?.[0];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The options document admission carries, built from query parameters (and the DeleteOptions body). */
function optionsFor(info: KubeRequestInfo, query: Record<string, string[]>, body: unknown): Record<string, unknown> | null {
  const common = {
    apiVersion: 'meta.k8s.io/v1',
    ...(query.dryRun ? { dryRun: query.dryRun } : {}),
    ...(first(query, 'fieldManager') !== undefined ? { fieldManager: first(query, 'fieldManager') } : {}),
  };
  switch (info.verb) {
    case 'create': return { kind: 'CreateOptions', ...common, ...(query.fieldValidation ? { fieldValidation: first(query, 'fieldValidation') } : {}) };
    case 'update': return { kind: 'UpdateOptions', ...common, ...(query.fieldValidation ? { fieldValidation: first(query, 'fieldValidation') } : {}) };
    case 'patch': return {
      kind: 'PatchOptions', ...common,
      ...(query.force ? { force: first(query, 'force') === 'true' } : {}),
      ...(query.fieldValidation ? { fieldValidation: first(query, 'fieldValidation') } : {}),
    };
    case 'delete':
    case 'deletecollection': {
      const fromBody = isObject(body) ? body : {};
      const opts: Record<string, unknown> = { ...fromBody, kind: 'DeleteOptions', ...common };
      const pp = first(query, 'propagationPolicy');
      if (pp !== undefined) opts.propagationPolicy = pp;
      const gp = first(query, 'gracePeriodSeconds');
      if (gp !== undefined && /^-?\d+$/.test(gp)) opts.gracePeriodSeconds = Number(gp);
      return opts;
    }
    default: return null;
  }
}

/** PodExecOptions and friends, from the query the way the apiserver's connect handlers read it. */
function connectOptions(info: KubeRequestInfo, query: Record<string, string[]>): Record<string, unknown> {
  const sk = subresourceKind(info.resource, info.subresource);
  const kind = sk?.kind ?? 'ConnectOptions';
  const flag = (k: string): boolean => { const v = first(query, k); return v !== undefined && v !== '0' && v.toLowerCase() !== 'false'; };
  const opts: Record<string, unknown> = { kind, apiVersion: 'v1' };
  if (info.subresource === 'exec' || info.subresource === 'attach') {
    if (info.subresource === 'exec') opts.command = query.command ?? [];
    if (first(query, 'container') !== undefined) opts.container = first(query, 'container');
    opts.stdin = flag('stdin');
    opts.stdout = flag('stdout');
    opts.stderr = flag('stderr');
    opts.tty = flag('tty');
  } else if (info.subresource === 'portforward') {
    opts.ports = (query.ports ?? []).flatMap((p) => p.split(',')).filter(Boolean).map(Number);
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
function inRequestNamespace(obj: Record<string, unknown>, info: KubeRequestInfo): Record<string, unknown> {
  if (!info.namespace || (info.apiGroup === '' && info.resource === 'namespaces')) return obj;
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  if (typeof meta.namespace === 'string' && meta.namespace !== '') return obj;
  return { ...obj, metadata: { ...meta, namespace: info.namespace } };
}

const MASK = '**masked**';

function maskSecret(obj: unknown): unknown {
  if (!isObject(obj) || obj.kind !== 'Secret') return obj;
  const out: Record<string, unknown> = { ...obj };
  for (const key of ['data', 'stringData']) {
    const v = out[key];
    if (isObject(v)) out[key] = Object.fromEntries(Object.keys(v).map((k) => [k, MASK]));
  }
  const meta = out.metadata;
  if (isObject(meta) && isObject(meta.annotations) && 'kubectl.kubernetes.io/last-applied-configuration' in meta.annotations) {
    // kubectl apply copies the whole Secret, data included, into this annotation.
    out.metadata = { ...meta, annotations: { ...meta.annotations, 'kubectl.kubernetes.io/last-applied-configuration': MASK } };
  }
  return out;
}

export class KubernetesAdapter implements UpstreamAdapter {
  readonly kind = 'kubernetes';
  private readonly identity: KubeIdentity | undefined;

  constructor(private readonly cfg: UpstreamConfig, upstream: UpstreamClient) {
    this.identity = cfg.kubernetes.identity === 'selfsubjectreview' ? new KubeIdentity(upstream) : undefined;
  }

  classify(req: GateRequest): Classified {
    for (const h of OVERRIDE_HEADERS) {
      if (req.headers[h] !== undefined) throw new WritegateError('WG_ERR_BAD_REQUEST', `header ${h} is not accepted`);
    }
    const { rawPath, rawQuery } = splitUrl(req.url);
    const path = decodeRequestPath(rawPath);
    const query = parseQuery(rawQuery);
    const info = kubeRequestInfo(req.method, path, query, req.upgrade);
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
    const creds = credentialHeaders(req.headers);
    const user: UserInfo = this.identity ? await this.identity.resolve(creds) : impersonatedUser(req.headers);
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

    let parsed: unknown;
    const hasBody = bytes.length > 0 && info.operation !== 'CONNECT';
    if (hasBody) {
      if (type === PROTOBUF) {
        if (info.verb === 'patch') throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'a patch body cannot be protobuf');
      } else if (info.verb === 'patch' ? !PATCH_TYPES.has(type) : !(type === '' || type === 'application/json' || type === 'application/yaml')) {
        throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', `content type "${type}" for ${info.verb}`);
      } else {
        parsed = decodeBody(bytes, type);
      }
    }

    const getCurrent = async (): Promise<Record<string, unknown> | null> => {
      if (!info.name) return null;
      const res = await upstream.request('GET', rawPath, { ...creds, accept: 'application/json' });
      if (res.status === 200) {
        const obj = jsonOf(res);
        return isObject(obj) ? obj : null;
      }
      return null;
    };
    const replayDryRun = async (): Promise<Record<string, unknown>> => {
      const headers: Record<string, string | string[] | undefined> = { ...creds, accept: 'application/json', 'content-type': req.headers['content-type'] };
      const res = await upstream.request(req.method, dryRunUrl(rawPath, rawQuery), headers, bytes);
      const obj = jsonOf(res);
      if (res.status >= 300 || !isObject(obj)) throw rejected(res, 'the dry run of this write');
      if (res.status === 201) created = true;
      return obj;
    };

    let object: Record<string, unknown> | null = null;
    let oldObject: Record<string, unknown> | null = null;
    let created = false;
    const local = this.cfg.kubernetes.resolve === 'local';
    switch (info.operation) {
      case 'CREATE':
      case 'UPDATE': {
        if (info.operation === 'UPDATE') oldObject = await getCurrent();
        if (type === PROTOBUF && hasBody) {
          // The dry run of a create on a subresource answers with what its handler made, not with what admission
          // sees: serviceaccounts/token with a freshly signed, valid token (which would land in the policy input and
          // in both decision logs), pods/eviction and pods/binding with a Status. Those bodies are decoded here.
          object = local || (info.operation === 'CREATE' && info.subresource) ? decodeLocally(bytes) : await replayDryRun();
        } else if (info.verb === 'patch') {
          if (local) {
            try {
              object = applyKubePatch(oldObject ?? undefined, bytes, type) as Record<string, unknown>;
              // Only an apply patch succeeds on an object that does not exist: it creates it.
              created = oldObject === null;
            } catch (err) {
              throw new WritegateError('WG_ERR_MALFORMED_BODY', (err as Error).message, { cause: err });
            }
          } else {
            object = await replayDryRun();
          }
        } else {
          if (!isObject(parsed)) throw new WritegateError('WG_ERR_MALFORMED_BODY', 'the body must be a JSON or YAML object');
          object = inRequestNamespace(parsed, info);
        }
        break;
      }
      case 'DELETE':
        oldObject = await getCurrent();
        break;
      case 'CONNECT':
        object = info.isResourceRequest ? connectOptions(info, query) : null;
        break;
      default:
        break;
    }

    // A patch that creates its object (server-side apply of a new object) is admitted by the apiserver as a
    // CREATE with CreateOptions (patcher.applyAdmission, k8s.io/apiserver/pkg/endpoints/handlers/patch.go),
    // so rules written for CREATE see it too.
    const operation = info.verb === 'patch' && created ? 'CREATE' : info.operation;
    if (operation !== info.operation) classified.operation = operation;
    const sk = info.subresource ? subresourceKind(info.resource, info.subresource) : undefined;
    const objKind = (o: Record<string, unknown> | null): string => (o && typeof o.kind === 'string' ? o.kind : '');
    const kind = sk ?? { group: info.apiGroup, version: info.apiVersion, kind: objKind(object) || objKind(oldObject) || kindOf(info.apiGroup, info.resource) };
    const resource = { group: info.apiGroup, version: info.apiVersion, resource: info.resource };
    const headers: Record<string, string> = {};
    for (const h of INPUT_HEADERS) {
      const v = req.headers[h];
      if (v !== undefined) headers[h] = Array.isArray(v) ? v.join(', ') : v;
    }
    const dryRun = (query.dryRun ?? []).includes('All');
    const name = info.name || (object && isObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '');
    // A create names its object in the body; let the log line say which.
    if (!info.name && name && classified.summary.endsWith('/')) classified.summary += name;
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
        userInfo: user,
        object,
        oldObject,
        dryRun,
        options: optionsFor(operation === info.operation ? info : { ...info, verb: 'create' }, query, parsed),
      },
      version: INPUT_VERSION,
      upstream: this.cfg.name,
      upstreamKind: this.kind,
      verb: info.verb,
      method: req.method,
      path: info.path,
      query,
      headers,
    };
  }

  renderDeny = renderDeny;
  renderError = renderError;
  warningHeaders = warningHeaders;

  maskInput(input: Record<string, unknown>): Record<string, unknown> {
    const request = input.request;
    if (!isObject(request)) return input;
    return { ...input, request: { ...request, object: maskSecret(request.object), oldObject: maskSecret(request.oldObject) } };
  }
}
