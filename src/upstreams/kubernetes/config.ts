import { z } from 'zod';

/** `upstreams[].kubernetes`: how the Kubernetes adapter learns the object a write stores (who the caller is: `upstreams[].identity`). */
export const kubernetesOptions = z.strictObject({
  /**
   * How the gateway learns the object a write would store.
   * `dryrun`: replay the write upstream with dryRun=All (the apiserver merges and decodes; exact).
   * `local`: apply JSON/merge/strategic patches here and decode protobuf metadata (no round trip; see policies/README.md).
   */
  resolve: z.enum(['dryrun', 'local']).default('dryrun'),
  /**
   * With `resolve: dryrun`, JSON and YAML creates and updates are replayed upstream with dryRun=All too, so the
   * policy sees the object as the apiserver will store it (Go zero values for nulls, defaults, YAML 1.1), at the
   * cost of one more upstream round trip per create and update. false: the body as sent (see policies/README.md).
   */
  dryRunWrites: z.boolean().default(true),
});

export type KubernetesOptions = z.output<typeof kubernetesOptions>;
