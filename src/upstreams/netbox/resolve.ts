/**
 * What a NetBox write does to the objects it names: the current object (`oldObject`, read from NetBox with the
 * caller's credentials) and the resulting one (`object`), as policies/README.md defines them for this kind.
 * The client's bytes are forwarded unchanged; a single update or delete is pinned by If-Match (./adapter.ts pin),
 * bulk writes are not (NetBox checks no precondition on them).
 */
import { WritegateError } from '../../errors.js';
import type { UpstreamClient } from '../client.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Current objects read at once for a bulk write: bounded, so one request cannot open a flood of side calls. */
const READ_CONCURRENCY = 8;

/** Reads objects from NetBox as the caller. */
export class CurrentReader {
  /** `headers`: the caller's credentials and the call's own headers (../headers.ts callHeaders). */
  constructor(private readonly upstream: UpstreamClient, private readonly headers: Record<string, string | string[]>) {}

  /**
   * The object at `rawPath` as NetBox answers a GET, or null when NetBox says it does not exist (404: the write
   * meets the same 404). Any other refusal (the token may not view it, or is invalid) refuses the write with
   * NetBox's own answer, relayed as it is: the write would meet the same refusal, or act on an object the policy
   * was not shown.
   */
  async read(rawPath: string): Promise<Json> {
    return (await this.readWithTag(rawPath)).object;
  }

  /** {@link read}, with the weak ETag NetBox answers for the object's version (`last_updated`), if any. */
  async readWithTag(rawPath: string): Promise<{ object: Json; etag: string | undefined }> {
    const res = await this.upstream.request('GET', rawPath, this.headers);
    if (res.status === 404) return { object: null, etag: undefined };
    if (res.status !== 200) {
      throw new WritegateError('WG_ERR_RESOLVE_FAILED', `reading the current object (GET ${rawPath}) answered ${res.status}`, {
        details: { upstreamResponse: { status: res.status, headers: res.headers, body: res.body } },
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(res.body.toString('utf8'));
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${rawPath} answered something other than JSON`, { cause: err });
    }
    if (!isObject(value) || Array.isArray(value.results)) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${rawPath} answered something other than one object`);
    }
    const etag = res.headers.etag;
    return { object: value, etag: typeof etag === 'string' ? etag : undefined };
  }
}

/**
 * The object an update leaves: the body's fields over the current object's. NetBox's serializers (Django REST
 * framework ModelSerializer.update) set the fields the body names and keep the others, for a PUT as for a PATCH;
 * a related object or a list in the body replaces the stored one whole. The `id` stays the stored one: it is a
 * read-only field, which the serializer ignores in a body. Without a current object (NetBox will answer 404) the
 * object is the body.
 */
export function updated(current: Json, body: Json): Json {
  if (!isObject(body)) return null;
  if (!isObject(current)) return body;
  return 'id' in current ? { ...current, ...body, id: current.id! } : { ...current, ...body };
}

export interface NbItem {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  id: number | null;
  body: Json;
  object: Json;
  oldObject: Json;
}

/**
 * The elements of a bulk write (a list body on the list endpoint `listPath`), in order. Each element must be an
 * object; an update's or delete's must name its object by an integer `id`: NetBox's BulkOperationSerializer would
 * also take `"12"` or `12.0`, which the policy could not be shown as the object NetBox picks.
 */
export async function bulkItems(method: string, body: Json[], listPath: string, reader: CurrentReader): Promise<NbItem[]> {
  const operation = method === 'POST' ? 'CREATE' : method === 'DELETE' ? 'DELETE' : 'UPDATE';
  body.forEach((el, i) => {
    if (!isObject(el)) throw new WritegateError('WG_ERR_BAD_REQUEST', `element ${i} of the bulk write is not a JSON object`);
    if (operation !== 'CREATE' && !(typeof el.id === 'number' && Number.isSafeInteger(el.id) && el.id > 0)) {
      throw new WritegateError('WG_ERR_BAD_REQUEST', `element ${i} of the bulk ${method} has no positive integer "id"`);
    }
  });
  const elements = body as JsonObject[];
  if (operation === 'CREATE') return elements.map((el) => ({ operation, id: null, body: el, object: el, oldObject: null }));
  const current: Json[] = new Array<Json>(elements.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < elements.length) {
      const i = next++;
      current[i] = await reader.read(`${listPath}${elements[i]!.id as number}/`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, elements.length) }, worker));
  return elements.map((el, i) => ({
    operation,
    id: el.id as number,
    body: el,
    object: operation === 'DELETE' ? null : updated(current[i]!, el),
    oldObject: current[i]!,
  }));
}
