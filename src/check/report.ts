/**
 * What `writegate check` found, and its three renderings: text for people, JSON for scripts, JUnit XML for CI
 * test reports (one test suite per source file, one test case per resource address or manifest object, one
 * failure per deny violation).
 */

export type CheckKind = 'terraform' | 'kubernetes';

/** One violation, as the decision contract defines it (policies/README.md), with what it is about. */
export interface Finding {
  /** The rule id, when the violation names one. */
  rule: string | null;
  msg: string;
  /** The resource address (terraform) or object ("Deployment default/web") the violation is about. */
  address: string;
}

/** One evaluation: one input document, one decision. */
export interface CheckResult {
  /** The file it came from, e.g. "plan.json" or "manifests/app.yaml". */
  file: string;
  /** What was evaluated: the plan file, or "app.yaml#2 Deployment default/web". */
  subject: string;
  /** The id OPA gave the decision; null when that OPA does not log decisions. */
  decision_id: string | null;
  deny: Finding[];
  warn: Finding[];
  /** The test cases of the JUnit report: every resource address of a plan, or the one object. */
  cases: string[];
}

export interface CheckReport {
  check: CheckKind;
  /** The OPA data path decided. */
  policy: string;
  passed: boolean;
  violations: number;
  warnings: number;
  results: CheckResult[];
}

export function checkReport(check: CheckKind, policy: string, results: CheckResult[]): CheckReport {
  const violations = results.reduce((n, r) => n + r.deny.length, 0);
  const warnings = results.reduce((n, r) => n + r.warn.length, 0);
  return { check, policy, passed: violations === 0, violations, warnings, results };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderText(report: CheckReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    const id = r.decision_id ?? '-';
    for (const f of r.deny) lines.push(`DENY  ${f.address}  ${f.rule ?? '-'}  ${f.msg}  (decision ${id})`);
    for (const f of r.warn) lines.push(`WARN  ${f.address}  ${f.rule ?? '-'}  ${f.msg}  (decision ${id})`);
    if (!r.deny.length && !r.warn.length) lines.push(`OK    ${r.subject}  (decision ${id})`);
  }
  const counts = `${plural(report.violations, 'violation')}, ${plural(report.warnings, 'warning')} in ${plural(report.results.length, 'evaluation')} of ${report.policy}`;
  lines.push(`${report.passed ? 'PASS' : 'FAIL'}: ${counts}`);
  return `${lines.join('\n')}\n`;
}

export function renderJson(report: CheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** XML 1.0 allows tab, LF, CR and U+0020 and above (but no lone surrogates, U+FFFE, U+FFFF) in text and attributes. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xml(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JUnit XML as CI servers read it (the Ant/Surefire format: testsuites > testsuite > testcase > failure). A case
 * without deny violations passes; its warnings go to its system-out.
 */
export function renderJunit(report: CheckReport): string {
  const byFile = new Map<string, CheckResult[]>();
  for (const r of report.results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`];
  const totalCases = report.results.reduce((n, r) => n + r.cases.length, 0);
  const failing = (r: CheckResult): number => r.cases.filter((c) => r.deny.some((f) => f.address === c)).length;
  const totalFailures = report.results.reduce((n, r) => n + failing(r), 0);
  out.push(`<testsuites name="writegate check ${report.check}" tests="${totalCases}" failures="${totalFailures}" errors="0">`);
  for (const [file, results] of byFile) {
    const tests = results.reduce((n, r) => n + r.cases.length, 0);
    const failures = results.reduce((n, r) => n + failing(r), 0);
    out.push(`  <testsuite name="${xml(file)}" tests="${tests}" failures="${failures}" errors="0" skipped="0">`);
    for (const r of results) {
      for (const c of r.cases) {
        const deny = r.deny.filter((f) => f.address === c);
        const warn = r.warn.filter((f) => f.address === c);
        out.push(`    <testcase classname="${xml(file)}" name="${xml(c)}">`);
        out.push(`      <properties><property name="decision_id" value="${xml(r.decision_id ?? '')}"/></properties>`);
        if (deny.length) {
          const body = [...deny.map((f) => f.msg), `decision ${r.decision_id ?? '-'} (${report.policy})`].join('\n');
          out.push(`      <failure type="${xml(deny.map((f) => f.rule ?? '-').join(' '))}" message="${xml(deny[0]!.msg)}">${xml(body)}</failure>`);
        }
        if (warn.length) out.push(`      <system-out>${xml(warn.map((f) => `warn: ${f.msg}`).join('\n'))}</system-out>`);
        out.push('    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
