import { z } from 'zod';

/** `upstreams[].aws`: which AWS service the mount is, and who may call it. */
export const awsOptions = z.strictObject({
  /**
   * The service behind the mount, as it names itself in SigV4 credential scopes: iam or ec2 (both speak the Query
   * protocol; their error envelopes differ, ./render.ts).
   */
  service: z.enum(['iam', 'ec2']),
  /** The region of the credential scope callers sign for and the gateway signs with (IAM: us-east-1). */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]+$/, 'an AWS region such as us-east-1'),
  /** The gateway's callers file: access_key_id,secret_access_key,user,"group1,group2" (./callers.ts); re-read when it changes. */
  callers: z.string().min(1),
});

export type AwsOptions = z.output<typeof awsOptions>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The keys of `upstreams[].credentials` an AWS mount holds its upstream key pair with: the access key id and the
 * secret access key, each from a file (re-read when it changes) or an environment variable.
 */
export const awsCredentialKeys = {
  accessKeyIdFile: z.string().min(1).optional(),
  secretAccessKeyFile: z.string().min(1).optional(),
  accessKeyIdEnv: z.string().regex(ENV_NAME, 'an environment variable name').optional(),
  secretAccessKeyEnv: z.string().regex(ENV_NAME, 'an environment variable name').optional(),
};

/** An AWS mount's `credentials` as its adapter reads them (the common keys are checked by the configuration schema). */
export const awsCredentials = z.object({ mode: z.enum(['passthrough', 'held']), ...awsCredentialKeys });

export type AwsCredentials = z.output<typeof awsCredentials>;

/** The keys of the common credentials block an AWS mount cannot use. */
const NOT_FOR_AWS = ['tokenFile', 'env', 'clientCert', 'clientKey', 'header', 'prefix'] as const;

/**
 * Problems of an AWS mount's `credentials`: the gateway must hold the key pair (a caller's signature is for the
 * gateway's host and path, so it cannot go upstream), each half from exactly one of its file or variable.
 */
export function awsCredentialsIssues(c: Record<string, unknown>): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const add = (key: string, message: string): void => { issues.push({ path: ['credentials', key], message }); };
  if (c.mode !== 'held') {
    add('mode', 'an aws upstream needs mode: held with accessKeyIdFile/accessKeyIdEnv and secretAccessKeyFile/secretAccessKeyEnv (a caller signs for the gateway, so its signature cannot go upstream)');
    return issues;
  }
  for (const k of NOT_FOR_AWS) if (c[k] !== undefined) add(k, 'an aws upstream holds a key pair: accessKeyIdFile or accessKeyIdEnv, and secretAccessKeyFile or secretAccessKeyEnv');
  if (c.impersonate === true) add('impersonate', 'AWS has no way to tell its upstream who the caller is');
  for (const half of ['accessKeyId', 'secretAccessKey'] as const) {
    if ((c[`${half}File`] === undefined) === (c[`${half}Env`] === undefined)) add(`${half}File`, `give exactly one of ${half}File and ${half}Env`);
  }
  return issues;
}
