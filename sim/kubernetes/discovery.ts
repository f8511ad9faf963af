/**
 * API discovery, legacy and aggregated.
 *
 * Legacy: `/api` → APIVersions, `/apis` → APIGroupList, `/api/v1` and
 * `/apis/<g>/<v>` → APIResourceList (clients then fetch every group-version).
 * Aggregated (KEP-3352): the same `/api` and `/apis` answer an
 * `APIGroupDiscoveryList` when the Accept header asks for it. kubectl ≥ 1.30 offers
 * `v=v2` then `v=v2beta1`; 1.27–1.29 offer only `v2beta1`, and answering v2 to them
 * breaks `get`, so the version is negotiated from the client's list in order.
 */
import { RESOURCES, apiVersionOf, groupVersions, type ResourceDef } from './resources.js';

export type DiscoveryVersion = 'v2' | 'v2beta1';

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(accept: string | undefined): MediaRange[] {
  if (!accept) return [];
  return accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
    }
    return { type: type.toLowerCase(), params: p };
  });
}

/** The aggregated discovery version the client prefers, if it asks for one. */
export function negotiateAggregated(accept: string | undefined): DiscoveryVersion | undefined {
  for (const range of parseAccept(accept)) {
    if (range.type !== 'application/json') continue;
    if (range.params.g !== 'apidiscovery.k8s.io' || range.params.as !== 'APIGroupDiscoveryList') continue;
    if (range.params.v === 'v2' || range.params.v === 'v2beta1') return range.params.v;
  }
  return undefined;
}

export function aggregatedContentType(version: DiscoveryVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

function resourceDiscovery(def: ResourceDef) {
  return {
    resource: def.plural,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: def.singular,
    verbs: def.verbs,
    ...(def.shortNames ? { shortNames: def.shortNames } : {}),
    ...(def.categories ? { categories: def.categories } : {}),
    ...(def.subresources
      ? {
          subresources: def.subresources.map((s) => ({
            subresource: s.name,
            responseKind: { group: s.group ?? def.group, version: s.version ?? def.version, kind: s.kind || def.kind },
            verbs: s.verbs,
          })),
        }
      : {}),
  };
}

/** `APIGroupDiscoveryList` for `/api` (core only) or `/apis` (every named group). */
export function aggregatedDiscovery(version: DiscoveryVersion, core: boolean) {
  const groups = new Map<string, ResourceDef[]>();
  for (const def of RESOURCES) {
    if ((def.group === '') !== core) continue;
    const list = groups.get(def.group) ?? [];
    list.push(def);
    groups.set(def.group, list);
  }
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: [...groups.entries()].map(([group, defs]) => ({
      metadata: group ? { name: group } : {},
      versions: [
        {
          version: defs[0]!.version,
          resources: defs.map(resourceDiscovery),
          freshness: 'Current',
        },
      ],
    })),
  };
}

export function legacyApiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string) {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: apiVersionOf(gv), version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function legacyApiGroupList() {
  const names = [...new Set(groupVersions().map((gv) => gv.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map(apiGroup) };
}

/** `/apis/<group>`: the APIGroup, or undefined for an unknown group. */
export function legacyApiGroup(group: string) {
  if (!RESOURCES.some((d) => d.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

/** `/api/v1`, `/apis/<g>/<v>`: the APIResourceList, or undefined for an unknown group-version. */
export function legacyResourceList(group: string, version: string) {
  const defs = RESOURCES.filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const def of defs) {
    resources.push({
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: def.verbs,
      ...(def.shortNames ? { shortNames: def.shortNames } : {}),
      ...(def.categories ? { categories: def.categories } : {}),
    });
    for (const s of def.subresources ?? []) {
      resources.push({
        name: `${def.plural}/${s.name}`,
        singularName: '',
        namespaced: def.namespaced,
        ...(s.group !== undefined ? { group: s.group, version: s.version } : {}),
        kind: s.kind || def.kind,
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}
