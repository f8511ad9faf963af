import { ofKind, type UpstreamConfig } from '../../config/schema.js';
import { UpstreamClient } from '../../upstreams/client.js';
import { awsCredentials } from '../../upstreams/aws/config.js';
import { HeldKeyPair } from '../../upstreams/aws/held.js';
import { QueryCaller, currentAccessKeys } from '../../upstreams/aws/lookup.js';
import { child, childText, entries } from '../../upstreams/aws/xml.js';
import type { AuditObject, AuditSource } from '../types.js';

/**
 * IAM users of an `aws.service: iam` upstream, with their access keys and the keys' ages: ListUsers followed
 * through `Marker` while `IsTruncated` (IAM API reference, ListUsers; MaxItems 1..1000), then each user read as the
 * gateway reads one before a key write (GetUser with its tags, ListAccessKeys), every call signed with the key pair
 * the gateway holds.
 */
export function awsSource(upstream: UpstreamConfig, pageSize: number): AuditSource {
  const cfg = ofKind(upstream, 'aws');
  const client = new UpstreamClient(upstream);
  const query = new QueryCaller(client, 'iam', cfg.aws.region, new HeldKeyPair(upstream.name, awsCredentials.parse(upstream.credentials)));
  return {
    source: 'aws',
    origin: upstream.name,
    async *pages(): AsyncIterable<AuditObject[]> {
      let marker: string | undefined;
      do {
        const listed = await query.call('ListUsers', [['MaxItems', String(Math.min(1000, pageSize))], ...(marker ? [['Marker', marker] as [string, string]] : [])]);
        const page: AuditObject[] = [];
        for (const user of entries(child(listed, 'Users'), 'member')) {
          const userName = childText(user, 'UserName') ?? '';
          page.push({ resource: 'users', address: `iam/users/${userName}`, object: await currentAccessKeys(query, userName, new Date()), context: {} });
        }
        yield page;
        marker = childText(listed, 'IsTruncated') === 'true' ? childText(listed, 'Marker') : undefined;
      } while (marker);
    },
    close: () => client.close(),
  };
}
