import { z } from 'zod';

/**
 * `upstreams[].cloudflare`: the Cloudflare kind has no options of its own today (who the caller is:
 * `upstreams[].identity`, `upstream` verifying an API token with Cloudflare).
 */
export const cloudflareOptions = z.strictObject({});

export type CloudflareOptions = z.output<typeof cloudflareOptions>;
