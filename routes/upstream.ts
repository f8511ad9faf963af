import replyFrom from '@fastify/reply-from';
import type { FastifyInstance } from 'fastify';
import type { Gate } from '../src/gate.js';
import { bodyParser, classifyHook, errorHandler, proxyHandler } from '../src/proxy.js';
import type { UpstreamClient } from '../src/upstreams/client.js';

export interface UpstreamRouteOptions {
  /** Mount path (not Fastify's `prefix` option: the raw URL, prefix included, is what the gate reads). */
  mount: string;
  gate: Gate;
  client: UpstreamClient;
  bodyLimit: number;
}

/** One upstream mount: prefix, body parser, gate hook, proxy call. */
export async function upstreamRoutes(app: FastifyInstance, opts: UpstreamRouteOptions): Promise<void> {
  await app.register(replyFrom, { base: opts.client.origin, undici: opts.client.pool, disableRequestLogging: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', bodyParser(opts.bodyLimit));
  app.setErrorHandler(errorHandler(opts.gate));
  const route = { onRequest: classifyHook(opts.gate, opts.mount), handler: proxyHandler(opts.gate, opts.client) };
  app.all(opts.mount, route);
  app.all(`${opts.mount}/*`, route);
}
