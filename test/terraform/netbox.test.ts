/**
 * The Terraform scenario for NetBox, driven by pynetbox: the community Terraform provider (e-breuninger/netbox) and
 * its client library are not served by the Go module proxy here, so pynetbox plays the provider's part against a
 * real NetBox 4.7 behind the TLS gateway, with the shipped policies/netbox rules — a create that is allowed, a create
 * that is denied with the policy's reasons and the decision id in the client's error, and a delete of a protected
 * object that is denied — with a decision record for every write, and NetBox's own state checked directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { authorization, SEED, startNetBox, type NetBox } from '../netbox/harness.js';
import { pynetbox } from '../netbox/pynetbox.js';

const MOUNT = '/netbox';

interface Denied { status: number; detail: string }

describe('the Terraform scenario for NetBox through the gateway, with pynetbox', () => {
  let netbox: NetBox;
  let stack: Stack;

  /** An object as NetBox stores it, read past the gateway. */
  const direct = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${netbox.url}${path}`, { headers: { authorization: authorization(netbox.tokens.admin.v2) } });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    netbox = await startNetBox({ basePath: MOUNT.slice(1) });
    stack = await startStack({
      kinds: [{ name: 'netbox', kind: 'netbox', prefix: MOUNT, target: netbox.url, policy: 'writegate/netbox/decision' }],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await netbox?.stop();
  });

  it('an allowed create is stored, a denied create and a protected delete fail with the reasons and decision ids', async () => {
    const before = stack.decisions().length;
    const out = await pynetbox<{ id: number; badName: Denied; protectedDelete: Denied }>(
      { url: stack.url('netbox'), token: netbox.tokens.admin.v2 }, `
# requests lets REQUESTS_CA_BUNDLE from the environment override a session's verify unless trust_env is off.
nb.http_session.trust_env = False
nb.http_session.verify = args['ca']
site = nb.dcim.sites.get(slug=args['site'])
device_type = nb.dcim.device_types.get(slug=args['deviceType'])
role = nb.dcim.device_roles.get(slug=args['role'])
tag = nb.extras.tags.get(slug=args['tag'])

def refused(write):
    try:
        write()
    except pynetbox.RequestError as err:
        return {'status': err.req.status_code, 'detail': err.req.json()['detail']}
    raise AssertionError('the write was not refused')

leaf = nb.dcim.devices.create(name='ams1-leaf-07', site=site.id, device_type=device_type.id, role=role.id,
                              status='planned', tags=[tag.id])
bad_name = refused(lambda: nb.dcim.devices.create(name='Leaf 7', site=site.id, device_type=device_type.id, role=role.id))
protected_delete = refused(leaf.delete)
result = {'id': leaf.id, 'badName': bad_name, 'protectedDelete': protected_delete}
`, {
        ca: stack.certs.caCert,
        site: SEED.objects.site.slug,
        deviceType: SEED.objects.deviceType.slug,
        role: SEED.objects.deviceRole.slug,
        tag: SEED.objects.tag.slug,
      });
    expect(out, JSON.stringify(out)).toMatchObject({ ok: true, result: { badName: { status: 403 }, protectedDelete: { status: 403 } } });
    if (!out.ok) return;
    const { id, badName, protectedDelete } = out.result;
    expect(badName.detail).toMatch(/^writegate denied the request: device name "Leaf 7" does not follow the naming pattern.*\[device-name-pattern\] \(decision [0-9a-f-]{36}\)$/);
    expect(protectedDelete.detail).toMatch(/^writegate denied the request: dcim\/devices "ams1-leaf-07" \(id \d+\) is tagged "protected" and cannot be deleted: remove the tag first \[protected-delete\] \(decision [0-9a-f-]{36}\)$/);

    // One decision per write pynetbox sent, and the ids in the errors are those of the denials.
    const decisions = stack.decisions().slice(before);
    expect(decisions.map((d) => `${d.method} ${d.url} ${d.outcome}`)).toEqual([
      'POST /api/dcim/devices/ allowed',
      'POST /api/dcim/devices/ denied',
      `DELETE /api/dcim/devices/${id}/ denied`,
    ]);
    expect(badName.detail).toContain(`(decision ${decisions[1]!.decision_id})`);
    expect(protectedDelete.detail).toContain(`(decision ${decisions[2]!.decision_id})`);
    expect(decisions[2]!.reasons).toEqual([expect.stringContaining('[protected-delete]')]);

    // NetBox has the allowed device, still, and never got the denied one.
    const stored = await direct(`/api/dcim/devices/${id}/`);
    expect(stored.status).toBe(200);
    expect(stored.body.name).toBe('ams1-leaf-07');
    expect((await direct('/api/dcim/devices/?name=Leaf%207')).body.count).toBe(0);
  });
});
