import type { UpstreamConfig } from '../../config/schema.js';
import type { AuditObject, AuditSource } from '../types.js';
import { UpstreamReader, isObject, objectList } from './http.js';

/** The NetBox models the audit reads. */
export const NETBOX_RESOURCES = ['dcim/devices', 'ipam/prefixes', 'ipam/ip-addresses'] as const;

/**
 * Devices, prefixes and IP addresses, listed with NetBox's limit/offset pagination (ordered by id, so that pages
 * do not shift under the reader) until a page answers no `next`.
 */
export function netboxSource(upstream: UpstreamConfig, pageSize: number): AuditSource {
  const reader = new UpstreamReader(upstream);
  return {
    source: 'netbox',
    origin: upstream.name,
    async *pages(): AsyncIterable<AuditObject[]> {
      for (const resource of NETBOX_RESOURCES) {
        let offset = 0;
        for (;;) {
          const path = `/api/${resource}/?limit=${pageSize}&offset=${offset}&ordering=id`;
          const page = await reader.json(path);
          const results = objectList(page, 'results', `GET /api/${resource}/`);
          yield results.map((object) => ({ resource, address: `/api/${resource}/${String(object.id)}/`, object, context: {} }));
          offset += results.length;
          if (results.length === 0 || !isObject(page) || page.next === null || page.next === undefined) break;
        }
      }
    },
    close: () => reader.close(),
  };
}
