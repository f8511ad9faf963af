/**
 * Long policy-level fuzzing runs: `npm run fuzz -- --policies N --inputs M --seed S`.
 *
 * Policy and input N of seed S are the same on every machine for one version of the generators (a change to
 * policy-gen.ts or input-gen.ts changes what N is; saved regression cases hold the policy and input themselves).
 *
 * Options: `--first I` (first policy index), `--only I` (just policy I, to reproduce a finding), `--time-limit
 * SECONDS` (stop starting policies after that), `--minimise N` (minimise the findings of the first N policies
 * with one; default 50), `--no-save` (do not write regression cases),
 * `--verbose` (print OPA's reasons for refusing generated policies), `--replay FILE` (decide one saved
 * regression case again, with the current engine, and say whether it is still an unsafe allow), `--mutate N`
 * (decide N mutants of every saved case, with `--inputs` fresh inputs each besides the case's own variants).
 *
 * The first unsafe allow of each policy is minimised and printed as a ready-made regression case; a case of a
 * class (runner.ts findingClass) not yet under test/residual/fuzz/regressions/ is written there, and
 * fuzz-regressions.test.ts replays it. The exit status is 1 when any unsafe allow was found.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../../src/opa/binary.js';
import { decodeValue } from './codec.js';
import {
  checkPolicy,
  findingClass,
  guessClass,
  regressionCase,
  runFuzz,
  runMutants,
  startFuzzOpa,
  type Finding,
  type FuzzTotals,
  type RegressionCase,
} from './runner.js';

const { values } = parseArgs({
  options: {
    policies: { type: 'string', default: '200' },
    inputs: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    first: { type: 'string', default: '0' },
    only: { type: 'string' },
    'time-limit': { type: 'string' },
    minimise: { type: 'string', default: '50' },
    'no-save': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    replay: { type: 'string' },
    mutate: { type: 'string' },
  },
});

const int = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
};

const seed = int('seed', values.seed);
const only = values.only === undefined ? undefined : int('only', values.only);
const root = projectRoot();
const regressions = join(root, 'test', 'residual', 'fuzz', 'regressions');
const classes = new Map<string, number>();

function report(f: Finding): void {
  reportCase(regressionCase(f), `policy ${f.policyIndex}, input ${f.inputIndex}`);
}

function reportCase(c: RegressionCase, where: string): void {
  const cls = findingClass(c.policy);
  classes.set(cls, (classes.get(cls) ?? 0) + 1);
  const file = join(regressions, `${createHash('sha256').update(cls).digest('hex').slice(0, 12)}.json`);
  const known = existsSync(file);
  if (!values['no-save'] && !known) {
    mkdirSync(regressions, { recursive: true });
    writeFileSync(file, JSON.stringify(c, null, 2) + '\n');
  }
  console.log(`\n=== UNSAFE ALLOW: ${where} (${c.found})`);
  console.log(c.policy);
  console.log(`input (as OPA received it): ${c.opaInput}`);
  console.log(`OPA: ${JSON.stringify(c.opa)}`);
  console.log(`residual: ${JSON.stringify(c.residual)}`);
  console.log(`class (guess): ${guessClass(c)}`);
  console.log(`regression case: ${relative(root, file)}${known ? ' (class already saved)' : values['no-save'] ? ' (not saved)' : ''}`);
  console.log(`paste: ${JSON.stringify(c)}`);
}

function summary(t: FuzzTotals): string {
  const rate = t.comparisons === 0 ? 0 : (100 * t.localAllows) / t.comparisons;
  return [
    `policies ${t.policies} (OPA refused ${t.rejected}, residual compiled ${t.compiled})`,
    `inputs ${t.inputs} (refused by the gateway's input check: ${t.refusedInputs}), comparisons ${t.comparisons}`,
    `unsafe allows ${t.unsafeAllows} (in ${t.unsafePolicies} policies, ${classes.size} classes)`,
    `misses ${t.misses}, OPA clean allows ${t.opaCleanAllows}, local allows ${t.localAllows} (${rate.toFixed(1)} %)`,
    `time ${(t.ms / 1000).toFixed(1)} s`,
    ...Object.entries(t.byShape).map(
      ([shape, s]) =>
        `  ${shape} decisions: ${s.policies} policies, ${s.compiled} compiled, ${s.comparisons} comparisons, ${s.localAllows} local allows, ${s.unsafeAllows} unsafe`,
    ),
  ].join('\n');
}

/** `--replay FILE`: one saved case against the current engine and OPA; exit 1 if it is still an unsafe allow. */
async function replay(file: string): Promise<void> {
  const c = JSON.parse(readFileSync(file, 'utf8')) as RegressionCase;
  const opa = await startFuzzOpa();
  try {
    const check = await checkPolicy(opa, c.policy, c.path, [decodeValue(c.input)]);
    console.log(`${c.note ?? c.found}\n${c.policy}input: ${c.opaInput}`);
    if (check.rejected !== undefined) throw new Error(`OPA refuses the policy: ${check.rejected}`);
    const got = check.comparisons[0]!;
    console.log(`residual for ${c.path}: ${check.residual}`);
    if (got.verdict === 'refused') console.log(`the gateway refuses the input: ${got.reason}`);
    else console.log(`OPA: ${JSON.stringify(got.opa)}\nresidual: ${JSON.stringify(got.residual)}\n${got.verdict === 'unsafe' ? 'UNSAFE ALLOW' : got.verdict}`);
    process.exitCode = got.verdict === 'unsafe' ? 1 : 0;
  } finally {
    await opa.stop();
  }
}

async function run(): Promise<void> {
  const opa = await startFuzzOpa();
  let totals: FuzzTotals;
  try {
    totals = await runFuzz(opa, {
      seed,
      policies: only === undefined ? int('policies', values.policies) : 1,
      inputs: int('inputs', values.inputs),
      first: only ?? int('first', values.first),
      minimise: int('minimise', values.minimise),
      ...(values['time-limit'] !== undefined ? { timeLimitMs: int('time-limit', values['time-limit']) * 1000 } : {}),
      onFinding: report,
      onRejected: (i, msg) => {
        if (values.verbose) console.log(`policy ${i} refused by OPA: ${msg}`);
      },
      onProgress: (t) => {
        if (t.policies % 100 === 0) console.error(`… ${t.policies} policies, ${t.comparisons} comparisons, ${t.unsafeAllows} unsafe allows, ${(t.ms / 1000).toFixed(0)} s`);
      },
    });
  } finally {
    await opa.stop();
  }
  console.log(`\n== policy-level fuzzing, seed ${seed}`);
  console.log(summary(totals));
  console.log(`residual not used: ${JSON.stringify(totals.notCompiled)}`);
  process.exitCode = totals.unsafeAllows > 0 ? 1 : 0;
}

/** `--mutate N`: neighbours of every saved case (runner.ts runMutants). */
async function mutate(n: number): Promise<void> {
  const cases = readdirSync(regressions)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f, case: JSON.parse(readFileSync(join(regressions, f), 'utf8')) as RegressionCase }));
  const opa = await startFuzzOpa();
  const t0 = Date.now();
  try {
    const totals = await runMutants(opa, cases, {
      seed,
      mutants: n,
      freshInputs: int('inputs', values.inputs),
      onFinding: (c) => reportCase(c, 'mutant'),
    });
    console.log(`\n== mutants of ${totals.cases} saved cases, seed ${seed}`);
    console.log(`policies ${totals.policies} (OPA refused ${totals.rejected}), comparisons ${totals.comparisons}, local allows ${totals.localAllows}`);
    console.log(`unsafe allows ${totals.unsafeAllows}, time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    process.exitCode = totals.unsafeAllows > 0 ? 1 : 0;
  } finally {
    await opa.stop();
  }
}

await (values.replay !== undefined ? replay(values.replay) : values.mutate !== undefined ? mutate(int('mutate', values.mutate)) : run());
