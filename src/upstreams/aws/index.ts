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
  create: (config, { client }) => new AwsAdapter(config, client),
});
