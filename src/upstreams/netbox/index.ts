import { defineKind } from '../types.js';
import { NetboxAdapter } from './adapter.js';
import { netboxOptions } from './config.js';

/** The NetBox REST API (/api/<app>/<model>/[<id>/]): bulk writes judged element by element, NetBox's {"detail"} errors. */
export const netboxKind = defineKind({
  name: 'netbox',
  optionsSchema: netboxOptions,
  create: (config, { client }) => new NetboxAdapter(config, client),
});
