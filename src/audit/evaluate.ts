import { checkPolicyInput } from '../decision/input-value.js';
import type { OpaClient } from '../opa/client.js';
import { AUDIT_INPUT_VERSION, type AuditObject, type AuditSourceName, type AuditViolation } from './types.js';

/** The OPA data path of a source's audit rules: the set of violations of one object. */
export function auditPath(source: AuditSourceName): string {
  return `writegate/${source}/audit/violations`;
}

/** The audit input document of an object (policies/README.md, "Audit input"). */
export function auditInput(source: AuditSourceName, origin: string, o: AuditObject): Record<string, unknown> {
  return {
    version: AUDIT_INPUT_VERSION, operation: 'AUDIT', source, upstream: origin,
    resource: o.resource, address: o.address, object: o.object, context: o.context,
  };
}

/** Runs `work` on every item with at most `limit` at once. */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Asks OPA's Data API about one object: `POST /v1/data/writegate/<source>/audit/violations`, so the evaluation is in
 * OPA's decision log under the `decision_id` it answers. An undefined document (the package is not loaded), an
 * answer that is not a set of violations, or one without a decision id (OPA's decision logging is off, so nothing
 * could be traced) is an error, never a clean object.
 */
export async function evaluateObject(opa: OpaClient, source: AuditSourceName, origin: string, o: AuditObject): Promise<AuditViolation[]> {
  const input = auditInput(source, origin, o);
  checkPolicyInput(input);
  const path = auditPath(source);
  const d = await opa.decide(path, input);
  if (!d.defined) throw new Error(`${path} is undefined in OPA at ${opa.url}: is policies/${source}/audit.rego loaded?`);
  if (d.decisionId === undefined) throw new Error(`OPA at ${opa.url} answered ${path} without a decision_id: turn its decision logging on (decision_logs)`);
  if (!Array.isArray(d.result)) throw new Error(`${path} answered ${JSON.stringify(d.result).slice(0, 200)}, not a set of violations`);
  return d.result.map((v: unknown) => {
    const { rule, msg } = (typeof v === 'object' && v !== null ? v : {}) as { rule?: unknown; msg?: unknown };
    return {
      source, origin, resource: o.resource, address: o.address,
      rule: typeof rule === 'string' ? rule : 'unnamed',
      message: typeof msg === 'string' ? msg : JSON.stringify(v),
      decision_id: d.decisionId!,
    };
  });
}
