import type { AuditReport } from './report.js';
import { AUDIT_SOURCES, type AuditViolation } from './types.js';

/** One colour per source, for the chart's bars and the table's source cells. */
const SOURCE_COLOURS: Record<string, string> = {
  kubernetes: '#326ce5', netbox: '#1b998b', cloudflare: '#f38020', terraform: '#7b42bc', aws: '#d13212',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const BAR_HEIGHT = 24;
const LABEL_WIDTH = 320;
const CHART_WIDTH = 760;

/** An inline SVG bar chart: one bar per source and rule, its length the number of violations. */
export function violationChart(report: AuditReport): string {
  const rows = [...report.totals.bySourceAndRule].sort((a, b) => AUDIT_SOURCES.indexOf(a.source) - AUDIT_SOURCES.indexOf(b.source) || b.count - a.count);
  if (rows.length === 0) {
    return `<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="40" role="img" aria-label="no violations"><text x="8" y="26" font-size="16" fill="#2e7d32">No violations</text></svg>`;
  }
  const max = Math.max(...rows.map((r) => r.count));
  const barSpace = CHART_WIDTH - LABEL_WIDTH - 60;
  const bars = rows.map((r, i) => {
    const y = 8 + i * (BAR_HEIGHT + 8);
    const w = Math.max(4, Math.round((r.count / max) * barSpace));
    return `<g><text x="${LABEL_WIDTH - 8}" y="${y + 17}" text-anchor="end" font-size="13">${escapeHtml(`${r.source} · ${r.rule}`)}</text>`
      + `<rect x="${LABEL_WIDTH}" y="${y}" width="${w}" height="${BAR_HEIGHT}" fill="${SOURCE_COLOURS[r.source]}"><title>${r.count}</title></rect>`
      + `<text x="${LABEL_WIDTH + w + 6}" y="${y + 17}" font-size="13">${r.count}</text></g>`;
  });
  const height = 16 + rows.length * (BAR_HEIGHT + 8);
  return `<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${height}" role="img" aria-label="violations by source and rule">${bars.join('')}</svg>`;
}

function violationRows(violations: readonly AuditViolation[]): string {
  return violations.map((v) => `<tr><td style="border-left:6px solid ${SOURCE_COLOURS[v.source]}">${escapeHtml(v.source)}</td><td>${escapeHtml(v.origin)}</td>`
    + `<td>${escapeHtml(v.address)}</td><td>${escapeHtml(v.rule)}</td><td>${escapeHtml(v.message)}</td><td><code>${escapeHtml(v.decision_id)}</code></td></tr>`).join('\n');
}

/** report.html: self-contained (no script, no external resource), readable offline and in an archive. */
export function renderHtml(r: AuditReport): string {
  const sources = r.sources.map((s) => `<tr><td>${escapeHtml(s.source)}</td><td>${escapeHtml(s.origin)}</td><td>${s.objects}</td><td>${s.violations}</td>`
    + `<td class="${s.error ? 'error' : 'ok'}">${escapeHtml(s.error ?? 'read to the end')}</td></tr>`).join('\n');
  const change = r.change === null ? '<p>No previous report in this folder.</p>'
    : `<p>Since the report of ${escapeHtml(r.change.previousStartedAt)} (${r.change.previousViolations} violations): `
      + `<strong>${r.change.added.length} new</strong>, <strong>${r.change.resolved.length} resolved</strong>.</p>`
      + (r.change.added.length ? `<h3>New</h3><ul>${r.change.added.map((v) => `<li>${escapeHtml(`${v.source} ${v.address}: ${v.rule}`)}</li>`).join('')}</ul>` : '')
      + (r.change.resolved.length ? `<h3>Resolved</h3><ul>${r.change.resolved.map((v) => `<li>${escapeHtml(`${v.source} ${v.address}: ${v.rule}`)}</li>`).join('')}</ul>` : '');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>writegate audit ${escapeHtml(r.run.startedAt)}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;background:#fff}
table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#f0f0f0}.error{color:#b00020}.ok{color:#2e7d32}.status-${r.status}{font-weight:bold}
</style></head><body>
<h1>writegate audit: <span class="status-${r.status}">${r.status}</span></h1>
<p>${r.totals.violations} violations in ${r.totals.objects} objects. Run ${escapeHtml(r.run.startedAt)} – ${escapeHtml(r.run.finishedAt)},
writegate ${escapeHtml(r.run.writegate)}, OPA ${escapeHtml(r.run.opa)}, policy revision <code>${escapeHtml(r.run.policyRevision.value)}</code> (${escapeHtml(r.run.policyRevision.from)}).</p>
<h2>Violations by source and rule</h2>
${violationChart(r)}
<h2>Change</h2>
${change}
<h2>Sources</h2>
<table id="sources"><thead><tr><th>Source</th><th>Origin</th><th>Objects</th><th>Violations</th><th>Read</th></tr></thead><tbody>
${sources}
</tbody></table>
<h2>Violations</h2>
<table id="violations"><thead><tr><th>Source</th><th>Origin</th><th>Address</th><th>Rule</th><th>Message</th><th>Decision id</th></tr></thead><tbody>
${violationRows(r.violations)}
</tbody></table>
</body></html>
`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** report.md: the summary and the findings, for a chat or a ticket. */
export function renderMarkdown(r: AuditReport): string {
  const lines = [
    `# writegate audit: ${r.status}`,
    '',
    `${r.totals.violations} violations in ${r.totals.objects} objects (run ${r.run.startedAt}, policy revision \`${r.run.policyRevision.value}\`).`,
    '',
    '| Source | Origin | Objects | Violations | Read |',
    '|---|---|---:|---:|---|',
    ...r.sources.map((s) => `| ${s.source} | ${cell(s.origin)} | ${s.objects} | ${s.violations} | ${s.error ? `**failed**: ${cell(s.error)}` : 'to the end'} |`),
    '',
  ];
  if (r.change) lines.push(`Since ${r.change.previousStartedAt}: ${r.change.added.length} new, ${r.change.resolved.length} resolved.`, '');
  if (r.violations.length) {
    lines.push('| Source | Address | Rule | Message | Decision id |', '|---|---|---|---|---|');
    for (const v of r.violations) lines.push(`| ${v.source} | ${cell(v.address)} | ${v.rule} | ${cell(v.message)} | \`${v.decision_id}\` |`);
    lines.push('');
  }
  return lines.join('\n');
}
