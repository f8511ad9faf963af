import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { Command } from 'commander';
import { startGateway } from '../app/server.js';
import { parseConfig } from '../src/config/load.js';
import { projectRoot } from '../src/opa/binary.js';
import { devCertificates } from '../src/tls.js';
import { fail } from './exit.js';

const DEMO_TOKEN = 'writegate-demo-token';

/** What the demo uses of the Kubernetes simulator (sim/kubernetes/index.ts). */
interface DemoSim {
  url: string;
  close(): Promise<void>;
}
type StartKubeSim = (options: { tls: { cert: Buffer; key: Buffer }; tokens: Record<string, { username: string; groups: string[] }> }) => Promise<DemoSim>;

/**
 * The simulators are test and demo infrastructure, not the gateway: they are built into dist-dev/ (tsconfig.dev.json,
 * run by scripts/setup.sh) and never into dist/ or the image, so the demo loads one from there at run time.
 */
async function loadKubeSim(root: string): Promise<StartKubeSim> {
  const file = join(root, 'dist-dev', 'sim', 'kubernetes', 'index.js');
  if (!existsSync(file)) {
    throw new Error(`writegate demo needs the simulators, which are not part of the gateway build: run \`npm run build:dev\` (scripts/setup.sh does) in ${root}`);
  }
  return ((await import(pathToFileURL(file).href)) as { startKubeSim: StartKubeSim }).startKubeSim;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('Start a local OPA (loaded with ./policies), the Kubernetes simulator and the gateway over TLS, and print commands to try.')
    .option('-p, --port <port>', 'gateway port (0 picks a free one)', '8443')
    .option('-d, --dir <dir>', 'where the demo keeps its certificates, kubeconfig and decision log', '.work/demo')
    .action(async (opts: { port: string; dir: string }) => {
      try {
        const root = projectRoot();
        const dir = resolve(opts.dir);
        mkdirSync(dir, { recursive: true });
        const certs = devCertificates(join(dir, 'certs'));
        const startKubeSim = await loadKubeSim(root);
        const sim = await startKubeSim({
          tls: { cert: readFileSync(certs.cert), key: readFileSync(certs.key) },
          tokens: { [DEMO_TOKEN]: { username: 'demo-user', groups: ['devs', 'system:authenticated'] } },
        });
        const logPath = join(dir, 'decisions.log');
        const config = parseConfig({
          listen: { host: '127.0.0.1', port: Number(opts.port), tls: { cert: certs.cert, key: certs.key } },
          opa: { policies: [join(root, 'policies')] },
          decisionLog: { path: logPath },
          upstreams: [{
            name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: sim.url,
            policy: 'writegate/kubernetes/decision', mode: 'enforce', tls: { ca: certs.caCert },
          }],
        });
        const gw = await startGateway(config);
        const kubeconfig = join(dir, 'kubeconfig');
        writeFileSync(kubeconfig, [
          'apiVersion: v1', 'kind: Config', 'current-context: writegate',
          'clusters:', '- name: writegate', '  cluster:', `    server: ${gw.url}/k8s`, `    certificate-authority: ${certs.caCert}`,
          'users:', '- name: demo', '  user:', `    token: ${DEMO_TOKEN}`,
          'contexts:', '- name: writegate', '  context: {cluster: writegate, user: demo, namespace: default}', '',
        ].join('\n'));
        const ex = join(root, 'examples', 'demo');
        const k = `kubectl --kubeconfig ${kubeconfig}`;
        process.stdout.write([
          '',
          `writegate demo is running: gateway ${gw.url}/k8s -> Kubernetes simulator ${sim.url}, OPA ${gw.opa.url}`,
          `kubeconfig: ${kubeconfig}`,
          `decision log: ${logPath}`,
          '',
          'Try:',
          `  ${k} get pods -A                                   # a read: passes straight through`,
          `  ${k} apply -f ${join(ex, 'deployment-allowed.yaml')}   # an allowed write (see X-Decision-Id in the log)`,
          `  ${k} apply -f ${join(ex, 'deployment-denied.yaml')}    # denied: Error from server (Forbidden) with the reasons`,
          '',
          `Watch the decisions: npx writegate logs --file ${logPath} --follow`,
          'Stop with Ctrl-C.',
          '',
        ].join('\n'));
        closeWithGrace({ delay: 5_000 }, async () => {
          await gw.close();
          await sim.close();
        });
      } catch (err) {
        fail(err);
      }
    });
}
