import type { UpstreamConfig } from '../config/schema.js';
import { WritegateError } from '../errors.js';
import { awsKind } from './aws/index.js';
import { cloudflareKind } from './cloudflare/index.js';
import { genericKind } from './generic/index.js';
import { kubernetesKind } from './kubernetes/index.js';
import { netboxKind } from './netbox/index.js';
import type { AdapterDeps, UpstreamAdapter, UpstreamKind } from './types.js';

/**
 * Every kind the gateway can mount. A new kind is its folder (src/upstreams/<name>/, whose index.ts exports one
 * {@link UpstreamKind}) and one line here; the configuration schema, the app and the tests take it from this list.
 */
export const KINDS = [
  kubernetesKind,
  cloudflareKind,
  netboxKind,
  genericKind,
  awsKind,
] as const;

export type RegisteredKind = (typeof KINDS)[number];

/** The registered kind called `name`. */
export function kindNamed(name: string): UpstreamKind | undefined {
  return (KINDS as readonly UpstreamKind[]).find((k) => k.name === name);
}

/** The adapter of one configured upstream, built by its kind. */
export function createAdapter(config: UpstreamConfig, deps: AdapterDeps): UpstreamAdapter {
  const kind = kindNamed(config.kind);
  if (!kind) throw new WritegateError('WG_ERR_CONFIG_INVALID', `upstream ${config.name}: no kind "${config.kind}"`);
  // The schema gave this upstream the options block of its own kind (src/config/schema.ts), which is what the
  // kind's create() is typed to receive; TypeScript cannot follow that through the lookup by name.
  return kind.create(config as never, deps);
}
