import closeWithGrace from 'close-with-grace';
import { Command } from 'commander';
import pino from 'pino';
import { startGateway } from '../app/server.js';
import { loadConfigFile } from '../src/config/load.js';
import { fail } from './exit.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the gateway from a YAML configuration file.')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--log-level <level>', 'app log level (the decision log is separate)', 'info')
    .action(async (opts: { config: string; logLevel: string }) => {
      try {
        const config = loadConfigFile(opts.config);
        const logger = pino({ level: opts.logLevel, redact: ['req.headers.authorization'] });
        const gw = await startGateway(config, { logger });
        logger.info({ url: gw.url, opa: gw.opa.url, decisionLog: config.decisionLog.path, upstreams: config.upstreams.map((u) => `${u.prefix} -> ${u.target} (${u.mode})`) }, 'writegate listening');
        closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
          if (err) logger.error({ err }, 'shutting down after an error');
          else logger.info({ signal }, 'shutting down');
          await gw.close();
        });
      } catch (err) {
        fail(err);
      }
    });
}
