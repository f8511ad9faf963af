/**
 * A small, honest Kubernetes API server simulator for tests, benchmarks and the
 * demo. It speaks the real paths, status codes and `Status` envelopes of a
 * kube-apiserver closely enough for kubectl 1.29–1.33 (see
 * shared/research/clients.md §2), keeps objects in memory and records every
 * request it receives.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { canEncode, decodeProtobuf, encodeProtobuf, PROTOBUF } from './protobuf.js';
import { authenticate, review, type TokenTable, type UserInfo } from './auth.js';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  legacyApiGroup,
  legacyApiGroupList,
  legacyApiVersions,
  legacyResourceList,
  negotiateAggregated,
  parseAccept,
} from './discovery.js';
import { createStreamServer, rejectUpgrade, serveStream } from './exec.js';
import { Registry } from './objects.js';
import { buildOpenApiV3 } from './openapi.js';
import { parseResourcePath, type ResourcePath } from './paths.js';
import { apiVersionOf, findResource, type ResourceDef } from './resources.js';
import { seed } from './seed.js';
import { matchesSelectors } from './selectors.js';
import {
  alreadyBound,
  badRequest,
  detailsOf,
  invalid,
  methodNotAllowed,
  notFound,
  pathNotFound,
  StatusError,
  success,
  unauthorized,
  unsupportedMediaType,
  type KubeStatus,
} from './status.js';
import { KubeStore, rfc3339, type KubeObject, type StoreEvent } from './store.js';
import { toTable, wantsTable } from './table.js';

export interface SimRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface KubeSimOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Serve HTTPS; kubectl sends bearer tokens only over https. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Known bearer tokens; without it any token is user `admin` in `system:masters`. */
  tokens?: TokenTable;
  /** gitVersion reported by /version (the kubectl dispatcher picks its binary from it). */
  version?: string;
}

export interface KubeSim {
  url: string;
  close(): Promise<void>;
  /** Every request received, in order (upgrade requests included, bodies buffered). */
  requests: SimRequest[];
  clearRequests(): void;
  store: KubeStore;
}

const PODS = findResource('', 'v1', 'pods')!;

/** {pods,services,nodes}/<name>/proxy[/<path>], with the namespace for pods and services. */
const PROXY_PATH = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(pods|services|nodes)\/([^/]+)\/proxy(\/.*)?$/;

/** Watches end after this long unless `timeoutSeconds` says otherwise. */
const DEFAULT_WATCH_SECONDS = 1800;
/** `logs -f` streams are cut after this long. */
const FOLLOW_LIMIT_MS = 60_000;
const FOLLOW_INTERVAL_MS = 100;

function sendJSON(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

/** Answers protobuf when the client prefers it and the kind can be encoded exactly; JSON otherwise. */
function sendObject(req: IncomingMessage, res: ServerResponse, code: number, obj: KubeObject): void {
  const first = parseAccept(req.headers.accept)[0];
  if (first?.type === PROTOBUF && canEncode(obj)) {
    const body = encodeProtobuf(obj);
    res.writeHead(code, { 'Content-Type': PROTOBUF, 'Content-Length': body.length });
    res.end(body);
    return;
  }
  sendJSON(res, code, obj);
}

function sendStatus(res: ServerResponse, status: KubeStatus): void {
  sendJSON(res, status.code, status);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Decodes a create/update body by Content-Type: JSON, YAML or Kubernetes protobuf. */
function decodeBody(body: Buffer, contentType: string | undefined): KubeObject {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  try {
    if (type === 'application/json' || type === '') return JSON.parse(body.toString('utf8')) as KubeObject;
    // kube-apiserver reads YAML with go-yaml v2 (sigs.k8s.io/yaml): YAML 1.1, so `yes`/`on` are booleans and `<<` merges.
    if (type === 'application/yaml') return parseYaml(body.toString('utf8'), { version: '1.1', merge: true }) as KubeObject;
    if (type === PROTOBUF) return decodeProtobuf(body) as KubeObject;
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
  throw unsupportedMediaType(
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, ${PROTOBUF}`,
  );
}

/** `dryRun` of a JSON or YAML DeleteOptions body. */
function deleteBodyDryRun(body: Buffer, contentType: string | undefined): string[] {
  const options = decodeBody(body, contentType) as { dryRun?: unknown };
  return Array.isArray(options.dryRun) ? options.dryRun.map(String) : [];
}

/** The options kind whose `dryRun` a write validates (CreateOptions, UpdateOptions, ...). */
const OPTIONS_KIND: Record<string, string> = { POST: 'CreateOptions', PUT: 'UpdateOptions', PATCH: 'PatchOptions', DELETE: 'DeleteOptions' };

/** 422 for a `dryRun` other than "All", as metav1 validation words it (Go's %#v of the values). */
function checkDryRun(method: string, values: string[]): void {
  const kind = OPTIONS_KIND[method];
  if (!kind || values.every((v) => v === 'All')) return;
  const detail = `Unsupported value: []string{${values.map((v) => JSON.stringify(v)).join(', ')}}: supported values: "All"`;
  throw invalid({ kind, group: 'meta.k8s.io' }, '', 'dryRun', detail, 'FieldValueNotSupported');
}

/**
 * What a delete answers (genericregistry.Store.finalizeDelete): the object for
 * the kinds whose storage sets ReturnDeletedObject (pods, services, service
 * accounts) or that are deleted gracefully (a Namespace turns Terminating, a
 * Job is kept for its dependents), a success Status naming the object for the rest.
 */
function deletedAnswer(def: ResourceDef, obj: KubeObject): unknown {
  const deletionTimestamp = rfc3339();
  switch (def.kind) {
    case 'Namespace':
      return { ...obj, metadata: { ...obj.metadata, deletionTimestamp }, status: { ...((obj.status as object) ?? {}), phase: 'Terminating' } };
    case 'Pod': {
      // A pod on a node waits for its grace period; one never scheduled goes at once.
      const spec = (obj.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
      const grace = spec.nodeName ? (spec.terminationGracePeriodSeconds ?? 30) : 0;
      return { ...obj, metadata: { ...obj.metadata, deletionTimestamp, deletionGracePeriodSeconds: grace } };
    }
    case 'Service':
    case 'ServiceAccount':
    case 'Job':
      return obj;
    default:
      return success(detailsOf(def, obj.metadata.name!, typeof obj.metadata.uid === 'string' ? obj.metadata.uid : undefined));
  }
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function listKind(def: ResourceDef): string {
  return `${def.kind}List`;
}

/** The apiserver streams exec/attach/port-forward from the pod's kubelet; a pod on no node has none. */
function requireNode(pod: KubeObject): void {
  if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName) throw badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
}

export async function startKubeSim(opts: KubeSimOptions = {}): Promise<KubeSim> {
  const version = opts.version ?? 'v1.32.0';
  const store = new KubeStore();
  const registry = new Registry(store);
  const openapi = buildOpenApiV3(version);
  const streams = createStreamServer();
  const requests: SimRequest[] = [];
  const open = new Set<ServerResponse>();
  seed(store);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    readBody(req)
      .then((body) => {
        requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
        return handle(req, res, body);
      })
      .catch((err: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof StatusError) sendStatus(res, err.status);
        else sendJSON(res, 500, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: String(err), reason: 'InternalError', code: 500 });
      });
  };

  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const parsed = parseResourcePath(url.pathname);
    const sub = parsed.ok ? parsed.path.subresource : undefined;
    if (!parsed.ok || (sub !== 'exec' && sub !== 'attach' && sub !== 'portforward' && sub !== 'proxy')) {
      // The apiserver upgrades only connect subresources; anywhere else an Upgrade header changes nothing and the
      // request is served as a plain one, on a connection that stays open.
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        if (!/^(connection|upgrade)$/i.test(req.rawHeaders[i]!)) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      keepServing(socket, Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]));
      return;
    }
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.alloc(0) });
    try {
      upgrade(req, socket, head);
    } catch (err) {
      rejectUpgrade(socket, err instanceof StatusError ? err.status : badRequest(String(err)).status);
      keepServing(socket, head);
    }
  });

  /** Hands a connection that was not upgraded back to the HTTP parser, as Go's server keeps serving it. */
  function keepServing(socket: Duplex, pending: Buffer): void {
    if (pending.length) socket.unshift(pending);
    server.emit(opts.tls ? 'secureConnection' : 'connection', socket);
  }

  function identify(req: IncomingMessage, pathname: string): UserInfo | 'anonymous' {
    const user = authenticate(req, pathname, opts.tokens);
    if (!user) throw unauthorized();
    return user;
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (identify(req, url.pathname) === 'anonymous') throw unauthorized();
    const parsed = parseResourcePath(url.pathname);
    const sub = parsed.ok ? parsed.path.subresource : undefined;
    if (!parsed.ok || parsed.path.def.kind !== 'Pod' || (sub !== 'exec' && sub !== 'attach')) throw pathNotFound();
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw badRequest('the simulator supports only WebSocket streaming (v5.channel.k8s.io / v4.channel.k8s.io), not SPDY');
    }
    const { def, namespace, name } = parsed.path;
    const pod = store.find(def, namespace, name!);
    if (!pod) throw notFound(def, name!);
    requireNode(pod);
    const containers = ((pod.spec as { containers?: { name: string }[] } | undefined)?.containers ?? []).map((c) => c.name);
    const container = url.searchParams.get('container') ?? containers[0] ?? '';
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
    serveStream(streams, req, socket, head, { kind: sub, pod: name!, container, command: url.searchParams.getAll('command') });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const user = identify(req, path);

    if (path === '/version') {
      const [, major = '1', minor = '0'] = /^v(\d+)\.(\d+)/.exec(version) ?? [];
      return sendJSON(res, 200, {
        major,
        minor,
        gitVersion: version,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.23.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (user === 'anonymous') throw unauthorized();

    if (method === 'GET' && (path === '/api' || path === '/apis')) {
      const agg = negotiateAggregated(req.headers.accept);
      if (agg) return sendJSON(res, 200, aggregatedDiscovery(agg, path === '/api'), aggregatedContentType(agg));
      return sendJSON(res, 200, path === '/api' ? legacyApiVersions(req.headers.host ?? '127.0.0.1') : legacyApiGroupList());
    }
    if (path === '/openapi/v3') return sendJSON(res, 200, openapi.root);
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapi.documents.get(path.slice('/openapi/v3/'.length));
      if (!doc) throw pathNotFound();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, immutable' });
      res.end(doc);
      return;
    }
    const gv = /^\/(?:api\/(v1)|apis\/([^/]+)(?:\/([^/]+))?)$/.exec(path);
    if (method === 'GET' && gv) {
      const doc = gv[1] ? legacyResourceList('', gv[1]) : gv[3] ? legacyResourceList(gv[2]!, gv[3]) : legacyApiGroup(gv[2]!);
      if (!doc) throw pathNotFound();
      return sendJSON(res, 200, doc);
    }

    const proxied = PROXY_PATH.exec(path);
    if (proxied) return proxy(req, res, proxied);
    const parsed = parseResourcePath(path);
    if (!parsed.ok) throw pathNotFound();
    return resource(req, res, url, parsed.path, body, user);
  }

  /**
   * {pods,services,nodes}/<name>/proxy[/<path>]: the apiserver relays any method to the pod, the service's
   * endpoints or the node's kubelet (pkg/registry/core/{pod,service,node}/rest ProxyREST). The simulator has
   * none of those behind it, so it answers for them, after the same existence check.
   */
  function proxy(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): void {
    const [, namespace, plural, target, rest] = m;
    const parsed = parseResourcePath(`/api/v1/${namespace ? `namespaces/${namespace}/` : ''}${plural}`);
    if (!parsed.ok || parsed.path.def.namespaced !== (namespace !== undefined)) throw pathNotFound();
    // The name may carry a scheme and a port: [scheme:]name[:port] (net.SplitSchemeNamePort).
    const segments = decodeURIComponent(target!).split(':');
    const name = segments.length === 3 ? segments[1]! : segments[0]!;
    if (!store.find(parsed.path.def, namespace, name)) throw notFound(parsed.path.def, name);
    const text = `${req.method ?? 'GET'} ${rest ?? '/'} proxied to ${parsed.path.def.singular} ${name}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function resource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rp: ResourcePath,
    body: Buffer,
    user: UserInfo,
  ): Promise<void> {
    const { def, namespace, name, subresource } = rp;
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    // A DELETE with a body takes its DeleteOptions from the body alone and ignores the query
    // (k8s.io/apiserver/pkg/endpoints/handlers/delete.go).
    const dryRunValues = method === 'DELETE' && body.length > 0 ? deleteBodyDryRun(body, req.headers['content-type']) : q.getAll('dryRun');
    const dryRun = dryRunValues.includes('All');
    checkDryRun(method, dryRunValues);
    if (method === 'PATCH' && (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/apply-patch+yaml') && !q.get('fieldManager')) {
      throw invalid({ kind: 'PatchOptions', group: 'meta.k8s.io' }, '', 'fieldManager', 'Required value: is required for apply patch');
    }

    if (def.virtual) {
      if (method !== 'POST' || name !== undefined) throw methodNotAllowed();
      const input = decodeBody(body, req.headers['content-type']);
      return sendObject(req, res, 201, review(def.kind, input, user, opts.tokens));
    }

    if (name === undefined) {
      if (method === 'GET') {
        if (isTrue(q.get('watch')) || rp.legacyWatch) return watch(req, res, url, def, namespace);
        const items = store.list(def, namespace).filter((o) => matchesSelectors(o, q));
        if (wantsTable(req.headers.accept)) return sendJSON(res, 200, toTable(def, items, store.resourceVersion, q.get('includeObject')));
        return sendJSON(res, 200, { kind: listKind(def), apiVersion: apiVersionOf(def), metadata: { resourceVersion: store.resourceVersion }, items });
      }
      if (method === 'POST' && def.kind === 'Binding') {
        const input = decodeBody(body, req.headers['content-type']);
        const podName = input.metadata?.name;
        if (typeof podName !== 'string' || !podName) throw badRequest('binding metadata.name (the pod) is required');
        return bind(res, namespace, podName, input, dryRun);
      }
      if (method === 'POST') {
        const created = registry.create(def, namespace, decodeBody(body, req.headers['content-type']), dryRun);
        return sendObject(req, res, created.code, created.object);
      }
      // Across all namespaces the apiserver serves only list and watch (endpoints/installer.go registers no
      // DELETECOLLECTION on the cluster-wide path of a namespaced resource).
      if (method === 'DELETE' && def.verbs.includes('deletecollection') && (!def.namespaced || namespace !== undefined)) {
        const items = store.list(def, namespace).filter((o) => matchesSelectors(o, q));
        const deleted = items.map((o) => registry.delete(def, o.metadata.namespace, o.metadata.name!, dryRun));
        return sendJSON(res, 200, { kind: listKind(def), apiVersion: apiVersionOf(def), metadata: { resourceVersion: store.resourceVersion }, items: deleted });
      }
      throw methodNotAllowed();
    }

    switch (subresource) {
      case undefined:
        break;
      case 'status': {
        if (!def.subresources?.some((s) => s.name === 'status')) throw pathNotFound();
        if (method === 'GET') {
          const obj = store.find(def, namespace, name);
          if (!obj) throw notFound(def, name);
          return sendObject(req, res, 200, obj);
        }
        if (method === 'PUT') {
          return sendObject(req, res, 200, registry.updateStatus(def, namespace, name, decodeBody(body, req.headers['content-type']), dryRun).object);
        }
        if (method === 'PATCH') {
          return sendObject(req, res, 200, registry.patch(def, namespace, name, body, req.headers['content-type'] ?? '', dryRun, 'status').object);
        }
        throw methodNotAllowed();
      }
      case 'scale': {
        if (!def.subresources?.some((s) => s.name === 'scale')) throw pathNotFound();
        if (method === 'GET') return sendJSON(res, 200, registry.getScale(def, namespace, name));
        if (method === 'PUT') {
          return sendJSON(res, 200, registry.writeScale(def, namespace, name, { scale: decodeBody(body, req.headers['content-type']) }, dryRun));
        }
        if (method === 'PATCH') {
          const change = { body, contentType: req.headers['content-type'] ?? '' };
          return sendJSON(res, 200, registry.writeScale(def, namespace, name, change, dryRun));
        }
        throw methodNotAllowed();
      }
      case 'log':
        if (def.kind !== 'Pod' || method !== 'GET') throw methodNotAllowed();
        return podLog(res, url, def, namespace, name);
      case 'exec':
      case 'attach':
      case 'portforward': {
        if (def.kind !== 'Pod') throw pathNotFound();
        const pod = store.find(def, namespace, name);
        if (!pod) throw notFound(def, name);
        requireNode(pod);
        // Reached only without an Upgrade header (upgrades go to the 'upgrade' event).
        throw badRequest('Upgrade request required');
      }
      case 'binding':
      case 'eviction': {
        if (def.kind !== 'Pod') throw pathNotFound();
        if (method !== 'POST') throw methodNotAllowed();
        const pod = store.find(def, namespace, name);
        if (!pod) throw notFound(def, name);
        const input = decodeBody(body, req.headers['content-type']);
        if (subresource === 'binding') return bind(res, namespace, name, input, dryRun);
        if (!dryRun) registry.delete(def, namespace, name, false);
        return sendJSON(res, 201, success(undefined, 201));
      }
      case 'ephemeralcontainers': {
        if (def.kind !== 'Pod') throw pathNotFound();
        if (method === 'GET') {
          const pod = store.find(def, namespace, name);
          if (!pod) throw notFound(def, name);
          return sendObject(req, res, 200, pod);
        }
        if (method === 'PUT') {
          const updated = registry.updateEphemeralContainers(def, namespace, name, decodeBody(body, req.headers['content-type']), dryRun);
          return sendObject(req, res, 200, updated.object);
        }
        if (method === 'PATCH') {
          return sendObject(req, res, 200, registry.patch(def, namespace, name, body, req.headers['content-type'] ?? '', dryRun, 'ephemeralcontainers').object);
        }
        throw methodNotAllowed();
      }
      default:
        throw pathNotFound();
    }

    switch (method) {
      case 'GET': {
        const obj = store.find(def, namespace, name);
        if (!obj) throw notFound(def, name);
        if (wantsTable(req.headers.accept)) return sendJSON(res, 200, toTable(def, [obj], store.resourceVersion, q.get('includeObject')));
        return sendObject(req, res, 200, obj);
      }
      case 'PUT': {
        const updated = registry.update(def, namespace, name, decodeBody(body, req.headers['content-type']), dryRun);
        return sendObject(req, res, updated.code, updated.object);
      }
      case 'PATCH': {
        const patched = registry.patch(def, namespace, name, body, req.headers['content-type'] ?? '', dryRun);
        return sendObject(req, res, patched.code, patched.object);
      }
      case 'DELETE':
        return sendJSON(res, 200, deletedAnswer(def, registry.delete(def, namespace, name, dryRun)));
      default:
        throw methodNotAllowed();
    }
  }

  /**
   * Binds a pod to a node: sets spec.nodeName, once (pkg/registry/core/pod/storage BindingREST.setPodNodeAndMetadata
   * answers 409 for a pod that already has a node).
   */
  function bind(res: ServerResponse, namespace: string | undefined, name: string, input: KubeObject, dryRun: boolean): void {
    const def = PODS;
    const pod = store.find(def, namespace, name);
    if (!pod) throw notFound(def, name);
    const target = (input.target as { name?: string } | undefined)?.name;
    if (!target) throw badRequest('binding target name is required');
    const bound = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (bound) throw alreadyBound(name, bound);
    if (!dryRun) store.write(def, { ...pod, spec: { ...((pod.spec as object) ?? {}), nodeName: target } }, 'MODIFIED');
    sendJSON(res, 201, success(undefined, 201));
  }

  /**
   * Watch: newline-delimited JSON events over a chunked response. Without a
   * resourceVersion (or with "0") the current objects come first as ADDED.
   */
  function watch(req: IncomingMessage, res: ServerResponse, url: URL, def: ResourceDef, namespace: string | undefined): void {
    const q = url.searchParams;
    const table = wantsTable(req.headers.accept);
    const includeObject = q.get('includeObject');
    let sentColumns = false;
    const render = (type: string, obj: KubeObject) => {
      let object: unknown = obj;
      if (table) {
        const t = toTable(def, [obj], obj.metadata.resourceVersion ?? store.resourceVersion, includeObject);
        // Column definitions travel with the first event only, as the apiserver does.
        object = sentColumns ? { ...t, columnDefinitions: [] } : t;
        sentColumns = true;
      }
      return `${JSON.stringify({ type, object })}\n`;
    };
    const wanted = (obj: KubeObject) => (!def.namespaced || !namespace || obj.metadata.namespace === namespace) && matchesSelectors(obj, q);

    const rv = q.get('resourceVersion');
    let backlog: { type: string; object: KubeObject }[];
    if (!rv || rv === '0') backlog = store.list(def, namespace).map((object) => ({ type: 'ADDED', object }));
    else {
      const since = store.eventsSince(Number(rv));
      if (!since || Number.isNaN(Number(rv))) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rv}`, reason: 'Expired', code: 410 } })}\n`,
        );
        return;
      }
      backlog = since.filter((e) => e.def === def);
    }

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    // The apiserver flushes a watch's headers at once, before any event exists.
    res.flushHeaders();
    open.add(res);
    for (const e of backlog) if (wanted(e.object)) res.write(render(e.type, e.object));
    const onEvent = (e: StoreEvent) => {
      if (e.def === def && wanted(e.object)) res.write(render(e.type, e.object));
    };
    store.events.on('event', onEvent);
    const seconds = Number(q.get('timeoutSeconds') ?? DEFAULT_WATCH_SECONDS);
    const timer = setTimeout(() => res.end(), seconds * 1000);
    const stop = () => {
      clearTimeout(timer);
      store.events.off('event', onEvent);
      open.delete(res);
    };
    res.on('close', stop);
    res.on('finish', stop);
  }

  function podLog(res: ServerResponse, url: URL, def: ResourceDef, namespace: string | undefined, name: string): void {
    const pod = store.find(def, namespace, name);
    if (!pod) throw notFound(def, name);
    const containers = ((pod.spec as { containers?: { name: string }[] } | undefined)?.containers ?? []).map((c) => c.name);
    const container = url.searchParams.get('container') ?? containers[0] ?? '';
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
    const line = (i: number) => `log line ${i} from ${namespace}/${name}/${container}\n`;
    let lines = [1, 2, 3].map(line);
    const tail = url.searchParams.get('tailLines');
    if (tail !== null) lines = lines.slice(-Math.max(0, Number(tail)));
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(lines.join(''));
    if (!isTrue(url.searchParams.get('follow'))) {
      res.end();
      return;
    }
    open.add(res);
    let i = 4;
    const started = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - started >= FOLLOW_LIMIT_MS) res.end();
      else res.write(line(i++));
    }, FOLLOW_INTERVAL_MS);
    const stop = () => {
      clearInterval(timer);
      open.delete(res);
    };
    res.on('close', stop);
    res.on('finish', stop);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';

  return {
    url: `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    store,
    close: async () => {
      for (const res of open) res.end();
      for (const ws of streams.clients) ws.terminate();
      streams.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
