/**
 * pynetbox with a token the gateway issued (`listen.auth.tokenFile`) while the gateway holds the NetBox token
 * (`credentials.mode: held`), in front of a real NetBox 4.7 (test/netbox/harness.ts) with real OPA: the policy sees
 * the gateway's caller, NetBox acts as the user of the held token (its change log says so), the held token is sent
 * in the scheme its version needs (v2 `Bearer nbt_…`, v1 `Token …`, switched by a rotation of the file), and
 * neither pynetbox nor the decision log ever sees it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../app/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { DecisionEvent } from '../../src/decision/log.js';
import { projectRoot } from '../../src/opa/binary.js';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import { devCertificates, type DevCertificates } from '../../src/tls.js';
import { authorization, SEED, startNetBox, type NetBox } from './harness.js';
import { pynetbox } from './pynetbox.js';

const MOUNT = '/netbox';

describe('pynetbox with a gateway-issued token, the gateway holding the NetBox token', () => {
  let netbox: NetBox;
  let opa: LocalOpa;
  let gateway: Gateway;
  let certs: DevCertificates;
  let work: string;
  let ids: { site: number; deviceType: number; role: number };
  // pynetbox sends a token that starts with nbt_ as `Bearer`, the scheme listen.auth reads.
  const callerToken = `nbt_gwinventory.${randomBytes(20).toString('hex')}`;
  const outputs: string[] = [];

  const direct = async (path: string): Promise<any> => {
    const res = await fetch(`${netbox.url}${path}`, { headers: { authorization: authorization(netbox.tokens.admin.v2) } });
    return res.json();
  };
  const viaPynetbox = async <T>(code: string, args: Record<string, unknown> = {}) => {
    const out = await pynetbox<T>({ url: `${gateway.url}${MOUNT}`, token: callerToken }, [
      // requests lets REQUESTS_CA_BUNDLE from the environment override a session's verify unless trust_env is off.
      'nb.http_session.trust_env = False',
      "nb.http_session.verify = args['ca']",
      code,
    ].join('\n'), { ca: certs.caCert, ...args });
    outputs.push(JSON.stringify(out));
    return out;
  };
  const decisions = (): DecisionEvent[] => {
    gateway.decisionLog.flush();
    return readFileSync(join(work, 'decisions.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'writegate/decision');
  };
  /** Who NetBox's change log says created the device `id`. */
  const creator = async (id: number): Promise<string> =>
    (await direct(`/api/core/object-changes/?changed_object_id=${id}&action=create`)).results.find((c: any) => c.changed_object_type === 'dcim.device').user_name;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'wg-netbox-held-'));
    netbox = await startNetBox({ basePath: MOUNT.slice(1) });
    writeFileSync(join(work, 'netbox-token'), `${netbox.tokens.restricted.v2}\n`);
    writeFileSync(join(work, 'callers.csv'), `${callerToken},svc-inventory,uid-inventory,"inventory"\n`);
    certs = devCertificates(join(work, 'certs'));
    opa = await startLocalOpa({ paths: [join(projectRoot(), 'policies')] });
    gateway = await startGateway(parseConfig({
      listen: { host: '127.0.0.1', port: 0, tls: { cert: certs.cert, key: certs.key }, auth: { tokenFile: join(work, 'callers.csv') } },
      opa: { url: opa.url },
      decisionLog: { path: join(work, 'decisions.log') },
      upstreams: [{
        name: 'netbox', kind: 'netbox', prefix: MOUNT, target: netbox.url, policy: 'writegate/netbox/decision',
        credentials: { mode: 'held', tokenFile: join(work, 'netbox-token') },
      }],
    }));
    const one = async (path: string, slug: string): Promise<number> => (await direct(`${path}?slug=${slug}`)).results[0].id;
    ids = {
      site: await one('/api/dcim/sites/', SEED.objects.site.slug),
      deviceType: await one('/api/dcim/device-types/', SEED.objects.deviceType.slug),
      role: await one('/api/dcim/device-roles/', SEED.objects.deviceRole.slug),
    };
  }, 180_000);

  afterAll(async () => {
    await gateway?.close();
    await opa?.stop();
    await netbox?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const create = (name: string) => viaPynetbox<{ id: number; name: string }>(
    "result = nb.dcim.devices.create(name=args['name'], site=args['site'], device_type=args['deviceType'], role=args['role'])",
    { name, ...ids },
  );

  it('a create is judged as the gateway\'s caller and made by NetBox as the user of the held token', async () => {
    const out = await create('ams1-leaf-01');
    expect(out.ok, JSON.stringify(out)).toBe(true);
    const id = (out as { result: { id: number } }).result.id;
    expect(await creator(id)).toBe('restricted');
    const [d] = decisions().filter((e) => e.summary === 'post dcim/devices');
    expect(d).toMatchObject({ outcome: 'allowed', caller: { username: 'svc-inventory', authenticated_by: 'token' } });
    expect((d!.input as any).request.userInfo).toMatchObject({ username: 'svc-inventory', authenticatedBy: 'token' });
  });

  it('NetBox\'s own permissions are the held token\'s: a delete the policy allows is refused by NetBox', async () => {
    const made = await create('ams1-leaf-02');
    expect(made.ok).toBe(true);
    const out = await viaPynetbox("nb.dcim.devices.get(args['id']).delete()", { id: (made as { result: { id: number } }).result.id });
    expect(out.ok).toBe(false);
    expect((out as { error: { status?: number } }).error.status).toBe(403);
  });

  it('a rotation to a v1 token is sent as `Token` from the next request on', async () => {
    writeFileSync(join(work, 'netbox-token'), netbox.tokens.restricted.v1);
    const out = await create('ams1-leaf-03');
    expect(out.ok, JSON.stringify(out)).toBe(true);
    expect(await creator((out as { result: { id: number } }).result.id)).toBe('restricted');
  });

  it('the NetBox tokens never reach pynetbox or the decision log', () => {
    const logged = readFileSync(join(work, 'decisions.log'), 'utf8');
    expect(logged).toContain('svc-inventory');
    for (const token of [netbox.tokens.restricted.v1, netbox.tokens.restricted.v2, SEED.users.restricted.tokens.v2.secret]) {
      expect(outputs.join('\n')).not.toContain(token);
      expect(logged).not.toContain(token);
    }
  });
});
