/**
 * What a Kubernetes API request is, computed the way the kube-apiserver's
 * RequestInfoFactory does (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go),
 * plus the gateway's own read/write classification on top of it.
 */

export type KubeVerb =
  | 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection'
  | 'connect' | 'proxy' | 'options' | 'unknown';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface KubeRequestInfo {
  isResourceRequest: boolean;
  /** The decoded path, as the apiserver sees it. */
  path: string;
  verb: KubeVerb;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** Read: forwarded without asking OPA. Everything else is gated. */
  isRead: boolean;
  /** The admission operation of a gated request; CONNECT for exec/attach/portforward/proxy and anything unknown. */
  operation: AdmissionOperation | undefined;
}

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_PREFIXES = new Set(['api']);
/** Verbs that appear as a path segment before the resource (requestinfo.go specialVerbs). */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** Subresources of a namespace object itself (requestinfo.go namespaceSubresources). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * Subresources whose GET only reads. Any other subresource reached with GET
 * (exec, attach, portforward, proxy — and whatever an aggregated API server
 * serves, e.g. KubeVirt's console) may be a connect, so it is gated.
 */
const READ_SUBRESOURCES = new Set(['status', 'scale', 'log', 'ephemeralcontainers', 'resize', 'approval', 'token']);
/** Resources a connect verb can reach (pods/exec, pods/attach, pods/portforward, {pods,services,nodes}/proxy). */
export const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);

/**
 * POSTs that create nothing: reviews answered from the caller's credentials
 * (authorization.k8s.io and authentication.k8s.io; neither stores objects).
 */
const NON_MUTATING_POSTS = new Set([
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  'authorization.k8s.io/subjectaccessreviews',
  'authorization.k8s.io/localsubjectaccessreviews',
  'authentication.k8s.io/tokenreviews',
  'authentication.k8s.io/selfsubjectreviews',
]);

/** Go's strconv.ParseBool-free conversion the apiserver uses for bool query params (Convert_Slice_string_To_bool). */
function queryBool(values: string[] | undefined): boolean {
  if (!values || values.length === 0) return false;
  const v = values[0] ?? '';
  return !(v === '0' || v.toLowerCase() === 'false');
}

function methodVerb(method: string): KubeVerb {
  switch (method) {
    case 'POST': return 'create';
    case 'GET':
    case 'HEAD': return 'get';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return 'delete';
    case 'OPTIONS': return 'options';
    default: return 'unknown';
  }
}

function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/**
 * @param method  HTTP method, upper case as Node's parser yields it
 * @param path    decoded path relative to the upstream (decodeRequestPath)
 * @param query   parsed query
 * @param upgrade true when the request asks for a protocol upgrade
 */
export function kubeRequestInfo(method: string, path: string, query: Record<string, string[]>, upgrade: boolean): KubeRequestInfo {
  const info: KubeRequestInfo = {
    isResourceRequest: false,
    path,
    verb: methodVerb(method),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    isRead: false,
    operation: undefined,
  };
  const finish = (): KubeRequestInfo => classify(info, method, upgrade);

  let parts = path.replace(/^\/+|\/+$/g, '').split('/');
  if (parts.length < 3 || !API_PREFIXES.has(parts[0] ?? '')) return finish();
  info.apiPrefix = parts[0] ?? '';
  parts = parts.slice(1);
  if (!GROUPLESS_PREFIXES.has(info.apiPrefix)) {
    if (parts.length < 3) return finish();
    info.apiGroup = parts[0] ?? '';
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0] ?? '';
  parts = parts.slice(1);

  if (SPECIAL_VERBS.has(parts[0] ?? '')) {
    if (parts.length < 2) {
      // requestinfo.go returns an error here (the apiserver answers 500); gate it.
      info.verb = 'unknown';
      return finish();
    }
    info.verb = parts[0] === 'watch' ? 'watch' : 'proxy';
    parts = parts.slice(1);
  }

  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1] ?? '';
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
    }
  }

  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2] ?? '';
  if (parts.length >= 2) info.name = parts[1] ?? '';
  if (parts.length >= 1) info.resource = parts[0] ?? '';

  if (info.name === '' && info.verb === 'get') {
    info.verb = queryBool(query.watch) ? 'watch' : 'list';
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return finish();
}

function classify(info: KubeRequestInfo, method: string, upgrade: boolean): KubeRequestInfo {
  const connect = info.verb === 'proxy' || (info.isResourceRequest && CONNECT_SUBRESOURCES.has(info.subresource));
  if (connect) info.verb = 'connect';

  if (!info.isResourceRequest) {
    // Non-resource URLs (/version, /healthz, /openapi/v3, /api, /apis, ...) only serve reads.
    info.isRead = isReadMethod(method) && !upgrade;
  } else if (isReadMethod(method) && !upgrade && !connect && info.verb !== 'unknown') {
    info.isRead = info.subresource === '' || READ_SUBRESOURCES.has(info.subresource);
  } else if (method === 'POST' && !upgrade && info.subresource === '' && info.name === ''
    && NON_MUTATING_POSTS.has(`${info.apiGroup}/${info.resource}`)) {
    info.isRead = true;
  }
  if (info.isRead) return info;

  // Everything else is gated. Connects, upgrades and whatever the adapter does
  // not recognise (non-resource writes, unknown methods, reads of unknown
  // subresources) are CONNECT: the operation admission uses for requests that
  // store nothing but act.
  if (connect) {
    info.operation = 'CONNECT';
  } else if (!info.isResourceRequest || upgrade) {
    info.operation = 'CONNECT';
    info.verb = 'unknown';
  } else {
    switch (info.verb) {
      case 'create': info.operation = 'CREATE'; break;
      case 'update':
      case 'patch': info.operation = 'UPDATE'; break;
      case 'delete':
      case 'deletecollection': info.operation = 'DELETE'; break;
      default:
        info.operation = 'CONNECT';
        info.verb = 'unknown';
    }
  }
  return info;
}
