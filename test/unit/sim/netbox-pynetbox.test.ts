/**
 * The NetBox simulator driven by a real NetBox client, pynetbox 7.9 (in the venv scripts/setup-netbox.sh builds):
 * its version check, filters, bulk create, `.all()` across pages (pynetbox follows the absolute `next` links), `save()`
 * and `delete()` through the record's own URL, and its RequestError on a refused write.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEED_TOKENS, startNetboxSim, type NetboxSim } from '../../../sim/netbox/index.js';
import { pynetbox } from '../../netbox/pynetbox.js';

let sim: NetboxSim;

beforeEach(async () => {
  sim = await startNetboxSim({ basePath: 'netbox' });
});
afterEach(() => sim.close());

const nb = <T>(code: string, args?: unknown) => pynetbox<T>({ url: sim.url, token: SEED_TOKENS.admin }, code, args);

describe('pynetbox against the NetBox simulator', () => {
  it('reads the API version, the status and filtered lists', async () => {
    const out = await nb<{ version: string; status: string; count: number; names: string[] }>(`
result = {
  'version': nb.version,
  'status': nb.status()['netbox-version'],
  'count': nb.dcim.devices.count(),
  'names': [d.name for d in nb.dcim.devices.filter(status='active', tag='protected')],
}`);
    expect(out).toEqual({ ok: true, result: { version: '4.7', status: '4.7.3', count: 3, names: ['ams1-leaf-01'] } });
  });

  it('creates in bulk, pages .all() through the next links, saves and deletes records by their URLs', async () => {
    const out = await nb<{ created: number; all: number; saved: boolean; serial: string; deleted: boolean; after: number; urls: string[] }>(`
site = nb.dcim.sites.get(slug='ams1')
created = nb.dcim.devices.create([
  {'name': 'ams1-pyleaf-%03d' % i, 'device_type': {'slug': 'leaf-48'}, 'role': {'slug': 'leaf'}, 'site': site.id}
  for i in range(120)
])
every = list(nb.dcim.devices.all(limit=25))
leaf = nb.dcim.devices.get(name='ams1-leaf-02')
leaf.serial = 'PY-1'
saved = leaf.save()
spare = nb.dcim.devices.get(name='ams1-spare-01')
deleted = spare.delete()
result = {
  'created': len(created),
  'all': len(set(d.id for d in every)),
  'saved': saved,
  'serial': nb.dcim.devices.get(name='ams1-leaf-02').serial,
  'deleted': deleted,
  'after': nb.dcim.devices.count(),
  'urls': [leaf.url, spare.url],
}`);
    expect(out.ok, JSON.stringify(out)).toBe(true);
    if (!out.ok) return;
    expect(out.result).toMatchObject({ created: 120, all: 123, saved: true, serial: 'PY-1', deleted: true, after: 122 });
    for (const url of out.result.urls) expect(url).toMatch(new RegExp(`^${sim.url}/api/dcim/devices/\\d+/$`));
    const requests = sim.requests.filter((r) => r.url.startsWith('/netbox/api/dcim/devices/?'));
    // .all(limit=25) fetched the 123 devices in pages of 25, the last at offset 100.
    expect(requests.some((r) => r.url.includes('offset=100'))).toBe(true);
  });

  it('raises RequestError with NetBox\'s errors for a refused write', async () => {
    const out = await nb(`
nb.dcim.devices.create({'name': 'ams1-leaf-01', 'device_type': {'slug': 'leaf-48'}, 'role': {'slug': 'leaf'}, 'site': {'slug': 'ams1'}})`);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.error.type).toBe('RequestError');
    expect(out.error.status).toBe(400);
    expect(JSON.parse(out.error.body!)).toEqual({ __all__: ['Device name must be unique per site.'] });
  });
});
