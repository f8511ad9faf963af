/**
 * Static bearer tokens (`listen.auth.tokenFile`) in kube-apiserver's `--token-auth-file` format, read as its parser
 * reads it (k8s.io/apiserver/pkg/authentication/token/tokenfile NewCSV): Go's encoding/csv with variable field
 * counts, then per record `token,user,uid[,"group1,group2"][,more columns ignored]`. A record with fewer than three
 * columns makes the whole file invalid; an empty token is skipped; a token listed twice is the last record's;
 * groups are the fourth column split on "," (an empty fourth column is one group named "", as there).
 *
 * The file is re-read when it changes: a watch on its folder (an editor's rename or a Kubernetes secret's symlink
 * swap replaces the file, so the file itself cannot be watched) marks it stale, and a stat at most once a second on
 * use catches what a watch misses. A file that cannot be read or parsed on a re-read accepts no token at all until
 * it can (a typo while revoking a token must not keep the revoked one working). Tokens are kept only as SHA-256
 * digests and compared in constant time; no token is ever logged (the record carries a short digest at most).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { WritegateError } from '../errors.js';
import type { Caller } from './caller.js';

/** One problem of a token file, as Go's encoding/csv or the apiserver's parser reports it. */
export class TokenFileError extends Error {}

/**
 * The records of a CSV text as Go's encoding/csv Reader reads them with its defaults (`,` separator, no comment
 * character, LazyQuotes and TrimLeadingSpace false): `\r\n` ends a line as `\n` does, empty lines are skipped, a
 * quote inside an unquoted field or text after a closing quote is an error, `""` in a quoted field is one quote,
 * and a quoted field may span lines.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    // An empty line (only its line ending) is skipped.
    if (text[i] === '\n') { i += 1; line += 1; continue; }
    if (text[i] === '\r' && text[i + 1] === '\n') { i += 2; line += 1; continue; }
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i += 1;
        for (;;) {
          if (i >= n) throw new TokenFileError(`line ${line}: a quoted field is not closed`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i += 1;
            break;
          }
          if (c === '\r' && text[i + 1] === '\n') { field += '\n'; i += 2; line += 1; continue; }
          if (c === '\n') line += 1;
          field += c;
          i += 1;
        }
        const after = text[i];
        if (!(after === undefined || after === ',' || after === '\n' || (after === '\r' && text[i + 1] === '\n'))) {
          throw new TokenFileError(`line ${line}: text after a closing quote`);
        }
      } else {
        const start = i;
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw new TokenFileError(`line ${line}: a quote inside an unquoted field`);
          i += 1;
        }
        field = text.slice(start, i);
      }
      record.push(field);
      if (text[i] === ',') { i += 1; continue; }
      if (text[i] === '\r') i += 1;
      if (text[i] === '\n') { i += 1; line += 1; }
      break;
    }
    records.push(record);
  }
  return records;
}

interface Entry {
  digest: Buffer;
  caller: Caller;
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The apiserver's reading of a token file's records: digest of each token to its user (without `system:authenticated`). */
export function parseTokenFile(text: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const record of parseCsv(text)) {
    if (record.length < 3) throw new TokenFileError(`a record must have at least 3 columns (token, user name, user uid), found ${record.length}`);
    const [token, username, uid] = record as [string, string, string];
    if (token === '') continue;
    const digest = digestOf(token);
    // A token listed again replaces the earlier record, as the apiserver's map assignment does.
    entries.set(digest.toString('hex'), {
      digest,
      caller: { username, uid, groups: record.length >= 4 ? record[3]!.split(',') : [], extra: {}, authenticatedBy: 'token' },
    });
  }
  return entries;
}

/** How long a token file is trusted without a stat when no watch event said it changed. */
const STAT_INTERVAL_MS = 1000;

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export class TokenFile {
  private entries: Map<string, Entry> = new Map();
  private stat: Stats | undefined;
  private checkedAt = 0;
  private stale = false;
  /** Why the file is not usable now (then no token authenticates). */
  private problem: string | undefined;
  private readonly watcher: FSWatcher | undefined;

  /** Throws WG_ERR_CONFIG_INVALID when the file cannot be read or parsed at start. */
  constructor(private readonly path: string, private readonly onReload?: (problem: string | undefined) => void) {
    this.load();
    if (this.problem !== undefined) throw new WritegateError('WG_ERR_CONFIG_INVALID', `listen.auth.tokenFile ${path}: ${this.problem}`);
    try {
      // Only events for the file, or for a Kubernetes secret volume's `..data` symlink swap: another busy file in the
      // folder (a log) must not make every request re-read the tokens.
      const name = basename(path);
      this.watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name || changed.startsWith('..')) this.stale = true;
      });
      this.watcher.on('error', () => { this.stale = true; });
    } catch {
      // A folder that cannot be watched is covered by the stat on use.
      this.watcher = undefined;
    }
  }

  /**
   * The caller whose token this is, with the token's SHA-256 (hex, for a short digest in the record), or undefined.
   * Re-reads the file first if it changed.
   */
  authenticate(token: string): { caller: Caller; sha256: string } | undefined {
    this.refresh();
    if (this.problem !== undefined) return undefined;
    const digest = digestOf(token);
    const sha256 = digest.toString('hex');
    const entry = this.entries.get(sha256);
    // The lookup is by digest, so its timing says nothing about the token; the final comparison is constant-time.
    return entry && timingSafeEqual(entry.digest, digest) ? { caller: entry.caller, sha256 } : undefined;
  }

  close(): void {
    this.watcher?.close();
  }

  private refresh(): void {
    const now = Date.now();
    if (this.stale) {
      // A watch event in the folder: read again whatever the stat says (a rewrite within one mtime tick keeps it).
      this.stale = false;
      this.checkedAt = now;
      this.load();
      return;
    }
    if (now - this.checkedAt < STAT_INTERVAL_MS) return;
    this.checkedAt = now;
    let stat: Stats;
    try {
      stat = statSync(this.path);
    } catch (err) {
      this.fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return;
    }
    if (this.problem === undefined && this.stat && sameFile(this.stat, stat)) return;
    this.load();
  }

  private load(): void {
    let text: string;
    let stat: Stats;
    try {
      stat = statSync(this.path);
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      this.fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return;
    }
    try {
      this.entries = parseTokenFile(text);
    } catch (err) {
      this.fail(err instanceof TokenFileError ? err.message : String(err));
      return;
    }
    this.stat = stat;
    this.problem = undefined;
    this.onReload?.(undefined);
  }

  private fail(problem: string): void {
    this.entries = new Map();
    this.stat = undefined;
    if (this.problem !== problem) this.onReload?.(problem);
    this.problem = problem;
  }
}
