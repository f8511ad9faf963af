import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import { WritegateError } from '../../../../src/errors.js';
import { projectRoot } from '../../../../src/opa/binary.js';
import { CloudflareAdapter } from '../../../../src/upstreams/cloudflare/adapter.js';
import { decodeJsonBody } from '../../../../src/http/json-body.js';
import { cloudflareCredentials } from '../../../../src/upstreams/cloudflare/identity.js';
import { MASK, maskCloudflareInput } from '../../../../src/upstreams/cloudflare/mask.js';
import { cloudflareTarget } from '../../../../src/upstreams/cloudflare/paths.js';
import { renderDeny, renderError } from '../../../../src/upstreams/cloudflare/render.js';
import { rulesetAfterPut, rulesetAfterRuleWrite, type Json } from '../../../../src/upstreams/cloudflare/resolve.js';
import { UpstreamClient } from '../../../../src/upstreams/client.js';
import type { GateRequest } from '../../../../src/upstreams/types.js';

const Z = '023e105f4ecef8ad9ca31a8372d0c353';
const A = '01a7362d577a6c3019a474fd6f485823';
const R = 'c1d2e3f4a5b64c7d8e9f0a1b2c3d4e5f';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return (err as WritegateError).code;
  }
  return undefined;
}

describe('cloudflare paths', () => {
  it.each([
    ['/client/v4/zones', { resource: 'zones', name: '', zone: '', account: '', shape: 'plain' }],
    [`/client/v4/zones/${Z}`, { resource: 'zones', name: Z, zone: Z, zonePath: `/client/v4/zones/${Z}` }],
    [`/client/v4/accounts/${A}`, { resource: 'accounts', name: A, account: A, zone: '' }],
    [`/client/v4/zones/${Z}/dns_records`, { resource: 'dns_records', name: '', zone: Z, zonePath: `/client/v4/zones/${Z}` }],
    [`/client/v4/zones/${Z}/dns_records/${R}`, { resource: 'dns_records', name: R, shape: 'plain' }],
    [`/client/v4/zones/${Z}/dns_records/batch`, { resource: 'dns_records', name: '', shape: 'dns-batch' }],
    [`/client/v4/zones/${Z}/dns_records/batch/`, { resource: 'dns_records', shape: 'dns-batch' }],
    [`/client/v4/zones/${Z}/DNS_Records/${R}`, { resource: 'dns_records', name: R }],
    [`/client/v4/zones/${Z}/rulesets/phases/http_request_firewall_managed/entrypoint`, { resource: 'rulesets', name: '', shape: 'entrypoint' }],
    [`/client/v4/accounts/${A}/rulesets/${R}`, { resource: 'rulesets', name: R, account: A, zone: '' }],
    [`/client/v4/zones/${Z}/rulesets/${R}/rules`, { resource: 'rulesets', name: R, shape: 'ruleset-rule', rule: '', rulesetPath: `/client/v4/zones/${Z}/rulesets/${R}` }],
    [`/client/v4/zones/${Z}/rulesets/${R}/rules/abc`, { resource: 'rulesets', name: R, shape: 'ruleset-rule', rule: 'abc' }],
    [`/client/v4/zones/${Z}/firewall/rules/${R}`, { resource: 'firewall/rules', name: R }],
    [`/client/v4/zones/${Z}/pagerules`, { resource: 'pagerules', name: '' }],
    [`/client/v4/accounts/${A}/access/apps/0b5d1a4e-93c2-4c59-9f7a-7bf2d1b3e001`, { resource: 'access/apps', name: '0b5d1a4e-93c2-4c59-9f7a-7bf2d1b3e001', account: A }],
    [`/client/v4/zones/${Z}/workers/routes/${R}`, { resource: 'workers/routes', name: R }],
    [`/client/v4/zones/${Z}/settings/ssl`, { resource: 'settings/ssl', name: '', zone: Z }],
    [`/client/v4/zones/${Z}/custom_hostnames/${R}`, { resource: `custom_hostnames/${R}`, name: '' }],
    [`/client/v4/accounts/${A}/workers/scripts/My-Worker/secrets`, { resource: 'workers/scripts/My-Worker/secrets', account: A }],
    [`/client/v4/zones/${Z}/rulesets/${R}/versions/3`, { resource: `rulesets/${R}/versions/3`, name: '' }],
    ['/client/v4/user/tokens', { resource: 'user/tokens', zone: '', account: '' }],
  ])('%s', (path, expected) => {
    expect(cloudflareTarget(path)).toMatchObject(expected);
  });

  it('refuses a write outside /client/v4', () => {
    expect(code(() => cloudflareTarget('/client/v5/zones'))).toBe('WG_ERR_BAD_PATH');
    expect(code(() => cloudflareTarget('/zones'))).toBe('WG_ERR_BAD_PATH');
  });
});

describe('cloudflare classification', () => {
  const cfg = ofKind(parseConfig({ upstreams: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: 'http://127.0.0.1:9', policy: 'p' }] }).upstreams[0]!, 'cloudflare');
  const adapter = new CloudflareAdapter(cfg, new UpstreamClient(cfg));
  const req = (method: string, url: string, upgrade = false): GateRequest => ({ method, url, headers: {}, upgrade, remoteAddress: '127.0.0.1' });

  it('reads GET, HEAD and OPTIONS anywhere; every other method is a write with its operation', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS']) expect(adapter.classify(req(m, `/client/v4/zones/${Z}/dns_records?page=2`)).isRead).toBe(true);
    expect(adapter.classify(req('GET', '/cdn-cgi/trace')).isRead).toBe(true);
    expect(adapter.classify(req('POST', `/client/v4/zones/${Z}/dns_records`))).toMatchObject({ isRead: false, operation: 'CREATE' });
    expect(adapter.classify(req('PUT', `/client/v4/zones/${Z}/dns_records/${R}`))).toMatchObject({ isRead: false, operation: 'UPDATE' });
    expect(adapter.classify(req('PATCH', `/client/v4/zones/${Z}/dns_records/${R}`))).toMatchObject({ operation: 'UPDATE', summary: `patch dns_records ${Z}/${R}` });
    expect(adapter.classify(req('DELETE', `/client/v4/zones/${Z}/dns_records/${R}`))).toMatchObject({ operation: 'DELETE' });
    // A write to one rule is an update of its ruleset, whatever the method.
    expect(adapter.classify(req('DELETE', `/client/v4/zones/${Z}/rulesets/${R}/rules/x`))).toMatchObject({ operation: 'UPDATE' });
    expect(adapter.classify(req('POST', `/client/v4/zones/${Z}/rulesets/${R}/rules`))).toMatchObject({ operation: 'UPDATE' });
  });

  it('refuses other methods, upgrades, writes outside the API and ambiguous paths', () => {
    expect(code(() => adapter.classify(req('PROPFIND', `/client/v4/zones/${Z}`)))).toBe('WG_ERR_BAD_REQUEST');
    expect(code(() => adapter.classify(req('GET', `/client/v4/zones/${Z}`, true)))).toBe('WG_ERR_BAD_REQUEST');
    expect(code(() => adapter.classify(req('POST', '/cdn-cgi/trace')))).toBe('WG_ERR_BAD_PATH');
    expect(code(() => adapter.classify(req('POST', `/client/v4/zones/${Z}#/dns_records`)))).toBe('WG_ERR_BAD_PATH');
    expect(code(() => adapter.classify(req('DELETE', `/client/v4/zones/${Z}/dns_records%2F${R}`)))).toBe('WG_ERR_BAD_PATH');
    expect(code(() => adapter.classify(req('DELETE', `/client/v4/zones/${Z}//dns_records/${R}`)))).toBe('WG_ERR_BAD_PATH');
  });
});

describe('cloudflare rule writes', () => {
  const ruleset = { id: R, phase: 'p', version: '4', last_updated: 'then', rules: [{ id: 'a', action: 'block' }, { id: 'b', action: 'skip' }] } as Json;
  const target = (rule: string) => ({ ...cloudflareTarget(`/client/v4/zones/${Z}/rulesets/${R}/rules${rule ? `/${rule}` : ''}`) });
  const ids = (v: Json) => ((v as { rules: { id?: string }[] }).rules).map((r) => r.id ?? 'new');

  it('adds a rule at the end, or where its position says, without the position itself', () => {
    expect(ids(rulesetAfterRuleWrite('POST', target(''), ruleset, { action: 'log' }))).toEqual(['a', 'b', 'new']);
    expect(ids(rulesetAfterRuleWrite('POST', target(''), ruleset, { action: 'log', position: { before: 'b' } }))).toEqual(['a', 'new', 'b']);
    expect(ids(rulesetAfterRuleWrite('POST', target(''), ruleset, { action: 'log', position: { after: 'a' } }))).toEqual(['a', 'new', 'b']);
    expect(ids(rulesetAfterRuleWrite('POST', target(''), ruleset, { action: 'log', position: { index: 1 } }))).toEqual(['new', 'a', 'b']);
    const after = rulesetAfterRuleWrite('POST', target(''), ruleset, { action: 'log', position: { index: 3 } }) as { rules: object[]; version?: string };
    expect(after.rules.at(-1)).toEqual({ action: 'log' });
    // What Cloudflare recomputes on every write is not predicted.
    expect(after.version).toBeUndefined();
  });

  it('edits a rule in place or moves it, and removes one', () => {
    const edited = rulesetAfterRuleWrite('PATCH', target('a'), ruleset, { action: 'log' }) as { rules: object[] };
    expect(edited.rules).toEqual([{ id: 'a', action: 'log' }, { id: 'b', action: 'skip' }]);
    expect(ids(rulesetAfterRuleWrite('PATCH', target('a'), ruleset, { position: { after: 'b' } }))).toEqual(['b', 'a']);
    expect(ids(rulesetAfterRuleWrite('DELETE', target('b'), ruleset, null))).toEqual(['a']);
  });

  it('judges a ruleset PUT as the stored ruleset with the body\'s rule list, and refuses one without a rule list', () => {
    expect(rulesetAfterPut(ruleset, { rules: [] }, undefined)).toEqual({ id: R, phase: 'p', rules: [] });
    expect(rulesetAfterPut(null, { rules: [] }, 'http_request_firewall_custom')).toEqual({ phase: 'http_request_firewall_custom', rules: [] });
    expect(code(() => rulesetAfterPut(ruleset, { description: 'x' }, undefined))).toBe('WG_ERR_BAD_REQUEST');
    expect(code(() => rulesetAfterPut(ruleset, { rules: null }, undefined))).toBe('WG_ERR_BAD_REQUEST');
  });

  it('refuses a position or rule the ruleset does not have', () => {
    expect(code(() => rulesetAfterRuleWrite('POST', target(''), ruleset, { position: { before: 'zz' } }))).toBe('WG_ERR_BAD_REQUEST');
    expect(code(() => rulesetAfterRuleWrite('POST', target(''), ruleset, { position: { index: 4 } }))).toBe('WG_ERR_BAD_REQUEST');
    expect(code(() => rulesetAfterRuleWrite('POST', target(''), ruleset, { position: { index: 1, after: 'a' } }))).toBe('WG_ERR_BAD_REQUEST');
    expect(code(() => rulesetAfterRuleWrite('DELETE', target('zz'), ruleset, null))).toBe('WG_ERR_BAD_REQUEST');
  });
});

describe('cloudflare bodies and credentials', () => {
  const json = (type: string | undefined, text: string, extra: Record<string, string> = {}) =>
    decodeJsonBody({ ...(type ? { 'content-type': type } : {}), ...extra }, Buffer.from(text));

  it('takes JSON declared as JSON, with at most a UTF-8 charset', () => {
    expect(json('application/json', '{"a":1}')).toEqual({ a: 1 });
    expect(json('Application/JSON; charset=UTF-8', '{"a":1}')).toEqual({ a: 1 });
    expect(json(undefined, '')).toBeNull();
  });

  it('refuses other types, charsets, encodings, a BOM and duplicate keys', () => {
    expect(code(() => json('application/json; charset=latin1', '{}'))).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(code(() => json('multipart/form-data; boundary=x', '--x'))).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(code(() => json('application/json', '{}', { 'content-encoding': 'br' }))).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(code(() => json('application/json', '\ufeff{}'))).toBe('WG_ERR_MALFORMED_BODY');
    expect(code(() => json('application/json', '{"ttl":1,"ttl":30}'))).toBe('WG_ERR_MALFORMED_BODY');
  });

  it('passes one credential scheme and refuses two', () => {
    expect(cloudflareCredentials({ authorization: 'Bearer t', 'user-agent': 'x' })).toEqual({ authorization: 'Bearer t' });
    expect(cloudflareCredentials({ 'x-auth-email': 'a@b.c', 'x-auth-key': 'k' })).toEqual({ 'x-auth-email': 'a@b.c', 'x-auth-key': 'k' });
    expect(code(() => cloudflareCredentials({ authorization: 'Bearer t', 'x-auth-key': 'k' }))).toBe('WG_ERR_BAD_REQUEST');
    expect(code(() => cloudflareCredentials({ 'x-auth-user-service-key': 's', 'x-auth-email': 'a@b.c' }))).toBe('WG_ERR_BAD_REQUEST');
  });
});

describe('cloudflare masking and envelopes', () => {
  it('masks secret fields and Workers secret bindings in body, object, oldObject and items, leaving the input as it was', () => {
    const input = {
      request: {
        body: { name: 'S', text: 'hunter2', type: 'secret_text' },
        object: { config: { client_id: 'id', client_secret: 's3' }, text: 'plain', type: 'plain_text' },
        oldObject: { tunnel_secret: 'ts', token: 'tk', tokens: 2 },
        items: [{ body: { bindings: [{ type: 'secret_text', name: 'K', text: 'v' }] }, object: null, oldObject: null }],
      },
    };
    const copy = structuredClone(input);
    const masked = maskCloudflareInput(input) as typeof input;
    expect(masked.request.body).toEqual({ name: 'S', text: MASK, type: 'secret_text' });
    expect(masked.request.object).toEqual({ config: { client_id: 'id', client_secret: MASK }, text: 'plain', type: 'plain_text' });
    expect(masked.request.oldObject).toEqual({ tunnel_secret: MASK, token: MASK, tokens: 2 });
    expect(masked.request.items[0]!.body.bindings[0]!.text).toBe(MASK);
    expect(input).toEqual(copy);
  });

  it('answers a deny with one Cloudflare error per violation and the decision id', () => {
    const r = renderDeny([{ msg: 'one [a]' }, { msg: 'two [b]' }], 'd-1');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body as string)).toEqual({
      success: false, messages: [], result: null,
      errors: [{ code: 90403, message: 'writegate denied the request: one [a] (decision d-1)' }, { code: 90403, message: 'writegate denied the request: two [b] (decision d-1)' }],
    });
  });

  it('answers a refusal in the same envelope with its code, fix and decision id', () => {
    const r = renderError(new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'x'), 'd-2', 'Send JSON.');
    expect(r.status).toBe(415);
    expect(JSON.parse(r.body as string)).toEqual({
      success: false, messages: [], result: null,
      errors: [{ code: 90415, message: 'writegate: request content type is not supported for a write: x [WG_ERR_UNSUPPORTED_MEDIA_TYPE]. Send JSON. (decision d-2)' }],
    });
  });
});

describe('cloudflare configuration', () => {
  it('loads the example configuration, and defaults a left-out options block', () => {
    const cfg = ofKind(loadConfigFile(join(projectRoot(), 'examples/cloudflare/writegate.yaml')).upstreams[0]!, 'cloudflare');
    expect(cfg).toMatchObject({ prefix: '/cf', target: 'https://api.cloudflare.com', policy: 'writegate/cloudflare/decision', identity: 'upstream', cloudflare: {} });
    const bare = parseConfig({ upstreams: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: 'https://api.cloudflare.com', policy: 'p' }] });
    expect(ofKind(bare.upstreams[0]!, 'cloudflare').cloudflare).toEqual({});
    expect(bare.upstreams[0]!.identity).toBe('upstream');
  });

  it('refuses an unknown option', () => {
    expect(code(() => parseConfig({ upstreams: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: 'https://api.cloudflare.com', policy: 'p', cloudflare: { identity: 'upstream' } as never }] }))).toBe('WG_ERR_CONFIG_INVALID');
    expect(code(() => parseConfig({ upstreams: [{ name: 'cf', kind: 'cloudflare', prefix: '/cf', target: 'https://api.cloudflare.com', policy: 'p', identity: 'tokenreview' }] }))).toBe('WG_ERR_CONFIG_INVALID');
  });
});
