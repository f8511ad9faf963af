import { defineKind } from '../types.js';
import { AwsAdapter } from './adapter.js';
import { awsCredentialKeys, awsCredentialsIssues, awsOptions } from './config.js';

/** An AWS Query-protocol service (IAM, EC2): SigV4 verified against the gateway's callers, re-signed with a held key pair. */
export const awsKind = defineKind({
  name: 'aws',
  optionsSchema: awsOptions,
  // The caller is always the one whose SigV4 signature verified against aws.callers (./verify.ts).
  identities: ['none'],
  // Never sent as a header: the held key pair signs each request (credentialKeys, ./sign.ts).
  heldCredential: { header: 'authorization', prefix: () => '' },
  credentialKeys: { shape: awsCredentialKeys, issues: awsCredentialsIssues },
  resolvePaths: (config, abs) => {
    config.aws.callers = abs(config.aws.callers);
    // The kind's own credentials keys, outside the common block's type.
    const pair = config.credentials as { accessKeyIdFile?: string; secretAccessKeyFile?: string };
    if (pair.accessKeyIdFile) pair.accessKeyIdFile = abs(pair.accessKeyIdFile);
    if (pair.secretAccessKeyFile) pair.secretAccessKeyFile = abs(pair.secretAccessKeyFile);
  },
  create: (config, { client }) => new AwsAdapter(config, client),
});
