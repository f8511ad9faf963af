import { describe, expect, it } from 'vitest';
import { cleanRequestHeaders, endToEndRequestHeaders, headerMatcher } from '../../../src/http/headers.js';

describe('endToEndRequestHeaders', () => {
  it('removes the headers Connection lists before anything reads them', () => {
    const { headers, refused } = endToEndRequestHeaders({ connection: 'close, X-Trace', 'x-trace': '1', accept: 'application/json' });
    expect(refused).toBeUndefined();
    expect(headers).toEqual({ connection: 'close, X-Trace', accept: 'application/json' });
  });

  it('keeps Upgrade, which the gateway acts on', () => {
    const { headers } = endToEndRequestHeaders({ connection: 'Upgrade', upgrade: 'websocket' });
    expect(headers.upgrade).toBe('websocket');
  });

  it.each(['authorization', 'cookie', 'content-type', 'content-length', 'transfer-encoding',
    'content-encoding', 'sec-websocket-protocol', 'host', 'proxy-authorization', 'x-decision-id', 'x-http-method-override'])('refuses a Connection header listing %s', (name) => {
    const { headers, refused } = endToEndRequestHeaders({ connection: `keep-alive, ${name}`, [name.toLowerCase()]: 'x' });
    expect(refused?.code).toBe('WG_ERR_BAD_REQUEST');
    // What is recorded for the refusal is what would have been forwarded.
    expect(headers[name.toLowerCase()]).toBeUndefined();
  });

  it('reads every Connection header value', () => {
    const { refused } = endToEndRequestHeaders({ connection: ['close', 'authorization'] as unknown as string });
    expect(refused?.code).toBe('WG_ERR_BAD_REQUEST');
  });
});

describe('cleanRequestHeaders', () => {
  it('drops hop-by-hop, Connection-listed and gateway-owned headers', () => {
    expect(cleanRequestHeaders({
      connection: 'x-a', 'x-a': '1', 'keep-alive': '5', host: 'h', 'content-length': '3', 'x-decision-id': 'forged',
      authorization: 'Bearer t', accept: '*/*',
    })).toEqual({ authorization: 'Bearer t', accept: '*/*' });
  });

  it('drops the headers a kind strips, by name and by prefix', () => {
    const stripped = headerMatcher(['x-trusted', 'x-trusted-extra-']);
    expect(cleanRequestHeaders({ 'x-trusted': 'a', 'x-trusted-extra-b': 'b', 'x-trustedx': 'c' }, stripped)).toEqual({ 'x-trustedx': 'c' });
  });
});
