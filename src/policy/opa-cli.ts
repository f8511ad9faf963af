/**
 * The OPA command line on a policy tree: `opa test` (results, then coverage), `opa check --strict` and
 * `opa parse` of each module (its package). Every problem is reported by file and line.
 */
import { execFile } from 'node:child_process';
import { opaBinary } from '../opa/binary.js';

/** One problem at a place in a file (the path as OPA was given it: relative to the tree's folder). */
export interface Problem {
  file: string;
  row: number;
  message: string;
}

export interface TestReport {
  ok: boolean;
  passed: number;
  /** Failed tests, test errors and load errors. */
  failures: Problem[];
  /** Line coverage in percent, measured when every test passed. */
  coverage?: number;
  threshold?: number;
}

export interface CheckReport {
  ok: boolean;
  errors: Problem[];
  /** Each module's package, dotted (`writegate.kubernetes`), by file; filled when the check passed. */
  packages: Record<string, string>;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function opa(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(opaBinary(), args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new Error(`could not run ${opaBinary()}: ${err.message}`));
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** OPA's text errors: `file.rego:3: rego_parse_error: unexpected eof token` (one per problem, context lines after it). */
function textProblems(text: string): Problem[] {
  const out: Problem[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S.*?\.rego):(\d+): (.+)$/.exec(line);
    if (m) out.push({ file: m[1]!, row: Number(m[2]), message: m[3]! });
  }
  return out;
}

function whole(run: Run, what: string): Problem[] {
  const found = textProblems(run.stderr);
  return found.length ? found : [{ file: '', row: 0, message: `${what} failed (exit ${run.code}): ${(run.stderr || run.stdout).trim().slice(0, 2000)}` }];
}

interface TestResult {
  location?: { file: string; row: number };
  package: string;
  name: string;
  fail?: boolean;
  error?: { message?: string; location?: { file: string; row: number } };
}

/**
 * `opa test` on `files` (relative to `dir`): JSON results first, so failures come with their file and line;
 * then, when every test passed, `opa test --coverage`, whose percentage is compared with `threshold`.
 */
export async function runTests(dir: string, files: string[], threshold?: number): Promise<TestReport> {
  const run = await opa(['test', '--format', 'json', ...files], dir);
  let results: TestResult[];
  try {
    results = JSON.parse(run.stdout) as TestResult[];
  } catch {
    return { ok: false, passed: 0, failures: whole(run, 'opa test') };
  }
  const failures: Problem[] = [];
  for (const r of results) {
    if (r.error) {
      const at = r.error.location ?? r.location;
      failures.push({ file: at?.file ?? '', row: at?.row ?? 0, message: `${r.package}.${r.name}: ERROR ${r.error.message ?? ''}`.trim() });
    } else if (r.fail) {
      failures.push({ file: r.location?.file ?? '', row: r.location?.row ?? 0, message: `${r.package}.${r.name}: FAIL` });
    }
  }
  const passed = results.length - failures.length;
  const report: TestReport = { ok: failures.length === 0 && run.code === 0, passed, failures, ...(threshold === undefined ? {} : { threshold }) };
  if (!report.ok) {
    if (failures.length === 0) report.failures = whole(run, 'opa test');
    return report;
  }
  const cov = await opa(['test', '--coverage', '--format', 'json', ...files], dir);
  let coverage: number;
  try {
    coverage = (JSON.parse(cov.stdout) as { coverage: number }).coverage;
  } catch {
    return { ...report, ok: false, failures: whole(cov, 'opa test --coverage') };
  }
  report.coverage = Math.round(coverage * 100) / 100;
  if (threshold !== undefined && coverage < threshold) {
    report.ok = false;
    report.failures = [{ file: '', row: 0, message: `coverage ${report.coverage}% is below the threshold of ${threshold}%` }];
  }
  return report;
}

interface CheckError {
  message: string;
  code?: string;
  location?: { file: string; row: number };
}

/** `opa check --strict` on `files`, then `opa parse` of each of `modules` for its package. */
export async function runCheck(dir: string, files: string[], modules: string[]): Promise<CheckReport> {
  const run = await opa(['check', '--strict', '--format', 'json', ...files], dir);
  if (run.code !== 0) {
    let errors: Problem[];
    try {
      // `opa check --format json` writes its errors to stderr.
      errors = (JSON.parse(run.stderr || run.stdout) as { errors: CheckError[] }).errors.map((e) => ({
        file: e.location?.file ?? '', row: e.location?.row ?? 0, message: e.code ? `${e.code}: ${e.message}` : e.message,
      }));
    } catch {
      errors = whole(run, 'opa check');
    }
    return { ok: false, errors, packages: {} };
  }
  return parsePackages(dir, modules);
}

/** `opa parse` of each module (relative to `dir`): its package, or its parse errors by file and line. */
export async function parsePackages(dir: string, modules: string[]): Promise<CheckReport> {
  const packages: Record<string, string> = {};
  const errors: Problem[] = [];
  // Four at a time: each is a short process, and the machine's cores are shared.
  const queue = [...modules];
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const parsed = await opa(['parse', '--format', 'json', file], dir);
      try {
        const ast = JSON.parse(parsed.stdout) as { package: { path: Array<{ type: string; value: unknown }> } };
        packages[file] = packageName(ast.package.path);
      } catch {
        errors.push(...whole(parsed, `opa parse ${file}`));
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { ok: errors.length === 0, errors, packages };
}

/** A package ref (`data.a.b["c-d"]` as AST terms) written as Rego does, without `data.`. */
export function packageName(path: Array<{ type: string; value: unknown }>): string {
  return path.slice(1).map((t, i) => {
    const s = String(t.value);
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) return i === 0 ? s : `.${s}`;
    return i === 0 ? JSON.stringify(s) : `[${JSON.stringify(s)}]`;
  }).join('');
}

/** Problems as `file:line: message`, one a line. */
export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => (p.file ? `${p.file}:${p.row}: ${p.message}` : p.message)).join('\n');
}
