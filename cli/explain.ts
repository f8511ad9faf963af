import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { loadConfigFile } from '../src/config/load.js';
import type { OpaVerdict } from '../src/decision/log.js';
import { checkPolicyInput } from '../src/decision/input-value.js';
import { normalizeDecision } from '../src/decision/normalize.js';
import { verifyAllow } from '../src/decision/verify.js';
import { OpaClient } from '../src/opa/client.js';
import { startLocalOpa } from '../src/opa/supervisor.js';
import { ResidualEngine } from '../src/residual/engine.js';
import { EXIT, fail } from './exit.js';

interface ExplainOptions {
  config: string;
  upstream: string;
  input: string;
  engine: 'residual' | 'opa';
  json?: boolean;
  verify?: boolean;
}

/** Exit code when `--verify` finds that OPA's Data API disagrees with the decision shown. */
const EXIT_DISAGREES = 4;

export interface Explanation {
  allowed: boolean;
  engine: 'residual' | 'opa';
  decision_id: string;
  reasons: string[];
  warnings: string[];
  policy: string;
  /** The residual in force for the policy (text), or why there is none. */
  residual?: { revision?: string; text?: string; reason?: string };
  /** Why the residual did not decide, when OPA did. */
  fallback?: string;
  /** With --verify: what OPA's Data API decides for the same input, and whether it agrees. */
  verification?: {
    /** A residual allow agrees only with OPA's clean allow (no deny, no warning, no error); OPA agrees with itself when it gives the same allowed/denied. */
    agrees: boolean;
    allowed: boolean;
    reasons: string[];
    opa: OpaVerdict;
  };
}

export function explainCommand(): Command {
  return new Command('explain')
    .description('Decide one input the way the gateway would, and show the engine, the reasons and the residual.')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .requiredOption('-u, --upstream <name>', 'upstream whose policy decides')
    .requiredOption('-i, --input <file>', 'policy input document (JSON), e.g. the "input" of a decision-log line')
    .option('-e, --engine <engine>', 'residual (in-process, falling back to OPA) or opa', 'residual')
    .option('--json', 'print one JSON object')
    .option('--verify', 'also ask OPA\'s Data API for the same input and say whether it agrees (the gateway\'s shadow check)')
    .addHelpText('after', `\nExit codes: 0 allowed, 1 denied, 3 configuration invalid, ${EXIT_DISAGREES} with --verify: OPA disagrees with the decision shown.`)
    .action(async (opts: ExplainOptions) => {
      let stop = async (): Promise<void> => undefined;
      try {
        const config = loadConfigFile(opts.config);
        const upstream = config.upstreams.find((u) => u.name === opts.upstream);
        if (!upstream) throw new Error(`no upstream named "${opts.upstream}" (have: ${config.upstreams.map((u) => u.name).join(', ')})`);
        if (opts.engine !== 'residual' && opts.engine !== 'opa') throw new Error('--engine is residual or opa');
        const input: unknown = JSON.parse(readFileSync(opts.input, 'utf8'));
        // As the gate does: one value for both engines, or the refusal the gateway would answer with.
        checkPolicyInput(input);
        const local = config.opa.url ? undefined : await startLocalOpa({ paths: config.opa.policies });
        const url = config.opa.url ?? local!.url;
        const opa = new OpaClient({ url, timeoutMs: config.opa.timeoutMs });
        stop = async () => { await opa.close(); await local?.stop(); };

        let out: Explanation | undefined;
        let fallback: string | undefined;
        let residual: Explanation['residual'];
        if (opts.engine === 'residual') {
          const engine = new ResidualEngine({ client: opa });
          await engine.start([upstream.policy]);
          engine.stop();
          const r = engine.residual(upstream.policy);
          residual = r ? { revision: r.revision, ...(r.text !== undefined ? { text: r.text } : {}), ...(r.reason !== undefined ? { reason: r.reason } : {}) } : { reason: 'OPA could not be asked for a residual' };
          const verdict = engine.evaluate(upstream.policy, input);
          if (verdict.outcome === 'allow') {
            out = { allowed: true, engine: 'residual', decision_id: randomUUID(), reasons: [], warnings: [], policy: upstream.policy, residual };
          } else {
            fallback = verdict.reason;
          }
        }
        if (!out) {
          const d = await opa.decide(upstream.policy, input);
          const n = normalizeDecision(d.defined, d.result);
          const reasons = n.problem === 'undefined' ? ['no decision: the policy is undefined for this input'] : n.deny.map((v) => v.msg);
          out = {
            allowed: n.allowed, engine: 'opa', decision_id: d.decisionId ?? '', reasons, warnings: n.warn.map((v) => v.msg), policy: upstream.policy,
            ...(residual ? { residual } : {}), ...(fallback ? { fallback } : {}),
          };
        }
        if (opts.verify) {
          // The same check the gateway runs on its residual allows (src/decision/verify.ts).
          const v = await verifyAllow(opa, upstream.policy, input);
          if (v.status === 'unverified') throw new Error(`could not verify with OPA: ${v.opa.error?.message ?? 'no answer'}`);
          const agrees = out.engine === 'residual' ? v.status === 'verified' : v.opa.error === undefined && v.allowed === out.allowed;
          out.verification = { agrees, allowed: v.allowed, reasons: v.reasons, opa: v.opa };
        }
        await stop();
        process.stdout.write(opts.json ? `${JSON.stringify(out)}\n` : render(out));
        process.exitCode = out.verification?.agrees === false ? EXIT_DISAGREES : out.allowed ? EXIT.ok : EXIT.failure;
      } catch (err) {
        await stop();
        fail(err);
      }
    });
}

function render(e: Explanation): string {
  const lines = [
    `${e.allowed ? 'ALLOWED' : 'DENIED'} by ${e.policy} (engine ${e.engine}, decision ${e.decision_id})`,
    ...e.reasons.map((r) => `  deny: ${r}`),
    ...e.warnings.map((w) => `  warn: ${w}`),
  ];
  if (e.fallback) lines.push(`residual did not decide: ${e.fallback}`);
  if (e.residual?.text !== undefined) lines.push(`residual (revision ${e.residual.revision}):`, ...e.residual.text.split('\n').map((l) => `  ${l}`));
  else if (e.residual?.reason) lines.push(`no residual: ${e.residual.reason}`);
  const v = e.verification;
  if (v) {
    const opa = v.opa.error ? `OPA answered ${v.opa.error.code}` : `OPA ${v.allowed ? 'allows' : 'denies'} (decision ${v.opa.decision_id ?? '-'})`;
    lines.push(`verification: ${v.agrees ? 'OPA agrees' : 'OPA DISAGREES'}: ${opa}`, ...v.reasons.map((r) => `  ${r}`));
  }
  return `${lines.join('\n')}\n`;
}
