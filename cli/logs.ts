import { closeSync, existsSync, openSync, readSync, statSync, watchFile } from 'node:fs';
import { Command } from 'commander';
import type { SuppressedEvent } from '../src/decision/limits.js';
import type { LogRecord } from '../src/decision/log.js';
import { fail } from './exit.js';

interface LogsOptions {
  file: string;
  follow?: boolean;
  decisionId?: string;
  json?: boolean;
}

const COLORS: Record<string, string> = { allowed: '32', denied: '31', error: '31', dryrun_denied: '33', warn_denied: '33', fail_open: '35' };

/** One line for a person: time, outcome, method, url, who, id, reasons. */
export function formatEvent(e: LogRecord | SuppressedEvent, color: boolean): string {
  const paint = (code: string | undefined, s: string): string => (color && code ? `\x1b[${code}m${s}\x1b[0m` : s);
  const time = e.timestamp.replace('T', ' ').replace('Z', '');
  if (e.type === 'writegate/upstream') {
    return `${time}  ${paint('2', '  -> upstream')} ${e.upstream_status ?? e.error?.code ?? '-'}  ${e.method} ${e.url}  ${e.decision_id}  ${e.latency_ms}ms`;
  }
  if (e.type === 'writegate/verification' || e.type === 'writegate/residual-mismatch') {
    const mismatch = e.type === 'writegate/residual-mismatch';
    const label = mismatch ? paint('31', '  !! OPA disagrees') : paint('2', e.verified ? '  == OPA agrees' : '  ?? not verified');
    const opa = e.opa.error ? `opa error ${e.opa.error.code}` : `opa decision ${e.opa.decision_id ?? '-'}`;
    return `${time}  ${label}  ${e.decision_id}  ${opa}  revision=${e.revision}  ${e.latency_ms}ms`
      + (mismatch ? e.reasons.map((r) => `\n    ${r}`).join('') : '');
  }
  if (e.type === 'writegate/suppressed') {
    const clients = e.clients.map((c) => `${c.client}: ${c.records} (${Object.entries({ ...c.outcomes, ...c.codes }).map(([k, n]) => `${k} ${n}`).join(', ')})`);
    return `${time}  ${paint('33', 'SUPPRESSED'.padEnd(13))} ${e.suppressed} records of refused requests over their client's rate since ${e.since}`
      + clients.map((c) => `\n    ${c}`).join('') + (e.other_clients ? `\n    ${e.other_clients.clients} more clients: ${e.other_clients.records}` : '');
  }
  const who = e.caller.username ? ` by ${e.caller.username}` : '';
  const detail = [...e.reasons.map((r) => `deny: ${r}`), ...e.warnings.map((w) => `warn: ${w}`), ...(e.error ? [`error: ${e.error.code} ${e.error.message}`] : [])];
  return `${time}  ${paint(COLORS[e.outcome], e.outcome.toUpperCase().padEnd(13))} ${e.method} ${e.upstream ? `[${e.upstream}] ` : ''}${e.summary || e.url}${who}  ${e.decision_id}  engine=${e.engine} ${e.latency_ms}ms`
    + detail.map((d) => `\n    ${d}`).join('');
}

export function logsCommand(): Command {
  return new Command('logs')
    .description('Print, filter and follow the decision log.')
    .requiredOption('-f, --file <file>', 'decision log file (decisionLog.path)')
    .option('--follow', 'keep printing new decisions as they are written')
    .option('--decision-id <id>', 'only the records of this decision')
    .option('--json', 'print the raw JSON lines')
    .action((opts: LogsOptions) => {
      try {
        if (!existsSync(opts.file) && !opts.follow) throw new Error(`no decision log at ${opts.file}`);
        const color = process.stdout.isTTY === true && !opts.json;
        let offset = 0;
        let partial = '';
        let found = false;
        const drain = (): void => {
          if (!existsSync(opts.file)) return;
          const size = statSync(opts.file).size;
          if (size < offset) offset = 0;
          if (size === offset) return;
          const fd = openSync(opts.file, 'r');
          const buf = Buffer.alloc(size - offset);
          readSync(fd, buf, 0, buf.length, offset);
          closeSync(fd);
          offset = size;
          const lines = (partial + buf.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (!line.trim()) continue;
            let e: LogRecord | SuppressedEvent;
            try {
              e = JSON.parse(line) as LogRecord | SuppressedEvent;
            } catch {
              continue;
            }
            if (opts.decisionId && (e.type === 'writegate/suppressed' || e.decision_id !== opts.decisionId)) continue;
            found = true;
            process.stdout.write(`${opts.json ? line : formatEvent(e, color)}\n`);
          }
        };
        drain();
        if (opts.follow) {
          watchFile(opts.file, { interval: 200 }, drain);
          return;
        }
        if (opts.decisionId && !found) {
          process.stderr.write(`writegate: no decision ${opts.decisionId} in ${opts.file}\n`);
          process.exitCode = 1;
        }
      } catch (err) {
        fail(err);
      }
    });
}
