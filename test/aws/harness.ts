/**
 * A real third-party AWS implementation for the AWS tests: `moto_server` (moto[server], installed by
 * scripts/setup-moto.sh under .tools/) on 127.0.0.1 and a free port, serving IAM and EC2's Query protocol at `/`.
 *
 * moto checks no signature by default. Started with `INITIAL_NO_AUTH_ACTION_COUNT`, it authenticates every request
 * after that many as AWS does (the access key must be one of its IAM users', the SigV4 signature must verify, and
 * the user's policies must allow the action): the harness spends those actions creating the gateway's own IAM user
 * with AdministratorAccess and its access key — the held credential — so from then on moto accepts only requests
 * the gateway signed with it, never a caller's own signature.
 *
 * And the real `aws` CLI of the machine image, run with a config and credentials file of the test's own.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/net.js';
import { projectRoot } from '../../src/opa/binary.js';
import type { StackUpstream } from '../helpers/stack.js';
import { stopGroup, supervise, waitFor } from '../helpers/processes.js';

const MANIFEST = join(projectRoot(), '.tools', 'moto.json');

/** moto_server's path from scripts/setup-moto.sh's manifest; throws with the fix when setup has not run. */
export function motoServerPath(): string {
  if (!existsSync(MANIFEST)) throw new Error(`moto is not installed (${MANIFEST} is missing): run bash scripts/setup-moto.sh`);
  return (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { motoServer: string }).motoServer;
}

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Moto {
  url: string;
  /** The gateway's own IAM user's key pair (the held credential), when started with `auth`. */
  held?: KeyPair;
  /** Every line moto_server wrote (its request log). */
  log: string[];
  close(): Promise<void>;
}

export interface AwsCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `aws` CLI with `args`, signing with `keys`, against `endpoint` (--endpoint-url), with a config and
 * credentials file of its own (nothing of the machine's), one attempt (no retries), JSON output; `ca` is the CA
 * bundle that verifies an https endpoint.
 */
export function awsCli(endpoint: string, keys: KeyPair, args: string[], options: { ca?: string; region?: string } = {}): Promise<AwsCliResult> {
  const region = options.region ?? 'us-east-1';
  const dir = mkdtempSync(join(tmpdir(), 'writegate-aws-cli-'));
  const config = join(dir, 'config');
  const credentials = join(dir, 'credentials');
  writeFileSync(config, `[default]\nregion = ${region}\noutput = json\nretry_mode = standard\nmax_attempts = 1\n`);
  writeFileSync(credentials, `[default]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    // The gateway's TLS certificate is signed by the test's own CA.
    ...(options.ca ? { AWS_CA_BUNDLE: options.ca } : {}),
  };
  return new Promise((resolve) => {
    execFile('aws', [...args, '--endpoint-url', endpoint], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A key pair moto never issued: what a caller signs with when moto checks nothing. */
export const UNCHECKED: KeyPair = { accessKeyId: 'AKIAMOTOSETUP0000000', secretAccessKey: 'moto-setup-secret' };

/**
 * Starts moto_server. With `auth`, the first three actions (CreateUser, AttachUserPolicy, CreateAccessKey) make the
 * gateway's own user and key pair, and moto authenticates everything after them.
 */
export async function startMoto(options: { auth?: boolean } = {}): Promise<Moto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const proc = supervise(motoServerPath(), ['-H', '127.0.0.1', '-p', String(port)], (line) => log.push(line), {
    // AWS's managed policies (AdministratorAccess) exist in moto only when asked for.
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true', ...(options.auth ? { INITIAL_NO_AUTH_ACTION_COUNT: '3' } : {}) },
  });
  try {
    await waitFor('moto_server', proc, 60_000, async () => (await fetch(`${url}/moto-api/data.json`)).ok);
    let held: KeyPair | undefined;
    if (options.auth) {
      const run = async (args: string[]): Promise<string> => {
        const r = await awsCli(url, UNCHECKED, args);
        if (r.code !== 0) throw new Error(`moto setup: aws ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      await run(['iam', 'create-user', '--user-name', 'writegate-gateway']);
      await run(['iam', 'attach-user-policy', '--user-name', 'writegate-gateway', '--policy-arn', 'arn:aws:iam::aws:policy/AdministratorAccess']);
      const key = (JSON.parse(await run(['iam', 'create-access-key', '--user-name', 'writegate-gateway'])) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
      held = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    }
    return { url, ...(held ? { held } : {}), log, close: () => stopGroup(proc.child) };
  } catch (err) {
    await stopGroup(proc.child);
    throw err;
  }
}

/**
 * A gateway mount of moto's `service` for the callers in `callers`, holding moto's key pair in the files held-akid and
 * held-secret of `dir` (written here).
 */
export function heldAwsMount(moto: Moto, dir: string, service: 'iam' | 'ec2', callers: string): StackUpstream {
  writeFileSync(join(dir, 'held-akid'), `${moto.held!.accessKeyId}\n`);
  writeFileSync(join(dir, 'held-secret'), `${moto.held!.secretAccessKey}\n`);
  return {
    name: `aws-${service}`, kind: 'aws', prefix: `/aws/${service}`, target: moto.url, policy: 'writegate/aws/decision',
    aws: { service, region: 'us-east-1', callers },
    // The AWS key pair keys are the kind's own credentials keys, outside the common block's type.
    credentials: { mode: 'held', accessKeyIdFile: join(dir, 'held-akid'), secretAccessKeyFile: join(dir, 'held-secret') } as StackUpstream['credentials'],
  };
}
