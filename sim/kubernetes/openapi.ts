/**
 * A minimal OpenAPI v3 (`/openapi/v3`) for kubectl's field-validation probe.
 *
 * With the default `--validate=strict`, kubectl 1.29–1.33 looks up the PATCH
 * operation of the object's GVK in `/openapi/v3/<gv>` and, when it declares a
 * `fieldValidation` query parameter, sends `fieldValidation=Strict` and leaves
 * validation to the server (kubectl pkg/cmd/util QueryParamVerifierV3). So every
 * resource gets create/update/patch operations carrying
 * `x-kubernetes-group-version-kind` and the write query parameters; no schemas are
 * published (then kubectl computes strategic merge patches from its compiled-in
 * types). `/openapi/v2` is not served: kubectl tolerates its 404.
 */
import { createHash } from 'node:crypto';
import { RESOURCES, groupVersions, gvPrefix, type ResourceDef } from './resources.js';

const WRITE_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

function pascal(s: string): string {
  return s
    .split(/[.-]/)
    .filter((p) => p && p !== 'k8s' && p !== 'io')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

function operation(def: ResourceDef, action: 'post' | 'put' | 'patch', verb: string) {
  const gvk = { group: def.group, version: def.version, kind: def.kind };
  const scope = def.namespaced ? 'Namespaced' : '';
  return {
    operationId: `${verb}${pascal(def.group) || 'Core'}${pascal(def.version)}${scope}${def.kind}`,
    parameters: action === 'patch' ? [...WRITE_PARAMS, { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } }] : WRITE_PARAMS,
    responses: { '200': { description: 'OK' }, ...(action === 'post' ? { '201': { description: 'Created' } } : {}) },
    'x-kubernetes-action': action === 'post' ? 'post' : action,
    'x-kubernetes-group-version-kind': gvk,
  };
}

function gvDocument(group: string, version: string, serverVersion: string) {
  const paths: Record<string, unknown> = {};
  for (const def of RESOURCES.filter((d) => d.group === group && d.version === version)) {
    const base = `${gvPrefix(def)}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.plural}`;
    paths[base] = { post: operation(def, 'post', 'create') };
    if (!def.virtual) {
      paths[`${base}/{name}`] = { put: operation(def, 'put', 'replace'), patch: operation(def, 'patch', 'patch') };
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion },
    paths,
    components: { schemas: {} },
  };
}

export interface OpenApiV3 {
  root: { paths: Record<string, { serverRelativeURL: string }> };
  /** Per group-version documents keyed by `api/v1`, `apis/apps/v1`. */
  documents: Map<string, string>;
}

export function buildOpenApiV3(serverVersion: string): OpenApiV3 {
  const documents = new Map<string, string>();
  const root: OpenApiV3['root'] = { paths: {} };
  for (const gv of groupVersions()) {
    const key = gvPrefix(gv).slice(1);
    const doc = JSON.stringify(gvDocument(gv.group, gv.version, serverVersion));
    documents.set(key, doc);
    // The real server publishes a content hash so clients can cache the document forever.
    const hash = createHash('sha512').update(doc).digest('hex').toUpperCase();
    root.paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { root, documents };
}
