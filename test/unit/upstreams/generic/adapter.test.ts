import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../../../src/config/load.js';
import { ofKind } from '../../../../src/config/schema.js';
import type { WritegateError } from '../../../../src/errors.js';
import { projectRoot } from '../../../../src/opa/binary.js';
import { UpstreamClient, type UpstreamResponse } from '../../../../src/upstreams/client.js';
import { GenericAdapter } from '../../../../src/upstreams/generic/adapter.js';
import { matchTemplate, templateProblem } from '../../../../src/upstreams/generic/templates.js';
import type { GateRequest } from '../../../../src/upstreams/types.js';

const schema: ValidateFunction = (() => {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  for (const name of ['common', 'generic']) {
    ajv.addSchema(JSON.parse(readFileSync(join(projectRoot(), 'policies/schemas', name, `${name}.input.schema.json`), 'utf8')));
  }
  return ajv.getSchema('https://writegate.dev/schemas/v1/generic.input.schema.json')!;
})();

function adapter(generic: Record<string, unknown>): GenericAdapter {
  const cfg = ofKind(parseConfig({ upstreams: [{ name: 'things', kind: 'generic', prefix: '/things', target: 'http://api.test', policy: 'writegate/generic/decision', generic }] }).upstreams[0]!, 'generic');
  return new GenericAdapter(cfg, new UpstreamClient(cfg));
}

function req(method: string, url: string, headers: Record<string, string> = {}): GateRequest {
  return { method, url, headers: { authorization: 'Bearer s3cr3t', 'content-type': 'application/json', ...headers }, upgrade: false, remoteAddress: '127.0.0.1' };
}

function fakeApi(objects: Record<string, unknown>): { client: UpstreamClient; calls: { path: string; headers: Record<string, unknown> }[] } {
  const calls: { path: string; headers: Record<string, unknown> }[] = [];
  const client = {
    async request(_method: string, path: string, headers: Record<string, unknown>): Promise<UpstreamResponse> {
      calls.push({ path, headers });
      const found = path in objects;
      return { status: found ? 200 : 404, headers: {}, body: Buffer.from(JSON.stringify(found ? objects[path] : { error: 'not found' })) };
    },
  } as unknown as UpstreamClient;
  return { client, calls };
}

async function build(a: GenericAdapter, client: UpstreamClient, r: GateRequest, body?: string): Promise<any> {
  const input = await a.buildInput(r, a.classify(r), body === undefined ? undefined : Buffer.from(body), client);
  expect(schema(input), JSON.stringify(schema.errors)).toBe(true);
  return input;
}

const THINGS = { templates: ['/v1/things/{id}', '/v1/things/{id}/parts/{part}', '/v1/things'], readOnlyPosts: ['/v1/searches', '/v1/things/{id}/preview'] };

describe('generic path templates', () => {
  it('match whole segments in configuration order, the last variable being the name', () => {
    expect(matchTemplate(THINGS.templates, '/v1/things/prod-7')).toEqual({ template: '/v1/things/{id}', params: { id: 'prod-7' }, name: 'prod-7' });
    expect(matchTemplate(THINGS.templates, '/v1/things/a/parts/b')).toEqual({ template: '/v1/things/{id}/parts/{part}', params: { id: 'a', part: 'b' }, name: 'b' });
    expect(matchTemplate(THINGS.templates, '/v1/things')).toEqual({ template: '/v1/things', params: {}, name: '' });
    expect(matchTemplate(THINGS.templates, '/v1/things/a/')).toBeUndefined();
    expect(matchTemplate(THINGS.templates, '/v1/things/a/parts')).toBeUndefined();
  });

  it('are refused by the configuration when malformed', () => {
    expect(templateProblem('/v1/x{id}')).toMatch(/whole segment/);
    expect(templateProblem('/v1/{id}/{id}')).toMatch(/twice/);
    expect(templateProblem('v1/things')).toMatch(/starts with/);
    expect(templateProblem('/v1//things')).toMatch(/empty/);
    expect(() => adapter({ templates: ['/v1/{a}b'] })).toThrow(/whole segment/);
  });
});

describe('generic adapter', () => {
  it('reads by method and by the configured read-only POST templates; every other method is a write', () => {
    const a = adapter(THINGS);
    expect(a.classify(req('GET', '/v1/things/1')).isRead).toBe(true);
    expect(a.classify(req('POST', '/v1/searches')).isRead).toBe(true);
    expect(a.classify(req('POST', '/v1/things/7/preview?x=1')).isRead).toBe(true);
    expect(a.classify(req('POST', '/v1/things'))).toMatchObject({ isRead: false, operation: 'CREATE' });
    expect(a.classify(req('PUT', '/v1/searches'))).toMatchObject({ isRead: false, operation: 'UPDATE' });
    expect(a.classify(req('PURGE', '/v1/things/1'))).toMatchObject({ isRead: false, operation: 'UPDATE' });
    expect(a.classify(req('DELETE', '/v1/things/1'))).toMatchObject({ isRead: false, operation: 'DELETE' });
  });

  it('builds the contract\'s input, with the current object only when configured and credentials never in it', async () => {
    const { client, calls } = fakeApi({ '/v1/things/prod-7': { id: 'prod-7', colour: 'red' } });
    const plain = await build(adapter(THINGS), client, req('DELETE', '/v1/things/prod-7'));
    expect(plain).toMatchObject({
      version: 'writegate.dev/v1', upstream: 'things', upstreamKind: 'generic', method: 'DELETE', path: '/v1/things/prod-7',
      request: { operation: 'DELETE', body: null, object: null, oldObject: null, resource: '/v1/things/{id}', name: 'prod-7', params: { id: 'prod-7' }, userInfo: { authenticatedBy: 'none' } },
    });
    expect(calls).toHaveLength(0);
    const current = await build(adapter({ ...THINGS, currentObject: true }), client, req('PATCH', '/v1/things/prod-7?dry=1'), '{"colour": "blue"}');
    expect(current.request).toMatchObject({ operation: 'UPDATE', query: { dry: ['1'] }, object: { colour: 'blue' }, oldObject: { id: 'prod-7', colour: 'red' } });
    expect(calls).toEqual([{ path: '/v1/things/prod-7', headers: { authorization: 'Bearer s3cr3t', accept: 'application/json' } }]);
    const unknown = await build(adapter(THINGS), client, req('POST', '/v2/other'), '{"a": 1}');
    expect(unknown.request).toMatchObject({ resource: '', name: '', params: {}, object: { a: 1 } });
    expect(JSON.stringify([plain, current, unknown])).not.toContain('s3cr3t');
  });

  it('refuses what it cannot read as the API would: non-JSON, encoded, duplicate keys, upgrades', async () => {
    const { client } = fakeApi({});
    const a = adapter(THINGS);
    const code = async (r: GateRequest, body: string): Promise<string> => a.buildInput(r, a.classify(r), Buffer.from(body), client).then(() => 'none', (e: WritegateError) => e.code);
    expect(await code(req('POST', '/v1/things', { 'content-type': 'text/plain' }), 'x')).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(await code(req('POST', '/v1/things', { 'content-encoding': 'gzip' }), '{}')).toBe('WG_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(await code(req('POST', '/v1/things'), '{"id": "a", "id": "prod-1"}')).toBe('WG_ERR_MALFORMED_BODY');
    expect(() => a.classify({ ...req('GET', '/v1/things/1'), upgrade: true })).toThrow(/upgrades/);
  });

  it('denies with a plain JSON body naming every violation and the decision; masks secrets for the log', () => {
    const a = adapter(THINGS);
    const deny = a.renderDeny([{ msg: 'one [r1]' }, { msg: 'two [r2]' }], 'd-9');
    expect(deny.status).toBe(403);
    expect(JSON.parse(String(deny.body))).toEqual({ error: 'denied', message: 'writegate denied the request: one [r1]; two [r2]', reasons: ['one [r1]', 'two [r2]'], decision_id: 'd-9' });
    const masked = a.maskInput({ request: { body: { name: 'x', api_key: 'k', nested: { password: 'p' } }, object: null, oldObject: { token: 't' } } }) as any;
    expect(masked.request).toEqual({ body: { name: 'x', api_key: '**masked**', nested: { password: '**masked**' } }, object: null, oldObject: { token: '**masked**' } });
  });

  it('the example configuration for a public API is valid', () => {
    const cfg = loadConfigFile(join(projectRoot(), 'examples/generic/writegate.yaml'));
    const up = ofKind(cfg.upstreams[0]!, 'generic');
    expect(up.generic.templates).toContain('/posts/{id}');
    expect(up.generic.currentObject).toBe(true);
  });
});
