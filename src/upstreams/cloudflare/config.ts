import { z } from 'zod';

/** `upstreams[].cloudflare`: how the Cloudflare adapter learns who the caller is. */
export const cloudflareOptions = z.strictObject({
  /**
   * How the caller is identified for `request.userInfo`.
   * `verify`: an API token is verified with Cloudflare (`GET /user/tokens/verify` with the caller's token, cached
   * 60 s per token hash) and is the caller by its token id; a global key's caller is its `X-Auth-Email`.
   * `none`: the caller is not identified (`username: ""`), and no verification call is made.
   */
  identity: z.enum(['verify', 'none']).default('verify'),
});

export type CloudflareOptions = z.output<typeof cloudflareOptions>;
