/**
 * The Rego of a Git repository at a ref, fetched with the real `git` into a cache folder. A module's policy id
 * is its path relative to the repository's root (`policies/kubernetes/main.rego`): the same file always has the
 * same id in OPA, whichever clone or folder it was pushed from.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

export interface SourceOptions {
  /** A Git URL (anything `git fetch` takes) or a folder inside a Git work tree. */
  source: string;
  /** Branch, tag or commit. Absent: a URL's HEAD, or a folder's work tree as it is on disk. */
  ref?: string;
  /** Where fetched repositories and their trees are kept. */
  cache: string;
}

export interface SourceModule {
  /** Path relative to the repository root, with `/` separators. */
  id: string;
  raw: string;
}

export interface SourceTree {
  source: string;
  ref: string;
  /** The commit (for a work tree: HEAD, see `dirty`). */
  commit: string;
  /** A work tree read from disk with changes not committed to HEAD. */
  dirty: boolean;
  /** The folder the ids are relative to (the repository root). */
  dir: string;
  /** Policy modules: `.rego` files, `_test.rego` excluded. */
  modules: SourceModule[];
  /** `_test.rego` files (ids), run by `opa test` before a push, never uploaded. */
  tests: string[];
}

/**
 * Git never prompts, and fetches only over these transports: `ext::` and other command-running transports stay
 * off even where a local configuration would allow them (git-config protocol.allow; GIT_ALLOW_PROTOCOL).
 */
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh' };

function git(args: string[], cwd?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, env: GIT_ENV }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolvePromise(stdout);
    });
  });
}

export const isTest = (id: string): boolean => id.endsWith('_test.rego');

/** The .rego files under `dir` (relative, `/`-separated, sorted), leaving out hidden folders and node_modules. */
export function regoFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rego'))
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((f) => !f.split('/').some((seg) => seg.startsWith('.') || seg === 'node_modules'))
    .sort();
}

function split(tree: Omit<SourceTree, 'modules' | 'tests'>, ids: string[]): SourceTree {
  const rego = ids.filter((id) => id.endsWith('.rego')).sort();
  return {
    ...tree,
    modules: rego.filter((id) => !isTest(id)).map((id) => ({ id, raw: readFileSync(join(tree.dir, id), 'utf8') })),
    tests: rego.filter(isTest),
  };
}

/** The Rego of `options.source` at `options.ref` (see SourceOptions). */
export async function fetchSource(options: SourceOptions): Promise<SourceTree> {
  // Both reach git's command line, where a leading dash would be an option (`--upload-pack=<command>`).
  for (const [name, value] of [['source', options.source], ['ref', options.ref]] as const) {
    if (value !== undefined && (value.startsWith('-') || /[\x00-\x1f]/.test(value))) throw new Error(`${name} "${value}" is not a Git URL, folder or ref`);
  }
  const local = existsSync(options.source) && statSync(options.source).isDirectory() ? resolve(options.source) : undefined;
  if (local) {
    // A bare repository has no work tree: it is fetched like a URL.
    if ((await git(['rev-parse', '--is-bare-repository'], local).catch(() => '')).trim() === 'true') return fetched({ ...options, source: local }, '', options.source);
    const top = (await git(['rev-parse', '--show-toplevel'], local).catch(() => {
      throw new Error(`${options.source} is not inside a Git work tree`);
    })).trim();
    const under = relative(top, local).split(sep).join('/');
    if (options.ref === undefined) return workTree(options.source, top, under);
    return fetched({ ...options, source: top }, under, options.source);
  }
  return fetched(options, '', options.source);
}

/** A folder of a work tree as it is on disk: tracked and untracked files that Git does not ignore. */
async function workTree(source: string, top: string, under: string): Promise<SourceTree> {
  const commit = (await git(['rev-parse', 'HEAD'], top)).trim();
  const scope = under ? ['--', under] : [];
  const listed = (await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', ...scope], top)).split('\0').filter(Boolean);
  const status = await git(['status', '--porcelain', ...scope], top);
  const ids = listed.filter((id) => existsSync(join(top, id)));
  return split({ source, ref: 'HEAD (work tree)', commit, dirty: status.trim().length > 0, dir: top }, ids);
}

/**
 * `git fetch` of the ref into a bare repository in the cache (one per source), then the commit's files (or the
 * folder `under`) extracted once into `trees/<commit>`. A full commit id that the server does not serve by id is
 * found among its fetched branches and tags.
 */
async function fetched(options: SourceOptions, under: string, shownSource: string): Promise<SourceTree> {
  const ref = options.ref ?? 'HEAD';
  const key = createHash('sha256').update(options.source).digest('hex').slice(0, 16);
  const bare = join(options.cache, 'repos', `${key}.git`);
  if (!existsSync(join(bare, 'HEAD'))) {
    mkdirSync(bare, { recursive: true });
    await git(['init', '--bare', '--quiet', bare]);
  }
  let commit: string;
  try {
    await git(['fetch', '--quiet', '--force', '--no-tags', options.source, ref], bare);
    commit = (await git(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], bare)).trim();
  } catch (err) {
    await git(['fetch', '--quiet', '--force', options.source, '+refs/heads/*:refs/remotes/source/*', '+refs/tags/*:refs/tags/*'], bare);
    commit = (await git(['rev-parse', '--verify', `${ref}^{commit}`], bare).catch(() => {
      throw new Error(`ref ${ref} not found in ${shownSource}: ${(err as Error).message}`);
    })).trim();
  }
  const dir = join(options.cache, 'trees', commit);
  if (!existsSync(dir)) await extract(bare, commit, dir);
  const listed = (await git(['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit, ...(under ? ['--', under] : [])], bare)).split('\0').filter(Boolean);
  return split({ source: shownSource, ref, commit, dirty: false, dir }, listed);
}

/** `git archive COMMIT | tar -x` into a fresh folder renamed into place, so a tree is never seen half written. */
async function extract(bare: string, commit: string, dir: string): Promise<void> {
  const tmp = `${dir}.${randomUUID()}.tmp`;
  mkdirSync(tmp, { recursive: true });
  try {
    const archive = spawn('git', ['archive', '--format=tar', commit], { cwd: bare, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-C', tmp], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    archive.stderr.on('data', (c: Buffer) => { errors += c.toString(); });
    tar.stderr.on('data', (c: Buffer) => { errors += c.toString(); });
    archive.stdout.pipe(tar.stdin);
    const [a, t] = await Promise.all([exited(archive), exited(tar)]);
    if (a !== 0 || t !== 0) throw new Error(`git archive ${commit} | tar -x: ${errors.trim() || `exit ${a}/${t}`}`);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another run extracted the same commit first; its tree is identical.
      if (!existsSync(dir)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}
