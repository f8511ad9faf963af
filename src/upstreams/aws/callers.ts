/**
 * The callers of an AWS mount (`aws.callers`): the gateway's own credentials file, one caller per record,
 * `access_key_id,secret_access_key,user,"group1,group2"`, read with the CSV reader of the token file
 * (src/auth/token-file.ts, Go's encoding/csv rules). A caller signs its requests for the gateway with its key pair
 * (SigV4); the gateway checks the signature with the secret it holds here and names the caller `user` in `groups`.
 *
 * The file is re-read when it changes (a stat on use: inode, size, mtime, ctime), so a removed caller stops working
 * at the next request. A file that cannot be read or is malformed authenticates no one until it is fixed: a typo
 * while revoking a key must not keep the revoked key working. An access key id listed twice makes the file
 * malformed (which secret would verify is a guess). Secrets never appear in a message.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Caller } from '../../auth/caller.js';
import { parseCsv } from '../../auth/token-file.js';

export interface AwsCaller {
  accessKeyId: string;
  secretAccessKey: string;
  caller: Caller;
}

/** An access key id as AWS writes them (16 to 128 word characters). */
const ACCESS_KEY_ID = /^[A-Za-z0-9_]{16,128}$/;

/** The callers of a callers file's text, by access key id; throws an Error naming the problem (never a secret). */
export function parseCallers(text: string): Map<string, AwsCaller> {
  const out = new Map<string, AwsCaller>();
  parseCsv(text).forEach((record, i) => {
    const where = `record ${i + 1}`;
    if (record.length < 3 || record.length > 4) throw new Error(`${where}: access_key_id,secret_access_key,user[,"group1,group2"] (found ${record.length} columns)`);
    const [accessKeyId, secretAccessKey, username, groups] = record as [string, string, string, string | undefined];
    if (!ACCESS_KEY_ID.test(accessKeyId)) throw new Error(`${where}: the access key id is not 16 to 128 letters, digits or "_"`);
    if (!/^[\x21-\x7e]{1,128}$/.test(secretAccessKey)) throw new Error(`${where}: the secret access key is empty or holds spaces or non-ASCII characters`);
    if (username === '') throw new Error(`${where}: the user name is empty`);
    if (out.has(accessKeyId)) throw new Error(`${where}: the access key id ${accessKeyId} is listed twice`);
    out.set(accessKeyId, {
      accessKeyId,
      secretAccessKey,
      caller: {
        username,
        uid: '',
        groups: groups === undefined || groups === '' ? [] : groups.split(','),
        extra: { 'writegate.dev/aws-access-key-id': [accessKeyId] },
        authenticatedBy: 'token',
      },
    });
  });
  return out;
}

function versionOf(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** A callers file, re-read when it changed since the last request. */
export class CallersFile {
  private version = '';
  private callers: Map<string, AwsCaller> | undefined;
  private problem: string | undefined;

  constructor(readonly path: string) {}

  /** The caller of `accessKeyId`; undefined when the file names no such key. Throws an Error when the file is unusable. */
  lookup(accessKeyId: string): AwsCaller | undefined {
    let version: string;
    try {
      version = versionOf(this.path);
    } catch (err) {
      throw new Error(`the callers file ${this.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (version !== this.version) {
      this.version = version;
      try {
        this.callers = parseCallers(readFileSync(this.path, 'utf8'));
        this.problem = undefined;
      } catch (err) {
        this.callers = undefined;
        this.problem = `the callers file ${this.path} is not usable: ${(err as Error).message}`;
      }
    }
    if (!this.callers) throw new Error(this.problem);
    return this.callers.get(accessKeyId);
  }
}
