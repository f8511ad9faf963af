import type { UpstreamConfig } from '../../config/schema.js';
import { WritegateError } from '../../errors.js';
import { maskSecretObject } from '../../upstreams/kubernetes/mask.js';
import type { AuditObject, AuditSource } from '../types.js';
import { UpstreamReader, isObject, objectList } from './http.js';

/** A resource type to list, as written in `audit.kubernetes.resources`: `v1/pods` (core) or `apps/v1/deployments`. */
export interface KubernetesResource {
  group: string;
  version: string;
  resource: string;
}

/** A resource type as `audit.kubernetes.resources` spells it (checked by the configuration schema): `v1/pods`, `apps/v1/deployments`. */
export function kubernetesResource(text: string): KubernetesResource {
  const parts = text.split('/');
  return parts.length === 2 ? { group: '', version: parts[0]!, resource: parts[1]! } : { group: parts[0]!, version: parts[1]!, resource: parts[2]! };
}

/**
 * Every object of each configured resource type, across namespaces, listed with `limit` and followed through
 * `continue` to the end (Kubernetes API concepts, "Retrieving large results sets in chunks"). A list's items carry
 * no kind; the list's own kind names it (`PodList`).
 */
export function kubernetesSource(upstream: UpstreamConfig, resources: readonly KubernetesResource[], pageSize: number): AuditSource {
  const reader = new UpstreamReader(upstream);
  return {
    source: 'kubernetes',
    origin: upstream.name,
    async *pages(): AsyncIterable<AuditObject[]> {
      for (const r of resources) {
        const groupVersion = r.group ? `${r.group}/${r.version}` : r.version;
        const base = r.group ? `/apis/${groupVersion}/${r.resource}` : `/api/${r.version}/${r.resource}`;
        // No audit rule judges a Secret's values; masked, they reach neither OPA nor its decision log.
        const secrets = r.group === '' && r.resource === 'secrets';
        let token = '';
        do {
          const list = await reader.json(`${base}?limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
          const listKind = isObject(list) && typeof list.kind === 'string' ? list.kind : '';
          if (!listKind.endsWith('List')) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${base} answered a ${listKind || 'document'} instead of a list`);
          const kind = { group: r.group, version: r.version, kind: listKind.slice(0, -'List'.length) };
          yield objectList(list, 'items', `GET ${base}`).map((item) => {
            const meta = isObject(item.metadata) ? item.metadata : {};
            const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
            const name = typeof meta.name === 'string' ? meta.name : '';
            const full = { apiVersion: groupVersion, kind: kind.kind, ...item };
            return {
              resource: `${groupVersion}/${r.resource}`,
              address: `${r.group ? `/apis/${groupVersion}` : `/api/${r.version}`}${ns ? `/namespaces/${ns}` : ''}/${r.resource}/${name}`,
              object: secrets ? maskSecretObject(full) as Record<string, unknown> : full,
              context: { kind },
            };
          });
          const meta = isObject(list) && isObject(list.metadata) ? list.metadata : {};
          token = typeof meta.continue === 'string' ? meta.continue : '';
        } while (token);
      }
    },
    close: () => reader.close(),
  };
}
