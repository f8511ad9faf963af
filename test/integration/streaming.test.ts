import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TOKENS, type Stack } from '../helpers/stack.js';

/** Reads a streaming body until `pattern` appears; fails if it takes longer than `ms`. */
async function readUntil(body: AsyncIterable<Buffer>, pattern: string, ms: number): Promise<string> {
  let text = '';
  const deadline = Date.now() + ms;
  for await (const chunk of body) {
    text += chunk.toString('utf8');
    if (text.includes(pattern)) return text;
    if (Date.now() > deadline) break;
  }
  throw new Error(`"${pattern}" did not arrive within ${ms}ms; got: ${text.slice(0, 500)}`);
}

describe('reads stream through the gateway', () => {
  let s: Stack;
  beforeAll(async () => { s = await startStack(); });
  afterAll(async () => { await s?.close(); });

  it('a watch delivers events live, while the response is still open', async () => {
    const res = await request(`${s.k8s}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=20`, {
      dispatcher: s.dispatcher, headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(res.statusCode).toBe(200);
    const created = s.call('POST', '/api/v1/namespaces/default/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched-1', namespace: 'default' } }),
    });
    const text = await readUntil(res.body, '"watched-1"', 5000);
    expect((await created).status).toBe(201);
    expect(text).toContain('"ADDED"');
    res.body.destroy();
  });

  it('logs -f flows line by line', async () => {
    const res = await request(`${s.k8s}/api/v1/namespaces/default/pods/web-0/log?follow=true`, {
      dispatcher: s.dispatcher, headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(res.statusCode).toBe(200);
    const started = Date.now();
    let lines = 0;
    for await (const chunk of res.body) {
      lines += (chunk as Buffer).toString('utf8').split('\n').filter(Boolean).length;
      if (lines >= 3) break;
    }
    // Three lines arrived before the upstream ended the stream: they were not buffered to the end.
    expect(lines).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(10_000);
    res.body.destroy();
  });
});
