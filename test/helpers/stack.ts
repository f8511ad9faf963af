import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { startGateway, type Gateway, type GatewayOptions } from '../../app/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { LogEvent, DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { startKubeSim, type KubeSim } from '../../sim/kubernetes/index.js';
import { devCertificates, type DevCertificates } from '../../src/tls.js';

export const TOKENS = {
  admin: 'admin-token-0123456789',
  alice: 'alice-token-0123456789',
  ops: 'ops-token-0123456789',
};

export const SIM_TOKENS = {
  [TOKENS.admin]: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
  [TOKENS.alice]: { username: 'alice', uid: 'u-alice', groups: ['devs', 'system:authenticated'] },
  [TOKENS.ops]: { username: 'olga', groups: ['ops', 'system:authenticated'] },
};

export interface StackOptions {
  mode?: 'enforce' | 'dryrun' | 'warn';
  resolve?: 'dryrun' | 'local';
  failOpen?: boolean;
  bodyBytes?: number;
  opaTimeoutMs?: number;
  engine?: 'residual' | 'opa';
  /** OPA data path of the decision (default: the shipped writegate/kubernetes/decision). */
  policy?: string;
  /** Decision log path (default: a file in the stack's temporary folder). */
  logPath?: string;
  /** Other `limits` keys (timeouts, connection and stream caps). */
  limits?: Omit<NonNullable<RawConfig['limits']>, 'bodyBytes'>;
  /** Other `decisionLog` keys (rotation, refused-record bounds). */
  decisionLog?: Omit<NonNullable<RawConfig['decisionLog']>, 'path'>;
  /** How the Kubernetes mount learns userInfo (`upstreams[].identity`; default: gateway with `auth`, else selfsubjectreview). */
  identity?: 'selfsubjectreview' | 'tokenreview' | 'gateway' | 'none';
  /** Caller authentication (`listen.auth`); absent, the gateway authenticates no caller itself. */
  auth?: NonNullable<RawConfig['listen']>['auth'];
  /** Client certificates (`listen.tls.clientCA`, `clientAuth`): PEM file of the CA they must chain to. */
  clientCA?: string;
  clientAuth?: 'optional' | 'required';
  /** The Kubernetes mount's `credentials` (default: passthrough). */
  credentials?: StackUpstream['credentials'];
  /** The simulator accepts every request as `admin`, with or without a token (default: only the tokens of SIM_TOKENS). */
  simOpen?: boolean;
  /**
   * What the gateway mounts (default ['kubernetes']): 'kubernetes' is the Kubernetes simulator at /k8s, configured
   * by the options above; any other entry is an upstream's configuration as written in a config file (its `kind`,
   * name, prefix, target, policy and kind options), whose upstream the test started itself.
   */
  kinds?: StackKind[];
  /** `notify:` of the configuration (default: none). */
  notify?: RawConfig['notify'];
  /** The gateway's app log (default: none). */
  logger?: GatewayOptions['logger'];
}

export type StackUpstream = RawConfig['upstreams'][number];
export type StackKind = 'kubernetes' | StackUpstream;

export interface Stack {
  gateway: Gateway;
  /** The Kubernetes simulator (throws when `kinds` leaves out 'kubernetes'). */
  sim: KubeSim;
  opa: LocalOpa;
  /** Decision ids OPA itself logged (its console decision log). */
  opaDecisionIds: Set<string>;
  certs: DevCertificates;
  /** Base URL of the Kubernetes mount, e.g. https://127.0.0.1:PORT/k8s (throws when `kinds` leaves out 'kubernetes'). */
  k8s: string;
  /** Base URL of the mount of the upstream called `name`, e.g. https://127.0.0.1:PORT/cf */
  url(name: string): string;
  dir: string;
  logPath: string;
  dispatcher: Agent;
  events(): LogEvent[];
  decisions(): DecisionEvent[];
  /** Sends bytes exactly as given (no client-side URL normalisation) and returns the status and body. */
  raw(method: string, path: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  call(method: string, path: string, init?: { body?: string | Buffer; headers?: Record<string, string>; token?: string }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'writegate-test-'));
  const certs = devCertificates(join(dir, 'certs'));
  const opaDecisionIds = new Set<string>();
  const opa = await startLocalOpa({
    paths: [join(projectRoot(), 'policies')],
    onLog: (line) => {
      if (!line.startsWith('{')) return;
      try {
        const e = JSON.parse(line) as { decision_id?: string; msg?: string };
        if (e.msg === 'Decision Log' && e.decision_id) opaDecisionIds.add(e.decision_id);
      } catch {
        // not a JSON line
      }
    },
  });
  const kinds = options.kinds ?? ['kubernetes'];
  const sim = kinds.includes('kubernetes')
    ? await startKubeSim({ tls: { cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, ...(options.simOpen ? {} : { tokens: SIM_TOKENS }) })
    : undefined;
  const logPath = options.logPath ?? join(dir, 'decisions.log');
  const upstreams: StackUpstream[] = kinds.map((k) => (k !== 'kubernetes' ? k : {
    name: 'k8s',
    kind: 'kubernetes',
    prefix: '/k8s',
    target: sim!.url,
    policy: options.policy ?? 'writegate/kubernetes/decision',
    mode: options.mode ?? 'enforce',
    engine: options.engine ?? 'residual',
    failOpen: options.failOpen ?? false,
    tls: { ca: certs.caCert },
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    kubernetes: { resolve: options.resolve ?? 'dryrun' },
  }));
  const raw: RawConfig = {
    listen: {
      host: '127.0.0.1', port: 0,
      tls: { cert: certs.cert, key: certs.key, ...(options.clientCA ? { clientCA: options.clientCA, clientAuth: options.clientAuth ?? 'optional' } : {}) },
      ...(options.auth ? { auth: options.auth } : {}),
    },
    opa: { url: opa.url, timeoutMs: options.opaTimeoutMs ?? 2000 },
    decisionLog: { path: logPath, ...options.decisionLog },
    limits: { bodyBytes: options.bodyBytes ?? 3 * 1024 * 1024, ...options.limits },
    ...(options.notify ? { notify: options.notify } : {}),
    upstreams,
  };
  let gateway: Gateway;
  try {
    gateway = await startGateway(parseConfig(raw), options.logger ? { logger: options.logger } : {});
  } catch (err) {
    await sim?.close();
    await opa.stop();
    throw err;
  }
  const dispatcher = new Agent({ connect: { ca: readFileSync(certs.caCert) } });
  const url = (name: string): string => {
    const u = upstreams.find((x) => x.name === name);
    if (!u) throw new Error(`the stack mounts no upstream called ${name}`);
    return `${gateway.url}${u.prefix}`;
  };
  const kube = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('this stack was started without the Kubernetes simulator (kinds)');
    return value;
  };
  const k8s = sim ? `${gateway.url}/k8s` : undefined;
  // Upstream-status records are written lazily (within 100 ms); the tests read the log as it is after a flush.
  const events = (): LogEvent[] => (gateway.decisionLog.flush(), existsSync(logPath)
    ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEvent)
    : []);
  return {
    gateway, opa, opaDecisionIds, certs, dir, logPath, dispatcher, url,
    get sim() { return kube(sim); },
    get k8s() { return kube(k8s); },
    events,
    decisions: () => events().filter((e): e is DecisionEvent => e.type === 'writegate/decision'),
    async raw(method, path, headers = {}) {
      const url = new URL(gateway.url);
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: readFileSync(certs.caCert) });
      const head = [`${method} ${path} HTTP/1.1`, `host: ${url.host}`, `authorization: Bearer ${TOKENS.admin}`,
        ...('connection' in headers ? [] : ['connection: close']), ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      const chunks: Buffer[] = [];
      for await (const c of socket) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      return { status: Number(text.slice(9, 12)), text };
    },
    async call(method, path, init = {}) {
      const res = await request(`${path.startsWith('http') ? '' : kube(k8s)}${path}`, {
        method: method as 'GET',
        dispatcher,
        headers: { authorization: `Bearer ${init.token ?? TOKENS.admin}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
        ...(init.body !== undefined ? { body: init.body } : {}),
      });
      const text = await res.body.text();
      let json: unknown;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.statusCode, headers: res.headers, text, json };
    },
    async close() {
      await gateway.close();
      await sim?.close();
      await opa.stop();
      await dispatcher.close();
    },
  };
}
