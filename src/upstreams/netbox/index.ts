import { defineKind } from '../types.js';
import { NetboxAdapter } from './adapter.js';
import { netboxOptions } from './config.js';

/** The NetBox REST API (/api/<app>/<model>/[<id>/]): bulk writes judged element by element, NetBox's {"detail"} errors. */
export const netboxKind = defineKind({
  name: 'netbox',
  optionsSchema: netboxOptions,
  identities: ['upstream', 'none'],
  // A v1 token is `Token <40 hex>`, a v2 one `Bearer nbt_<key>.<secret>` (NetBox keys the scheme on the prefix).
  heldCredential: { header: 'authorization', prefix: (secret) => (secret.startsWith('nbt_') ? 'Bearer ' : 'Token ') },
  create: (config, { client }) => new NetboxAdapter(config, client),
});
