import { LRUCache } from 'lru-cache';
import { WritegateError } from '../../errors.js';
import { isObject, type CurrentReader } from './resolve.js';

interface ZoneName {
  name: string;
  /** The id of the account that owns the zone. */
  account: string;
}

/**
 * The name and account of the zones writes address, read from Cloudflare (`GET /zones/<id>`, as the caller) and
 * kept for 60 s: a zone's name never changes while its id exists (a zone is renamed by adding another), so the
 * cache cannot tell the policy a wrong name, only spare a read. A caller that may not read the zone meets
 * Cloudflare's refusal on the cache miss, or on the write itself.
 */
export class ZoneNames {
  private readonly cache = new LRUCache<string, ZoneName>({ max: 10_000, ttl: 60_000 });

  async lookup(zonePath: string, reader: CurrentReader): Promise<ZoneName> {
    const hit = this.cache.get(zonePath);
    if (hit) return hit;
    const zone = await reader.read(zonePath);
    if (!isObject(zone) || typeof zone.name !== 'string') {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${zonePath} answered a zone without a name`);
    }
    const account = isObject(zone.account) && typeof zone.account.id === 'string' ? zone.account.id : '';
    const found = { name: zone.name, account };
    this.cache.set(zonePath, found);
    return found;
  }
}
