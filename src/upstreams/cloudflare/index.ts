import { defineKind } from '../types.js';
import { CloudflareAdapter } from './adapter.js';
import { cloudflareOptions } from './config.js';

/** The Cloudflare API v4 (/client/v4/...): Cloudflare's error envelopes, DNS batches judged element by element. */
export const cloudflareKind = defineKind({
  name: 'cloudflare',
  optionsSchema: cloudflareOptions,
  identities: ['upstream', 'none'],
  // An API token (API reference, "Security": `Authorization: Bearer <token>`).
  heldCredential: { header: 'authorization', prefix: () => 'Bearer ' },
  create: (config, { client }) => new CloudflareAdapter(config, client),
});
