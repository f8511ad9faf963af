/**
 * The generic kind in front of a small REST API (a plain HTTP server on port 0 that records what reaches it), with
 * real OPA and the example policy policies/generic/decision.rego (things at /v1/things/{id}).
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/opa/binary.js';
import { startStack, type Stack } from '../helpers/stack.js';

function inputSchema(): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  for (const name of ['common', 'generic']) {
    ajv.addSchema(JSON.parse(readFileSync(join(projectRoot(), 'policies/schemas', name, `${name}.input.schema.json`), 'utf8')));
  }
  return ajv.getSchema('https://writegate.dev/schemas/v1/generic.input.schema.json')!;
}

describe('generic kind: a REST API behind the gateway with the example policy', () => {
  let api: Server;
  let stack: Stack;
  const seen: string[] = [];
  const validate = inputSchema();

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${stack.url('things')}${path}`, {
      method: method as 'GET',
      dispatcher: stack.dispatcher,
      headers: { authorization: 'Bearer api-key-1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const decision = (id: unknown) => {
    const found = stack.decisions().filter((d) => d.decision_id === id);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    api = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        const thing = /^\/v1\/things\/([^/]+)$/.exec(req.url ?? '');
        const status = req.method === 'DELETE' ? 204 : 200;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 204 ? undefined : JSON.stringify(thing ? { id: thing[1], colour: 'red' } : { ok: true }));
      });
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    const { port } = api.address() as AddressInfo;
    stack = await startStack({
      kinds: [{
        name: 'things', kind: 'generic', prefix: '/things', target: `http://127.0.0.1:${port}`, policy: 'writegate/generic/decision',
        generic: { templates: ['/v1/things/{id}'], readOnlyPosts: ['/v1/searches'], currentObject: true },
      }],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await new Promise((r) => api?.close(r));
  });

  it('denies a delete the policy protects with a plain JSON body, and the API never sees it', async () => {
    seen.length = 0;
    const res = await call('DELETE', '/v1/things/prod-7');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'denied', decision_id: res.headers['x-decision-id'] });
    expect(res.body.reasons).toEqual(['thing "prod-7" is a production thing and cannot be deleted [protected-thing-delete]']);
    const d = decision(res.headers['x-decision-id']);
    expect(d.outcome).toBe('denied');
    expect(validate(d.input), JSON.stringify(validate.errors)).toBe(true);
    expect((d.input as any).request).toMatchObject({ resource: '/v1/things/{id}', params: { id: 'prod-7' }, oldObject: { id: 'prod-7', colour: 'red' } });
    expect(seen).toEqual(['GET /v1/things/prod-7']);
  });

  it('forwards an allowed delete, and a write no template matches with a warning, each with its decision', async () => {
    seen.length = 0;
    const ok = await call('DELETE', '/v1/things/test-42');
    expect(ok.status).toBe(204);
    expect(decision(ok.headers['x-decision-id']).outcome).toBe('allowed');
    const other = await call('POST', '/v2/widgets', { name: 'w' });
    expect(other.status).toBe(200);
    expect(String(other.headers.warning)).toContain('[unknown-path-write]');
    const d = decision(other.headers['x-decision-id']);
    expect(validate(d.input), JSON.stringify(validate.errors)).toBe(true);
    expect(seen).toEqual(['GET /v1/things/test-42', 'DELETE /v1/things/test-42', 'POST /v2/widgets']);
  });

  it('forwards reads and read-only POSTs without a decision', async () => {
    const before = stack.decisions().length;
    expect((await call('GET', '/v1/things/a')).body).toEqual({ id: 'a', colour: 'red' });
    expect((await call('POST', '/v1/searches', { q: 'colour:red' })).status).toBe(200);
    expect(stack.decisions()).toHaveLength(before);
  });
});
