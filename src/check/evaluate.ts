import { checkPolicyInput } from '../decision/input-value.js';
import { normalizeDecision } from '../decision/normalize.js';
import { OpaClient } from '../opa/client.js';
import { startLocalOpa } from '../opa/supervisor.js';
import type { Violation } from '../upstreams/types.js';
import type { CheckResult, Finding } from './report.js';

/** One input document to decide, and what its findings are about. */
export interface CheckSubject {
  file: string;
  subject: string;
  input: Record<string, unknown>;
  /** The JUnit test cases (resource addresses, or the object); a violation names its own with `address`. */
  cases: string[];
  /** The case a violation without an `address` belongs to. */
  defaultCase: string;
}

export interface EvaluateOptions {
  /** A running OPA to ask; without it, a local OPA is started on `policy`. */
  opaUrl: string | undefined;
  /** Rego files or folders the local OPA loads. */
  policy: string[];
  /** The OPA data path decided, e.g. writegate/terraform/decision. */
  decision: string;
  timeoutMs: number;
}

/**
 * Decides every subject with OPA's Data API, one call each, so that each result carries the `decision_id` OPA
 * gave it (a local OPA is started with decision logging on, which is what makes OPA return one; see
 * src/opa/supervisor.ts). The input is checked as the gateway checks it (src/decision/input-value.ts) before OPA
 * sees it. A decision that is undefined or not of the contract's shape is an error, not a pass: it means the
 * policy at that path is not loaded.
 */
export async function evaluate(subjects: CheckSubject[], options: EvaluateOptions): Promise<CheckResult[]> {
  for (const s of subjects) {
    try {
      checkPolicyInput(s.input);
    } catch (err) {
      throw new Error(`${s.subject}: ${(err as Error).message}`, { cause: err });
    }
  }
  const local = options.opaUrl ? undefined : await startLocalOpa({ paths: options.policy });
  const opa = new OpaClient({ url: options.opaUrl ?? local!.url, timeoutMs: options.timeoutMs });
  try {
    const results: CheckResult[] = [];
    for (const s of subjects) {
      const d = await opa.decide(options.decision, s.input);
      const n = normalizeDecision(d.defined, d.result);
      if (n.problem === 'undefined') {
        throw new Error(`${options.decision} is undefined in OPA${options.opaUrl ? ` at ${options.opaUrl}` : ` (loaded: ${options.policy.join(', ')})`}: is its package loaded?`);
      }
      if (n.problem === 'malformed') throw new Error(`${options.decision} answered ${JSON.stringify(d.result).slice(0, 200)}, which is not a decision (policies/README.md)`);
      const finding = (v: Violation): Finding => ({
        rule: typeof v.rule === 'string' ? v.rule : null,
        msg: v.msg,
        address: typeof v.address === 'string' && v.address ? v.address : s.defaultCase,
      });
      const deny = n.deny.map(finding);
      // `false`, or `allow: false` with no deny violation, still fails the check, with the only reason there is.
      if (!n.allowed && deny.length === 0) deny.push({ rule: null, msg: 'the policy denies without a violation (allow is false)', address: s.defaultCase });
      const warn = n.warn.map(finding);
      const cases = [...new Set([...s.cases, ...deny.map((f) => f.address), ...warn.map((f) => f.address)])];
      results.push({ file: s.file, subject: s.subject, decision_id: d.decisionId ?? null, deny, warn, cases });
    }
    return results;
  } finally {
    await opa.close();
    await local?.stop();
  }
}
