import { z } from 'zod';

/**
 * `upstreams[].netbox`: the NetBox kind has no options of its own today (who the caller is: `upstreams[].identity`,
 * `upstream` asking NetBox's authentication check).
 */
export const netboxOptions = z.strictObject({});

export type NetboxOptions = z.output<typeof netboxOptions>;
