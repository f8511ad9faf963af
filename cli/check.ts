import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { evaluate, type CheckSubject } from '../src/check/evaluate.js';
import { kubernetesSubjects, manifestSubjects } from '../src/check/kubernetes.js';
import { checkReport, renderJson, renderJunit, renderText, type CheckKind } from '../src/check/report.js';
import { terraformSubject } from '../src/check/terraform.js';
import { projectRoot } from '../src/opa/binary.js';

/** Exit codes of `writegate check`, for CI to branch on. */
export const CHECK_EXIT = { clean: 0, violations: 1, error: 3 } as const;

interface SharedOptions {
  format: 'text' | 'json' | 'junit';
  opa?: string;
  policy?: string;
  decision: string;
  timeoutMs: string;
}

const RENDER = { text: renderText, json: renderJson, junit: renderJunit };

/** Any error (a bad file, OPA down, a usage error) exits with CHECK_EXIT.error, never with the code of a violation. */
function error(message: string): never {
  process.stderr.write(`writegate: ${message}\n`);
  process.exit(CHECK_EXIT.error);
}

/** The flags both checks share, and the exit code of commander's own usage errors. */
function shared(cmd: Command, decision: string): Command {
  return cmd
    .addOption(new Option('--format <format>', 'output: text, json or junit (JUnit XML for CI test reports)').choices(['text', 'json', 'junit']).default('text'))
    .option('--opa <url>', 'ask this running OPA (its decision log records the decisions) instead of starting one')
    .option('--policy <path>', 'Rego file or folder a local OPA loads (default: the policies/ folder of writegate)')
    .option('--decision <path>', 'OPA data path of the decision', decision)
    .option('--timeout-ms <ms>', 'how long one OPA call may take', '10000')
    .addHelpText('after', `\nExit codes: ${CHECK_EXIT.clean} no violation (warnings allowed), ${CHECK_EXIT.violations} violations, ${CHECK_EXIT.error} error (bad file, OPA unavailable, bad flags).`)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : CHECK_EXIT.error));
}

async function run(kind: CheckKind, opts: SharedOptions, subjects: () => CheckSubject[]): Promise<void> {
  try {
    if (opts.opa && opts.policy) throw new Error('--policy and --opa exclude each other: a running OPA has its own policies');
    const timeoutMs = Number(opts.timeoutMs);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout-ms must be a positive integer (got ${JSON.stringify(opts.timeoutMs)})`);
    const results = await evaluate(subjects(), {
      opaUrl: opts.opa, policy: [opts.policy ?? join(projectRoot(), 'policies')], decision: opts.decision, timeoutMs,
    });
    const report = checkReport(kind, opts.decision, results);
    process.stdout.write(RENDER[opts.format](report));
    process.exitCode = report.passed ? CHECK_EXIT.clean : CHECK_EXIT.violations;
  } catch (err) {
    error((err as Error).message);
  }
}

export function checkCommand(): Command {
  const terraform = shared(new Command('terraform'), 'writegate/terraform/decision')
    .description('Evaluate a Terraform plan (terraform show -json PLANFILE) against policies/terraform.')
    .argument('<plan>', 'the JSON plan file')
    .action((plan: string, opts: SharedOptions) => run('terraform', opts, () => {
      let text: string;
      try {
        text = readFileSync(plan, 'utf8');
      } catch (err) {
        throw new Error(`${plan}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
      return [terraformSubject(text, plan)];
    }));
  const kubernetes = shared(new Command('kubernetes'), 'writegate/kubernetes/decision')
    .description('Evaluate Kubernetes manifests as the CREATE admission requests the gateway would judge.')
    .requiredOption('-f, --filename <path>', 'a manifest file (YAML with one or more documents, or JSON), a folder of them, or - for standard input')
    .option('-R, --recursive', 'also read the folders inside the folder, as kubectl -R does')
    .option('-n, --namespace <namespace>', 'namespace of objects that name none, as kubectl\'s', 'default')
    .action((opts: SharedOptions & { filename: string; recursive?: boolean; namespace: string }) => run('kubernetes', opts, () => {
      if (opts.filename === '-') {
        // Standard input, as kubectl reads it: JSON when it starts with "{", else a YAML stream.
        const text = readFileSync(0, 'utf8');
        return manifestSubjects('stdin', text, { json: /^\s*\{/.test(text), namespace: opts.namespace });
      }
      try {
        return kubernetesSubjects(opts.filename, { recursive: opts.recursive === true, namespace: opts.namespace, cwd: process.cwd() });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${opts.filename}: no such file or folder`);
        throw err;
      }
    }));
  return new Command('check')
    .description('Evaluate Terraform plans and Kubernetes manifests against the same policies as the gateway (for CI).')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : CHECK_EXIT.error))
    .addCommand(terraform)
    .addCommand(kubernetes);
}
