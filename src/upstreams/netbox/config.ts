import { z } from 'zod';

/** `upstreams[].netbox`: how the NetBox adapter learns who the caller is. */
export const netboxOptions = z.strictObject({
  /**
   * How the caller is identified for `request.userInfo`.
   * `check`: NetBox is asked with the caller's credentials (`GET /api/authentication-check/`, NetBox ≥ 4.5, cached
   * 60 s per credential hash); the caller is the user it answers, with its groups.
   * `none`: the caller is not identified (`username: ""`), and no call is made.
   */
  identity: z.enum(['check', 'none']).default('check'),
});

export type NetboxOptions = z.output<typeof netboxOptions>;
