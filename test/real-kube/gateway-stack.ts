import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startGateway, type Gateway } from '../../app/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import type { DecisionEvent, LogEvent, UpstreamEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates, type DevCertificates } from '../../src/tls.js';
import { startRealKube, type RealKube, type RealKubeUser } from './harness.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RealStack {
  kube: RealKube;
  opa: LocalOpa;
  gateway: Gateway;
  certs: DevCertificates;
  /** The gateway's Kubernetes mount, `https://127.0.0.1:PORT/k8s`. */
  k8s: string;
  dir: string;
  logPath: string;
  decisions(): DecisionEvent[];
  upstreamEvents(): UpstreamEvent[];
  /** A request straight to the apiserver (not through the gateway), as `user` (default admin). */
  direct(method: string, path: string, body?: unknown, user?: RealKubeUser, contentType?: string): Promise<HttpAnswer>;
  /** A request through the gateway, as `user` (default admin). */
  viaGateway(method: string, path: string, body?: unknown, user?: RealKubeUser, contentType?: string): Promise<HttpAnswer>;
  close(): Promise<void>;
}

async function call(dispatcher: Agent, url: string, method: string, token: string, body: unknown, contentType: string): Promise<HttpAnswer> {
  const res = await request(url, {
    method: method as 'GET',
    dispatcher,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/**
 * Real OPA serving `policies/`, a real kube-apiserver (etcd + RBAC + static
 * tokens, see harness.ts), and the gateway over TLS in front of it with
 * dry-run resolution and SelfSubjectReview identity: the production setup.
 */
export async function startRealStack(): Promise<RealStack> {
  const dir = mkdtempSync(join(tmpdir(), 'writegate-real-'));
  const started: { close(): Promise<void> }[] = [];
  const close = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const certs = devCertificates(join(dir, 'certs'));
    const opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    started.push({ close: () => opa.stop() });
    const kube = await startRealKube();
    started.push({ close: () => kube.stop() });
    const logPath = join(dir, 'decisions.log');
    const raw: RawConfig = {
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certs.cert, key: certs.key } },
      opa: { url: opa.url, timeoutMs: 5000 },
      decisionLog: { path: logPath },
      upstreams: [{
        name: 'k8s',
        kind: 'kubernetes',
        prefix: '/k8s',
        target: kube.url,
        policy: 'writegate/kubernetes/decision',
        mode: 'enforce',
        tls: { ca: kube.caFile },
        identity: 'selfsubjectreview',
        kubernetes: { resolve: 'dryrun' },
      }],
    };
    const gateway = await startGateway(parseConfig(raw));
    started.push(gateway);
    const toGateway = new Agent({ connect: { ca: readFileSync(certs.caCert) } });
    const toKube = new Agent({ connect: { ca: readFileSync(kube.caFile) } });
    started.push(toGateway, toKube);
    const k8s = `${gateway.url}/k8s`;
    // Upstream-status records are written lazily (within 100 ms); the tests read the log as it is after a flush.
    const events = (): LogEvent[] => (gateway.decisionLog.flush(), existsSync(logPath)
      ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogEvent)
      : []);
    return {
      kube, opa, gateway, certs, k8s, dir, logPath,
      decisions: () => events().filter((e): e is DecisionEvent => e.type === 'writegate/decision'),
      upstreamEvents: () => events().filter((e): e is UpstreamEvent => e.type === 'writegate/upstream'),
      direct: (method, path, body, user = 'admin', contentType = 'application/json') =>
        call(toKube, `${kube.url}${path}`, method, kube.tokens[user], body, contentType),
      viaGateway: (method, path, body, user = 'admin', contentType = 'application/json') =>
        call(toGateway, `${k8s}${path}`, method, kube.tokens[user], body, contentType),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
