import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { Command, Option } from 'commander';
import { startGateway } from '../app/server.js';
import { parseConfig } from '../src/config/load.js';
import { projectRoot } from '../src/opa/binary.js';
import { devCertificates } from '../src/tls.js';
import { fail } from './exit.js';

const DEMO_TOKEN = 'writegate-demo-token';
/** The demo's Cloudflare API token: 40 characters, as Cloudflare's are. */
const CF_TOKEN = 'writegate-demo-cloudflare-token-00000000';
/** The NetBox mount; NetBox serves under the same path (its BASE_PATH), so the URLs it answers point at the gateway. */
const NETBOX_MOUNT = '/netbox';

interface Closable {
  close(): Promise<void>;
}

/** What the demo uses of the simulators and of the real NetBox launcher (sim/, built into dist-dev/). */
interface DevModules {
  startKubeSim(options: { tls: { cert: Buffer; key: Buffer }; tokens: Record<string, { username: string; groups: string[] }> }): Promise<Closable & { url: string }>;
  startCloudflareSim(options: { tokens: Record<string, object> }): Promise<Closable & { url: string }>;
  SEED_IDS: { zone: string };
  startNetboxSim(options: { basePath: string }): Promise<Closable & { url: string }>;
  SEED_TOKENS: { admin: string };
  SEED_SLUGS: { site: string; deviceType: string; role: string };
  netboxInstalled(): boolean;
  startNetBox(options: { basePath: string; onProgress: (step: string) => void }): Promise<{ url: string; tokens: { admin: { v2: string } }; stop(): Promise<void> }>;
  SEED: { objects: Record<'site' | 'deviceType' | 'deviceRole', { slug: string }> };
}

/**
 * The simulators and the real NetBox launcher are test and demo infrastructure, not the gateway: they are built
 * into dist-dev/ (tsconfig.dev.json, run by scripts/setup.sh) and never into dist/ or the image, so the demo loads
 * them from there at run time.
 */
async function loadDevModules(root: string): Promise<DevModules> {
  const files = ['kubernetes/index.js', 'cloudflare/index.js', 'netbox/index.js', 'netbox/real.js'].map((f) => join(root, 'dist-dev', 'sim', f));
  const missing = files.find((f) => !existsSync(f));
  if (missing) {
    throw new Error(`writegate demo needs the simulators, which are not part of the gateway build (${missing} is missing): run \`npm run build:dev\` (scripts/setup.sh does) in ${root}`);
  }
  const modules = await Promise.all(files.map(async (f) => (await import(pathToFileURL(f).href)) as object));
  return Object.assign({}, ...modules) as DevModules;
}

type NetboxMode = 'sim' | 'real' | 'auto';

/** The NetBox behind the demo's mount: its URL (with the mount's path), the demo's token, the slugs a device needs. */
interface DemoNetbox extends Closable {
  url: string;
  what: string;
  token: string;
  slugs: { site: string; deviceType: string; role: string };
}

async function startDemoNetbox(dev: DevModules, mode: NetboxMode, say: (line: string) => void): Promise<DemoNetbox> {
  const basePath = NETBOX_MOUNT.slice(1);
  const useReal = mode === 'real' || (mode === 'auto' && dev.netboxInstalled());
  if (useReal) {
    say('NetBox: starting the real NetBox (scripts/setup-netbox.sh installed it) with its own PostgreSQL and Redis; this takes a few seconds');
    try {
      const started = Date.now();
      const nb = await dev.startNetBox({ basePath, onProgress: (step) => say(`NetBox: ${step}`) });
      say(`NetBox: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const { site, deviceType, deviceRole } = dev.SEED.objects;
      return {
        url: nb.url, what: 'NetBox (real)', token: nb.tokens.admin.v2, close: () => nb.stop(),
        slugs: { site: site.slug, deviceType: deviceType.slug, role: deviceRole.slug },
      };
    } catch (err) {
      if (mode === 'real') throw err;
      say(`NetBox: the real NetBox did not start (${(err as Error).message.split('\n')[0]}); using the NetBox simulator`);
    }
  }
  const sim = await dev.startNetboxSim({ basePath });
  return { url: sim.url, what: 'NetBox simulator', token: dev.SEED_TOKENS.admin, close: () => sim.close(), slugs: dev.SEED_SLUGS };
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('Start a local OPA (loaded with ./policies), Kubernetes and Cloudflare simulators, NetBox (the real one when installed, else a simulator) and the gateway over TLS, and print commands to try.')
    .option('-p, --port <port>', 'gateway port (0 picks a free one)', '8443')
    .option('-d, --dir <dir>', 'where the demo keeps its certificates, kubeconfig and decision log', '.work/demo')
    .addOption(new Option('--netbox <mode>', 'NetBox behind /netbox: the real one (installed by scripts/setup-netbox.sh), the simulator, or the real one when installed').choices(['sim', 'real', 'auto']).default('auto'))
    .action(async (opts: { port: string; dir: string; netbox: NetboxMode }) => {
      const started: Closable[] = [];
      const say = (line: string): void => {
        process.stdout.write(`${line}\n`);
      };
      try {
        const root = projectRoot();
        const dir = resolve(opts.dir);
        mkdirSync(dir, { recursive: true });
        const certs = devCertificates(join(dir, 'certs'));
        const dev = await loadDevModules(root);
        const track = async <T extends Closable>(p: Promise<T>): Promise<T> => {
          const s = await p;
          started.push(s);
          return s;
        };
        // Started side by side (the real NetBox takes seconds); each one that starts is closed again if another fails.
        const [kube, cf, netbox] = await Promise.allSettled([
          track(dev.startKubeSim({
            tls: { cert: readFileSync(certs.cert), key: readFileSync(certs.key) },
            tokens: { [DEMO_TOKEN]: { username: 'demo-user', groups: ['devs', 'system:authenticated'] } },
          })),
          track(dev.startCloudflareSim({ tokens: { [CF_TOKEN]: {} } })),
          track(startDemoNetbox(dev, opts.netbox, say)),
        ]).then((all) => all.map((r) => {
          if (r.status === 'rejected') throw r.reason;
          return r.value;
        }) as [Closable & { url: string }, Closable & { url: string }, DemoNetbox]);
        const logPath = join(dir, 'decisions.log');
        const config = parseConfig({
          listen: { host: '127.0.0.1', port: Number(opts.port), tls: { cert: certs.cert, key: certs.key } },
          opa: { policies: [join(root, 'policies')] },
          decisionLog: { path: logPath },
          upstreams: [
            { name: 'k8s', kind: 'kubernetes', prefix: '/k8s', target: kube.url, policy: 'writegate/kubernetes/decision', mode: 'enforce', tls: { ca: certs.caCert } },
            { name: 'cf', kind: 'cloudflare', prefix: '/cf', target: cf.url, policy: 'writegate/cloudflare/decision', mode: 'enforce' },
            { name: 'netbox', kind: 'netbox', prefix: NETBOX_MOUNT, target: netbox.url, policy: 'writegate/netbox/decision', mode: 'enforce' },
          ],
        });
        const gw = await track(startGateway(config));
        const kubeconfig = join(dir, 'kubeconfig');
        writeFileSync(kubeconfig, [
          'apiVersion: v1', 'kind: Config', 'current-context: writegate',
          'clusters:', '- name: writegate', '  cluster:', `    server: ${gw.url}/k8s`, `    certificate-authority: ${certs.caCert}`,
          'users:', '- name: demo', '  user:', `    token: ${DEMO_TOKEN}`,
          'contexts:', '- name: writegate', '  context: {cluster: writegate, user: demo, namespace: default}', '',
        ].join('\n'));
        const ex = join(root, 'examples', 'demo');
        const k = `kubectl --kubeconfig ${kubeconfig}`;
        // -i shows the response headers, X-Decision-Id among them.
        const curl = (token: string): string => `curl -si --cacert ${certs.caCert} -H 'Authorization: Bearer ${token}'`;
        const json = (body: object): string => `-H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`;
        const cfRecords = `${gw.url}/cf/client/v4/zones/${dev.SEED_IDS.zone}/dns_records`;
        const nbDevices = `${gw.url}${NETBOX_MOUNT}/api/dcim/devices/`;
        const nbDevice = (name: string): object => ({ name, device_type: { slug: netbox.slugs.deviceType }, role: { slug: netbox.slugs.role }, site: { slug: netbox.slugs.site } });
        say([
          '',
          `writegate demo is running: gateway ${gw.url}, OPA ${gw.opa.url}`,
          `  ${gw.url}/k8s    -> Kubernetes simulator ${kube.url}`,
          `  ${gw.url}/cf     -> Cloudflare simulator ${cf.url}`,
          `  ${gw.url}${NETBOX_MOUNT} -> ${netbox.what} ${netbox.url}`,
          `kubeconfig: ${kubeconfig}`,
          `decision log: ${logPath}`,
          '',
          'Try Kubernetes:',
          `  ${k} get pods -A                                   # a read: passes straight through`,
          `  ${k} apply -f ${join(ex, 'deployment-allowed.yaml')}   # an allowed write (see X-Decision-Id in the log)`,
          `  ${k} apply -f ${join(ex, 'deployment-denied.yaml')}    # denied: Error from server (Forbidden) with the reasons`,
          '',
          'Try Cloudflare (the X-Decision-Id header names the decision):',
          `  ${curl(CF_TOKEN)} ${cfRecords}   # a read: passes straight through`,
          `  ${curl(CF_TOKEN)} ${json({ type: 'A', name: 'demo', content: '192.0.2.50', ttl: 300 })} ${cfRecords}   # an allowed write`,
          `  ${curl(CF_TOKEN)} ${json({ type: 'A', name: 'fast', content: '192.0.2.51', ttl: 30 })} ${cfRecords}   # denied: 403 in Cloudflare's envelope (TTL under 60 s)`,
          '',
          'Try NetBox:',
          `  ${curl(netbox.token)} '${nbDevices}?brief=1'   # a read: passes straight through`,
          `  ${curl(netbox.token)} ${json(nbDevice('ams1-leaf-03'))} ${nbDevices}   # an allowed write`,
          `  ${curl(netbox.token)} ${json(nbDevice('Leaf3'))} ${nbDevices}   # denied: 403 {"detail": ...} (device name pattern)`,
          '',
          `Watch the decisions: npx writegate logs --file ${logPath} --follow`,
          'Stop with Ctrl-C.',
          '',
        ].join('\n'));
        closeWithGrace({ delay: 10_000 }, async () => {
          for (const s of started.reverse()) await s.close();
        });
      } catch (err) {
        await Promise.allSettled(started.map((s) => s.close()));
        fail(err);
      }
    });
}
