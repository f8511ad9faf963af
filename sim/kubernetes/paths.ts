/**
 * Parses resource URLs the way the apiserver's RequestInfoFactory does
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
 *   /api/v1[/watch]/[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]
 *   /apis/<group>/<version>[/watch]/[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]
 * `namespaces/<name>` itself is the cluster-scoped namespaces resource.
 */
import { findResource, type ResourceDef } from './resources.js';

export interface ResourcePath {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The deprecated `/watch/` path prefix was used. */
  legacyWatch: boolean;
}

export type ParsedPath =
  | { ok: true; path: ResourcePath }
  /** Group-version known but the resource is not: 404 with a NotFound Status. */
  | { ok: false; reason: 'unknown-resource' | 'not-a-resource-path'; group?: string; resource?: string };

export function parseResourcePath(pathname: string): ParsedPath {
  const parts = pathname.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return { ok: false, reason: 'not-a-resource-path' };
  }
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // `namespaces/<ns>/<plural>...` scopes the request; `namespaces[/<name>[/status]]` is the resource itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (plural === undefined || extra.length > 0) return { ok: false, reason: 'not-a-resource-path' };
  const def = findResource(group, version, plural);
  if (!def) return { ok: false, reason: 'unknown-resource', group, resource: plural };
  if (!def.namespaced && namespace !== undefined) return { ok: false, reason: 'unknown-resource', group, resource: plural };
  const path: ResourcePath = { def, legacyWatch };
  if (namespace !== undefined) path.namespace = namespace;
  if (name !== undefined) path.name = name;
  if (subresource !== undefined) path.subresource = subresource;
  return { ok: true, path };
}
