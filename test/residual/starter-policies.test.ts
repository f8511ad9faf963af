/**
 * The starter policies of the cloudflare, netbox, generic and aws kinds against the input contract of
 * policies/README.md: every example input under policies/examples/ is valid under its kind's JSON Schema
 * (policies/schemas/), and is decided as the example says, by both engines loaded from policies/ in a real OPA:
 * an allowed example locally by the residual engine ('allow'), a denied or warned one by OPA after the engine
 * fell back. Generated variants of the examples then compare the engine with OPA as the differential test does
 * for Kubernetes: no local allow OPA does not give cleanly, and no clean OPA allow the engine misses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { ResidualEngine, residualOpaClient } from '../../src/residual/engine.js';
import { allowedClean, startHarness, type Harness, COMPILE_TIMEOUT_MS } from './harness.js';

const root = projectRoot();
const KINDS = ['cloudflare', 'netbox', 'generic', 'aws'] as const;
type Kind = (typeof KINDS)[number];
const decisionPath = (kind: string): string => `writegate/${kind}/decision`;

/** What each example is for: allowed cleanly, allowed with these warnings, or denied by these rules. */
type Expected = { allow: true } | { warn: string[] } | { deny: string[] };
const EXPECTED: Record<string, Expected> = {
  'cloudflare/dns-create': { allow: true },
  'cloudflare/dns-batch': { allow: true },
  'cloudflare/ruleset-entrypoint-keeps-managed': { allow: true },
  'cloudflare/pagerule-create': { warn: ['review-rule-change'] },
  'cloudflare/dns-patch-short-ttl': { deny: ['dns-min-ttl'] },
  'cloudflare/dns-batch-protected-and-apex': { deny: ['apex-proxied', 'protected-record-delete'] },
  'cloudflare/ruleset-entrypoint-drops-managed': { deny: ['keep-managed-rules'] },
  'netbox/device-create': { allow: true },
  'netbox/device-delete-offline': { allow: true },
  'netbox/device-bulk-patch': { allow: true },
  'netbox/device-create-bad-name': { deny: ['device-name-pattern'] },
  'netbox/device-bulk-create-bad-name': { deny: ['device-name-pattern'] },
  'netbox/device-delete-active': { deny: ['active-device-delete'] },
  'netbox/prefix-bulk-delete-protected': { deny: ['protected-delete'] },
  'generic/thing-delete': { allow: true },
  'generic/unknown-path-post': { warn: ['unknown-path-write'] },
  'generic/thing-delete-prod': { deny: ['protected-thing-delete'] },
  'aws/access-key-create': { allow: true },
  'aws/sg-ingress-https': { allow: true },
  'aws/access-key-rotation-young': { deny: ['key-rotation-min-age', 'key-rotation-service-user'] },
  'aws/admin-policy-user': { deny: ['admin-policy-break-glass'] },
  'aws/sg-ingress-ssh-world': { deny: ['sg-admin-port-world'] },
};

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** Every example folder, as "<kind>/<case>" → its input. */
function examples(): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const kind of readdirSync(join(root, 'policies/examples'))) {
    for (const c of readdirSync(join(root, 'policies/examples', kind))) {
      out.set(`${kind}/${c}`, readJson(join(root, 'policies/examples', kind, c, 'input.json')));
    }
  }
  return out;
}

function validators(): Record<Kind | 'kubernetes', ValidateFunction> {
  // strictRequired is off: `required` inside an if/then names properties declared beside it, as the
  // specification allows; every other strict check (unknown keywords, types beside keywords) is on.
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  for (const name of ['common', 'kubernetes', ...KINDS]) {
    ajv.addSchema(readJson(join(root, 'policies/schemas', name, `${name}.input.schema.json`)));
  }
  const get = (name: string): ValidateFunction => ajv.getSchema(`https://writegate.dev/schemas/v1/${name}.input.schema.json`)!;
  return { kubernetes: get('kubernetes'), cloudflare: get('cloudflare'), netbox: get('netbox'), generic: get('generic'), aws: get('aws') };
}

const rules = (violations: unknown): string[] =>
  (violations as { rule: string }[]).map((v) => v.rule).sort();

const clone = <T>(x: T): T => structuredClone(x);

describe('input schemas', () => {
  const v = validators();
  const all = examples();

  test('every example is listed with its expected decision, and every kind has allowed and denied examples', () => {
    expect([...all.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const kind of KINDS) {
      const mine = Object.entries(EXPECTED).filter(([k]) => k.startsWith(`${kind}/`)).map(([, e]) => e);
      expect(mine.some((e) => 'allow' in e), kind).toBe(true);
      expect(mine.some((e) => 'deny' in e), kind).toBe(true);
    }
  });

  test.each([...all.keys()])('%s is valid under its kind\'s schema, and its top level repeats the request', (name) => {
    const input = all.get(name)!;
    const kind = name.split('/')[0] as Kind;
    expect(input.upstreamKind).toBe(kind);
    const ok = v[kind](input);
    expect(v[kind].errors ?? [], JSON.stringify(v[kind].errors)).toEqual([]);
    expect(ok).toBe(true);
    const request = input.request as Record<string, unknown>;
    expect([request.method, request.path, request.query]).toEqual([input.method, input.path, input.query]);
  });

  test('the Kubernetes example inputs are valid under the kubernetes schema', () => {
    const dir = join(root, 'policies/kubernetes/testdata');
    const names = readdirSync(dir);
    expect(names.length).toBeGreaterThan(0);
    for (const c of names) {
      const ok = v.kubernetes(readJson(join(dir, c, 'input.json')));
      expect(v.kubernetes.errors ?? [], `${c}: ${JSON.stringify(v.kubernetes.errors)}`).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  // Each mutation breaks one rule of the contract; the schema must refuse it.
  const invalid: [string, string, (x: Record<string, any>) => void][] = [
    ['cloudflare/dns-create', 'an extra top-level field', (x) => { x.__wg_force__ = 1; }],
    ['cloudflare/dns-create', 'a credential header', (x) => { x.headers.authorization = 'Bearer x'; }],
    ['cloudflare/dns-create', 'an upper-case header name', (x) => { x.headers['User-Agent'] = 'x'; }],
    ['cloudflare/dns-create', 'a query value that is not an array', (x) => { x.query = { page: '2' }; }],
    ['cloudflare/dns-create', 'no operation', (x) => { delete x.request.operation; }],
    ['cloudflare/dns-create', 'operation CONNECT', (x) => { x.request.operation = 'CONNECT'; }],
    ['cloudflare/dns-create', 'no zoneName', (x) => { delete x.request.zoneName; }],
    ['cloudflare/dns-create', 'a create with an old object', (x) => { x.request.oldObject = {}; }],
    ['cloudflare/dns-create', 'userInfo without authenticatedBy', (x) => { delete x.request.userInfo.authenticatedBy; }],
    ['cloudflare/dns-create', 'an unidentified caller with a name', (x) => { x.request.userInfo.authenticatedBy = 'none'; }],
    ['cloudflare/dns-create', 'a wrong kind', (x) => { x.upstreamKind = 'netbox'; }],
    ['cloudflare/dns-create', 'another contract version', (x) => { x.version = 'writegate.dev/v2'; }],
    ['cloudflare/dns-batch', 'a PATCH item that creates', (x) => { x.request.items[1].operation = 'CREATE'; }],
    ['cloudflare/dns-batch', 'a delete item with an object', (x) => { x.request.items[0].object = {}; }],
    ['cloudflare/dns-batch', 'a batch with an object', (x) => { x.request.object = {}; }],
    ['cloudflare/dns-batch', 'an item without oldObject', (x) => { delete x.request.items[0].oldObject; }],
    ['netbox/device-create', 'a POST that updates', (x) => { x.request.operation = 'UPDATE'; }],
    ['netbox/device-create', 'a name without an id', (x) => { x.request.name = '12'; }],
    ['netbox/device-create', 'a path without the trailing slash', (x) => { x.request.path = '/api/dcim/devices'; }],
    ['netbox/device-delete-active', 'an id as a string', (x) => { x.request.id = '12'; }],
    ['netbox/device-bulk-patch', 'an update item without an id', (x) => { x.request.items[0].id = null; }],
    ['netbox/device-bulk-patch', 'a bulk write naming an id', (x) => { x.request.id = 12; x.request.name = '12'; }],
    ['netbox/device-bulk-create-bad-name', 'a create item with an id', (x) => { x.request.items[0].id = 4; }],
    ['generic/thing-delete', 'a parameter that is not a string', (x) => { x.request.params.id = 7; }],
    ['generic/thing-delete', 'no params', (x) => { delete x.request.params; }],
  ];
  test.each(invalid)('%s with %s is refused', (name, _what, mutate) => {
    const input = clone(all.get(name)!);
    mutate(input);
    expect(v[name.split('/')[0] as Kind](input)).toBe(false);
  });

  test('a Kubernetes input with a field AdmissionReview does not have is refused', () => {
    const input = readJson(join(root, 'policies/kubernetes/testdata/deployment-create/input.json'));
    (input.request as Record<string, unknown>).items = [];
    expect(v.kubernetes(input)).toBe(false);
  });
});

describe('starter policies in a real OPA and in the residual engine', () => {
  let h: Harness;
  let engine: ResidualEngine;
  const all = examples();

  beforeAll(async () => {
    h = await startHarness(['policies']);
    // The policies read settings from data: the defaults, plus protected VRF 3 so that the optional prefix rule
    // is exercised too (no example creates a prefix).
    const put = await fetch(`${h.opa.url}/v1/data/writegate/config`, { method: 'PUT', body: JSON.stringify({ netbox: { protected_vrfs: [3] } }) });
    expect(put.status).toBe(204);
    engine = new ResidualEngine({ client: residualOpaClient(h.opa.url, COMPILE_TIMEOUT_MS), pollIntervalMs: 60_000 });
    await engine.start(KINDS.map(decisionPath));
  });

  afterAll(async () => {
    engine?.stop();
    await h?.stop();
  });

  test.each(KINDS.map(decisionPath))('%s compiles in-process', (path) => {
    const state = engine.residual(path);
    expect(state).toBeDefined();
    expect(state?.reason).toBeUndefined();
  });

  test.each(Object.entries(EXPECTED))('%s is decided as expected', async (name, expected) => {
    const input = all.get(name)!;
    const path = decisionPath(String(input.upstreamKind));
    const local = engine.evaluate(path, input);
    const opa = await h.dataApi(path, input);
    expect('result' in opa, JSON.stringify(opa)).toBe(true);
    const result = (opa as { result: { allow: boolean; deny: unknown[]; warn: unknown[] } }).result;
    if ('allow' in expected) {
      expect(local.outcome).toBe('allow');
      expect(allowedClean(opa)).toBe(true);
    } else {
      // Only a clean allow is local: a warning or a denial needs OPA's reasons.
      expect(local).toEqual({ outcome: 'fallback', reason: 'residual false' });
      if ('warn' in expected) {
        expect(result.allow).toBe(true);
        expect(rules(result.deny)).toEqual([]);
        expect(rules(result.warn)).toEqual(expected.warn);
      } else {
        expect(result.allow).toBe(false);
        expect(rules(result.deny)).toEqual(expected.deny);
      }
    }
  });

  // Variants of the examples with the values the rules test on both sides, some missing or of the wrong type.
  const ttl = fc.constantFrom<unknown>(undefined, 0, 1, 2, 30, 59, 60, 61, 300, -1, 1.5, '30', null, true);
  const recordName = fc.constantFrom<unknown>(undefined, '@', 'example.com', 'EXAMPLE.com.', 'www.example.com', 'example.com.evil.net', '', 'exämple.com', ' example.com', '@\u00a0', 5, null);
  const recordType = fc.constantFrom<unknown>(undefined, 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'a', null);
  const proxied = fc.constantFrom<unknown>(undefined, true, false, null, 'true', 1);
  const cfTags = fc.constantFrom<unknown>(undefined, [], ['protected:true'], ['protected'], ['owner:x', 'protected:true'], 'protected:true', null, [null]);
  const operation = fc.constantFrom<unknown>('CREATE', 'CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'DELETE', 'CONNECT', '', undefined, null);
  const record = fc.record(
    { id: fc.constantFrom('r1', 'r2'), name: recordName, type: recordType, ttl, proxied, tags: cfTags },
    { requiredKeys: ['id'] },
  );
  const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof(arb, fc.constant(null));
  const cfItem = fc.record({ operation, name: fc.constantFrom('', 'r1'), object: nullable(record), oldObject: nullable(record) }, { requiredKeys: ['name'] });
  const managed = (id: string, enabled: unknown) => ({ action: 'execute', expression: 'true', action_parameters: { id }, ...(enabled === undefined ? {} : { enabled }) });
  const rule = fc.oneof(
    fc.tuple(fc.constantFrom('m1', 'm2'), fc.constantFrom<unknown>(undefined, true, false, null, 'no')).map(([id, en]) => managed(id, en)),
    fc.constant({ action: 'block', expression: 'true' }),
    fc.constant({ action: 'execute', expression: 'true' }),
  );
  const ruleset = fc.record({ phase: fc.constantFrom('http_request_firewall_managed', 'http_request_firewall_custom', 'http_request_redirect'), rules: fc.array(rule, { maxLength: 3 }) });
  const cloudflareInput = fc
    .record({
      resource: fc.constantFrom('dns_records', 'dns_records', 'rulesets', 'pagerules', 'firewall/rules', 'zones', 'workers/routes'),
      operation,
      zoneName: fc.constantFrom<unknown>('example.com', 'Example.COM', '', undefined),
      single: fc.tuple(nullable(record), nullable(record)),
      rulesets: fc.tuple(nullable(ruleset), nullable(ruleset)),
      items: fc.option(fc.array(cfItem, { maxLength: 4 }), { nil: undefined }),
    })
    .map((g) => {
      const input = clone(all.get('cloudflare/dns-create')!);
      const request = input.request as Record<string, unknown>;
      const [object, oldObject] = g.resource === 'rulesets' ? g.rulesets : g.single;
      Object.assign(request, { resource: g.resource, operation: g.operation, object, oldObject, zoneName: g.zoneName });
      for (const k of ['operation', 'zoneName'] as const) if (request[k] === undefined) delete request[k];
      if (g.items) request.items = g.items;
      return input;
    });

  const deviceName = fc.constantFrom<unknown>(undefined, 'ams1-leaf-01', 'ams1-leaf-02', 'x-y-z', 'Leaf_3', 'ams1-leaf', 'ams1--01', 'ams1-léaf-01', 'ams1-leaf-0 1', '', null, 42);
  const status = fc.constantFrom<unknown>(undefined, 'active', 'offline', { value: 'active', label: 'Active' }, { value: 'planned' }, { label: 'Active' }, null);
  const nbTags = fc.constantFrom<unknown>(undefined, [], [{ name: 'protected', slug: 'protected' }], [{ name: 'Protected', slug: 'core' }], [{ slug: 'protected' }, { slug: 'x' }], ['protected'], null);
  const vrf = fc.constantFrom<unknown>(undefined, null, 3, 4, { id: 3 }, { id: 4, name: 'lab' }, { name: 'prod' }, '3');
  const nbObject = fc.record({ id: fc.constantFrom(12, 13), name: deviceName, status, tags: nbTags, vrf, prefix: fc.constantFrom('10.0.0.0/24') }, { requiredKeys: ['id'] });
  const nbItem = fc.record({ operation, id: fc.constantFrom(null, 12), object: nullable(nbObject), oldObject: nullable(nbObject) });
  const netboxInput = fc
    .record({
      resource: fc.constantFrom('dcim/devices', 'dcim/devices', 'ipam/prefixes', 'dcim/sites'),
      operation,
      single: fc.tuple(nullable(nbObject), nullable(nbObject)),
      items: fc.option(fc.array(nbItem, { maxLength: 12 }), { nil: undefined }),
    })
    .map((g) => {
      const input = clone(all.get('netbox/device-create')!);
      const request = input.request as Record<string, unknown>;
      const [object, oldObject] = g.single;
      Object.assign(request, { resource: g.resource, operation: g.operation, object, oldObject });
      if (request.operation === undefined) delete request.operation;
      if (g.items) request.items = g.items;
      return input;
    });

  const genericInput = fc
    .record({
      resource: fc.constantFrom('/v1/things/{id}', '/v1/other/{id}', ''),
      operation,
      id: fc.constantFrom<unknown>('prod-1', 'test-1', 'prod', 'xprod-1', '', 7, null, undefined),
    })
    .map((g) => {
      const input = clone(all.get('generic/thing-delete')!);
      const request = input.request as Record<string, unknown>;
      Object.assign(request, { resource: g.resource, operation: g.operation, params: g.id === undefined ? {} : { id: g.id } });
      if (request.operation === undefined) delete request.operation;
      return input;
    });

  test.each([
    ['cloudflare', cloudflareInput, 1],
    ['netbox', netboxInput, 2],
    ['generic', genericInput, 3],
  ] as const)('%s: generated variants, the engine never allows what OPA does not allow cleanly', async (kind, arb, seed) => {
    const path = decisionPath(kind);
    const inputs = fc.sample(arb as fc.Arbitrary<Record<string, unknown>>, { numRuns: 1500, seed });
    const verdicts = await h.decide(path, inputs);
    const stats = { inputs: inputs.length, opaClean: 0, local: 0, wrongAllow: 0, missed: 0, nonAscii: 0 };
    const examplesOfDisagreement: unknown[] = [];
    inputs.forEach((input, i) => {
      const clean = allowedClean(verdicts[i]!);
      const outcome = engine.evaluate(path, input);
      const local = outcome.outcome === 'allow';
      if (clean) stats.opaClean++;
      if (local) stats.local++;
      if (local && !clean) stats.wrongAllow++;
      // `lower` of a non-ASCII string is not implemented locally (src/residual/README.md): those inputs go to
      // OPA, by design; `exämple.com` is such a name. Every other clean allow must be local.
      const documented = outcome.outcome === 'fallback' && outcome.reason === 'runtime: lower: non-ASCII string';
      if (clean && documented) stats.nonAscii++;
      if (clean && !local && !documented) stats.missed++;
      if (((local && !clean) || (clean && !local && !documented)) && examplesOfDisagreement.length < 2) {
        examplesOfDisagreement.push({ input, opa: verdicts[i], outcome });
      }
    });
    console.log(`${path}: ${JSON.stringify(stats)}`);
    expect(examplesOfDisagreement, JSON.stringify(examplesOfDisagreement).slice(0, 3000)).toEqual([]);
    // Both outcomes occur, so the comparison means something.
    expect(stats.opaClean).toBeGreaterThan(inputs.length / 20);
    expect(stats.opaClean).toBeLessThan(inputs.length);
  });
});
