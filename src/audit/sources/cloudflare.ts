import type { UpstreamConfig } from '../../config/schema.js';
import { WritegateError } from '../../errors.js';
import type { AuditObject, AuditSource } from '../types.js';
import { UpstreamReader, isObject, objectList } from './http.js';

const API = '/client/v4';

/** Cloudflare's largest page of zones (API reference, List Zones: per_page 5..50). */
const MAX_ZONES_PER_PAGE = 50;

/**
 * Every page of a Cloudflare list: `page`/`per_page` until `result_info.total_pages` (API reference, "Pagination").
 */
async function* paged(reader: UpstreamReader, path: string, perPage: number): AsyncIterable<Record<string, unknown>[]> {
  for (let page = 1; ; page++) {
    const answer = await reader.json(`${API}${path}${path.includes('?') ? '&' : '?'}page=${page}&per_page=${perPage}`);
    if (!isObject(answer) || answer.success !== true) throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${API}${path} did not succeed`);
    yield objectList(answer, 'result', `GET ${API}${path}`);
    const info = isObject(answer.result_info) ? answer.result_info : {};
    const total = typeof info.total_pages === 'number' ? info.total_pages : page;
    if (page >= total) return;
  }
}

/**
 * Zones, each zone's DNS records and its rulesets (the zone's own read whole, since the list has no rules). The
 * zone's name goes with its records as context: rules about the apex need it.
 */
export function cloudflareSource(upstream: UpstreamConfig, pageSize: number): AuditSource {
  const reader = new UpstreamReader(upstream);
  return {
    source: 'cloudflare',
    origin: upstream.name,
    async *pages(): AsyncIterable<AuditObject[]> {
      for await (const zones of paged(reader, '/zones', Math.max(5, Math.min(MAX_ZONES_PER_PAGE, pageSize)))) {
        for (const zone of zones) {
          const id = String(zone.id);
          const context = { zone: id, zoneName: String(zone.name) };
          yield [{ resource: 'zones', address: `zones/${id}`, object: zone, context }];
          for await (const records of paged(reader, `/zones/${encodeURIComponent(id)}/dns_records`, Math.max(5, pageSize))) {
            yield records.map((object) => ({ resource: 'dns_records', address: `zones/${id}/dns_records/${String(object.id)}`, object, context }));
          }
          const listed = await reader.json(`${API}/zones/${encodeURIComponent(id)}/rulesets`);
          const rulesets: AuditObject[] = [];
          for (const summary of objectList(listed, 'result', `GET ${API}/zones/${id}/rulesets`)) {
            // The zone's own rulesets are read whole; managed ones (Cloudflare's, listed in every zone) are not the zone's.
            const whole = summary.kind === 'zone' ? await reader.json(`${API}/zones/${encodeURIComponent(id)}/rulesets/${encodeURIComponent(String(summary.id))}`) : undefined;
            const object = isObject(whole) && isObject(whole.result) ? whole.result : summary;
            rulesets.push({ resource: 'rulesets', address: `zones/${id}/rulesets/${String(summary.id)}`, object, context });
          }
          yield rulesets;
        }
      }
    },
    close: () => reader.close(),
  };
}
