/**
 * The key pair the gateway holds for an AWS upstream (`credentials: {mode: held, accessKeyIdFile | accessKeyIdEnv,
 * secretAccessKeyFile | secretAccessKeyEnv}`), read on use: a file is re-read when its inode, size, mtime or ctime
 * change, so the next request after a rotation is signed with the new pair. The secret never leaves the gateway
 * (only signatures made with it do); no message here contains either half, only the file or variable name.
 */
import { readFileSync, statSync } from 'node:fs';
import { WritegateError } from '../../errors.js';
import type { AwsCredentials } from './config.js';

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

function unavailable(upstream: string, what: string): WritegateError {
  return new WritegateError('WG_ERR_CREDENTIAL_UNAVAILABLE', `upstream ${upstream}: ${what}`);
}

/** One half of the pair, from its file or variable. */
class Half {
  private version = '';
  private text = '';

  constructor(private readonly upstream: string, private readonly file: string | undefined, private readonly env: string | undefined) {}

  value(): string {
    let text: string | undefined;
    let where: string;
    if (this.file !== undefined) {
      where = `the credential file ${this.file}`;
      try {
        const s = statSync(this.file, { bigint: true });
        const version = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
        if (version !== this.version) {
          this.text = readFileSync(this.file, 'utf8');
          this.version = version;
        }
        text = this.text;
      } catch (err) {
        throw unavailable(this.upstream, `${where} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else {
      where = `the credential variable ${this.env}`;
      text = process.env[this.env!];
      if (text === undefined) throw unavailable(this.upstream, `${where} is not set`);
    }
    const value = text.trim();
    if (!/^[\x21-\x7e]{1,128}$/.test(value)) throw unavailable(this.upstream, `${where} is empty or holds spaces, control or non-ASCII characters`);
    return value;
  }
}

export class HeldKeyPair {
  private readonly accessKeyId: Half;
  private readonly secretAccessKey: Half;

  constructor(upstream: string, c: AwsCredentials) {
    this.accessKeyId = new Half(upstream, c.accessKeyIdFile, c.accessKeyIdEnv);
    this.secretAccessKey = new Half(upstream, c.secretAccessKeyFile, c.secretAccessKeyEnv);
  }

  /** The pair as it is now; throws WG_ERR_CREDENTIAL_UNAVAILABLE when a half cannot be read. */
  value(): KeyPair {
    return { accessKeyId: this.accessKeyId.value(), secretAccessKey: this.secretAccessKey.value() };
  }
}
