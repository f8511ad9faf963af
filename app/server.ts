import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../src/config/schema.js';
import { DecisionLog } from '../src/decision/log.js';
import { OpaClient } from '../src/opa/client.js';
import { startLocalOpa, type LocalOpa } from '../src/opa/supervisor.js';
import { VERSION } from '../src/version.js';
import { buildApp, type App } from './app.js';

export interface Gateway {
  url: string;
  app: App;
  opa: OpaClient;
  localOpa: LocalOpa | undefined;
  decisionLog: DecisionLog;
  close(): Promise<void>;
}

export interface GatewayOptions {
  logger?: FastifyBaseLogger | false;
}

/**
 * Starts the gateway: a supervised local OPA when `opa.url` is absent, the
 * decision log, the app, and the listener.
 */
export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const localOpa = config.opa.url ? undefined : await startLocalOpa({ paths: config.opa.policies, watch: true });
  const opa = new OpaClient({ url: config.opa.url ?? localOpa!.url, timeoutMs: config.opa.timeoutMs });
  const { path, maxBytes, keep, refusedInputBytes, refusedPerSecond, refusedBurst } = config.decisionLog;
  const decisionLog = new DecisionLog(path, VERSION, {
    maxBytes, keep, refused: { inputBytes: refusedInputBytes, perSecond: refusedPerSecond, burst: refusedBurst },
  });
  let app: App;
  try {
    app = await buildApp(config, { opa, decisionLog, logger: options.logger ?? false });
    await app.fastify.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await localOpa?.stop();
    throw err;
  }
  const address = app.fastify.server.address() as AddressInfo;
  const scheme = config.listen.tls ? 'https' : 'http';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${scheme}://${host}:${address.port}`,
    app,
    opa,
    localOpa,
    decisionLog,
    async close() {
      await app.close();
      await opa.close();
      decisionLog.close();
      await localOpa?.stop();
    },
  };
}
