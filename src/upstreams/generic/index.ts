import { defineKind } from '../types.js';
import { GenericAdapter } from './adapter.js';
import { genericOptions } from './config.js';

/** Any REST API: reads by method (and configured read-only POSTs), resources named by path templates, a plain JSON deny. */
export const genericKind = defineKind({
  name: 'generic',
  optionsSchema: genericOptions,
  create: (config) => new GenericAdapter(config),
});
