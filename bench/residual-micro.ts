/**
 * Micro-benchmark: nanoseconds per residual evaluation for each shipped decision and each example input under
 * policies/<kind>/testdata/, next to `opa bench` (OPA's own evaluator, in-process, no HTTP) on the same policy
 * and input. Not a test; run after `npm run build`:
 *
 *   node dist-dev/bench/residual-micro.js
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { opaBinary, projectRoot } from '../src/opa/binary.js';
import { startLocalOpa } from '../src/opa/supervisor.js';
import { OpaClient } from '../src/opa/client.js';
import { ResidualEngine } from '../src/residual/engine.js';

/** Decision paths of the shipped policies (policies/README.md). */
const DECISIONS: Record<string, string> = { kubernetes: 'writegate/kubernetes/decision' };
const TARGET_NS = 5000;

function nsPerOp(fn: () => void): number {
  const budgetMs = 400;
  for (let i = 0; i < 20_000; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < BigInt(budgetMs) * 1_000_000n) {
    for (let i = 0; i < 2000; i++) fn();
    n += 2000;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / n;
}

function opaBenchNs(root: string, inputFile: string, path: string): number {
  const out = execFileSync(
    opaBinary(),
    ['bench', '--format', 'json', '--ignore', '*_test.rego', '-d', join(root, 'policies'), '-i', inputFile, `data.${path.split('/').join('.')}`],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(out) as { N: number; T: number };
  return r.T / r.N;
}

async function main(): Promise<void> {
  const root = projectRoot();
  const opa = await startLocalOpa({ paths: [join(root, 'policies')] });
  const client = new OpaClient({ url: opa.url, timeoutMs: 2000 });
  const engine = new ResidualEngine({ client, pollIntervalMs: 60_000 });
  try {
    await engine.start(Object.values(DECISIONS));
    const rows: string[][] = [];
    for (const [kind, path] of Object.entries(DECISIONS)) {
      const state = engine.residual(path);
      const dir = join(root, 'policies', kind, 'testdata');
      for (const example of readdirSync(dir).sort()) {
        const file = join(dir, example, 'input.json');
        const input: unknown = JSON.parse(readFileSync(file, 'utf8'));
        const outcome = engine.evaluate(path, input);
        const residualNs = state?.reason ? NaN : nsPerOp(() => engine.evaluate(path, input));
        const opaNs = opaBenchNs(root, file, path);
        rows.push([
          path,
          example,
          outcome.outcome === 'allow' ? 'allow' : `fallback (${outcome.reason})`,
          residualNs.toFixed(0),
          opaNs.toFixed(0),
          (opaNs / residualNs).toFixed(1) + 'x',
          residualNs <= TARGET_NS ? 'yes' : 'NO',
        ]);
      }
    }
    const header = ['decision', 'input', 'residual outcome', 'residual ns/op', 'opa bench ns/op', 'speed-up', `<= ${TARGET_NS} ns`];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
    console.log(line(header));
    console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
    for (const r of rows) console.log(line(r));
    console.log(`\nnode ${process.version}, ${process.arch}; residual = ResidualEngine.evaluate (cache lookup + predicate)`);
  } finally {
    engine.stop();
    await client.close();
    await opa.stop();
  }
}

await main();
