import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../src/metrics.js';
import type { OpaClient } from '../src/opa/client.js';

export interface OpsRouteOptions {
  opa: OpaClient;
  metrics: Metrics;
}

/** Operations endpoints under /-/ (never proxied). */
export async function opsRoutes(app: FastifyInstance, opts: OpsRouteOptions): Promise<void> {
  app.get('/-/healthz', async () => ({ status: 'ok' }));
  app.get('/-/readyz', async (_req, reply) => {
    const opa = await opts.opa.healthy();
    return reply.code(opa ? 200 : 503).send({ status: opa ? 'ready' : 'not ready', opa });
  });
  app.get('/-/metrics', async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
