import { defineKind } from '../types.js';
import { GenericAdapter } from './adapter.js';
import { genericOptions } from './config.js';

/** Any REST API: reads by method (and configured read-only POSTs), resources named by path templates, a plain JSON deny. */
export const genericKind = defineKind({
  name: 'generic',
  optionsSchema: genericOptions,
  identities: ['none'],
  // A bearer token unless the upstream says otherwise (`credentials.header`, `credentials.prefix`).
  heldCredential: { header: 'authorization', prefix: () => 'Bearer ' },
  create: (config, { client }) => new GenericAdapter(config, client),
});
