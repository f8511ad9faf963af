import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { WritegateError } from '../errors.js';
import { kindNamed } from '../upstreams/registry.js';
import { configSchema, type Config, type UpstreamConfig } from './schema.js';

export interface ConfigIssue {
  key: string;
  value: unknown;
  why: string;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a parsed configuration once, reporting every problem (key, value,
 * why) rather than the first, then freezes it. Relative file paths are
 * resolved against `baseDir` (the config file's folder).
 */
export function parseConfig(raw: unknown, baseDir = process.cwd()): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.map((issue) => ({
      key: issue.path.map(String).join('.') || '(root)',
      value: valueAt(raw, issue.path),
      why: issue.message,
    }));
    throw new WritegateError('WG_ERR_CONFIG_INVALID', issues.map((i) => `${i.key}: ${i.why}`).join('; '), { details: { issues } });
  }
  // The schema's transform gave each upstream its kind's options; the type says which options go with which kind.
  const cfg = result.data as Config;
  const abs = (p: string): string => (p === '-' || isAbsolute(p) ? p : resolve(baseDir, p));
  if (cfg.listen.tls) {
    const { clientCA } = cfg.listen.tls;
    cfg.listen.tls = { ...cfg.listen.tls, cert: abs(cfg.listen.tls.cert), key: abs(cfg.listen.tls.key), ...(clientCA !== undefined ? { clientCA: abs(clientCA) } : {}) };
  }
  if (cfg.listen.auth?.tokenFile !== undefined) cfg.listen.auth.tokenFile = abs(cfg.listen.auth.tokenFile);
  const proxy = cfg.listen.auth?.trustedProxy;
  if (proxy?.clientCA !== undefined) proxy.clientCA = abs(proxy.clientCA);
  cfg.opa.policies = cfg.opa.policies.map(abs);
  cfg.decisionLog.path = abs(cfg.decisionLog.path);
  for (const u of cfg.upstreams) {
    if (u.tls.ca) u.tls.ca = abs(u.tls.ca);
    if (u.tls.cert) u.tls.cert = abs(u.tls.cert);
    if (u.tls.key) u.tls.key = abs(u.tls.key);
    const held = u.credentials;
    if (held.tokenFile) held.tokenFile = abs(held.tokenFile);
    if (held.clientCert) held.clientCert = abs(held.clientCert);
    if (held.clientKey) held.clientKey = abs(held.clientKey);
    (kindNamed(u.kind)!.resolvePaths as ((c: UpstreamConfig, a: typeof abs) => void) | undefined)?.(u, abs);
  }
  if (cfg.notify?.issues) cfg.notify.issues.tokenFile = abs(cfg.notify.issues.tokenFile);
  if (cfg.admin?.tokenFile) cfg.admin.tokenFile = abs(cfg.admin.tokenFile);
  if (cfg.admin?.pushLog) cfg.admin.pushLog = abs(cfg.admin.pushLog);
  return deepFreeze(cfg);
}

export function loadConfigFile(file: string): Config {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new WritegateError('WG_ERR_CONFIG_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(raw, dirname(resolve(file)));
}
