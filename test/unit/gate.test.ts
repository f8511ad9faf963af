import { describe, expect, it } from 'vitest';
import { errorCatalogue, type WritegateError } from '../../src/errors.js';
import { Gate, type GateDeps } from '../../src/gate.js';
import type { Classified, GateRequest, UpstreamAdapter } from '../../src/upstreams/types.js';

/** A kind whose reads and writes can only be told apart by the body, as a GraphQL endpoint's. */
function adapter(classifyBody?: UpstreamAdapter['classifyBody']): UpstreamAdapter {
  const render = (status: number) => ({ status, headers: {}, body: '' });
  return {
    kind: 'test',
    headers: { stripped: ['x-trusted'], protected: ['x-trusted'], callerCredentials: ['authorization'], credentials: () => ({}), added: (r) => ({ 'x-forwarded-proto': r.secure ? 'https' : 'http' }) },
    fixes: {},
    classify: () => ({ isRead: false, needsBody: true, operation: undefined, summary: 'query', detail: undefined }),
    ...(classifyBody ? { classifyBody } : {}),
    buildInput: async () => ({}),
    renderDeny: () => render(403),
    renderError: (e: WritegateError) => render(e.status),
    warningHeaders: () => [],
    maskInput: (i) => i,
  };
}

const req = (headers: GateRequest['headers'] = {}): GateRequest => ({ method: 'POST', url: '/graphql/', headers, upgrade: false, remoteAddress: '127.0.0.1' });
const gate = (a: UpstreamAdapter) => new Gate({ adapter: a } as unknown as GateDeps);

describe('the gate, kind-free', () => {
  it('hands a request that needs its body back to the adapter with the body, and keeps the final answer', () => {
    const g = gate(adapter((_r, c, body): Classified => ({ ...c, needsBody: false, isRead: body.toString().startsWith('query') })));
    const first = g.classify(req());
    expect(first.needsBody).toBe(true);
    expect(g.classifyBody(req(), first, Buffer.from('query { a }')).isRead).toBe(true);
    expect(g.classifyBody(req(), first, Buffer.from('mutation { a }')).isRead).toBe(false);
  });

  it('refuses a body-classified request when the adapter cannot classify by body, or still cannot tell', () => {
    expect(() => gate(adapter()).classifyBody(req(), gate(adapter()).classify(req()), Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 'WG_ERR_BAD_REQUEST' }));
    const undecided = gate(adapter((_r, c) => c));
    expect(() => undecided.classifyBody(req(), undecided.classify(req()), Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 'WG_ERR_BAD_REQUEST' }));
  });

  it.each(['x-http-method-override', 'x-http-method', 'x-method-override'])('refuses %s for every kind', (h) => {
    expect(() => gate(adapter()).classify(req({ [h]: 'GET' }))).toThrow(expect.objectContaining({ code: 'WG_ERR_BAD_REQUEST', status: errorCatalogue.WG_ERR_BAD_REQUEST.status }));
  });

  it('builds forwarded headers with the kind\'s rules: its stripped header never goes upstream, its protected one refuses a Connection listing it', () => {
    const g = gate(adapter());
    expect(g.headers.forwarded({ 'x-trusted': 'forged', accept: '*/*' }, 'id-1')).toEqual({ accept: '*/*', 'x-decision-id': 'id-1' });
    expect(g.headers.endToEnd({ connection: 'x-trusted', 'x-trusted': 'a' }).refused?.code).toBe('WG_ERR_BAD_REQUEST');
  });

  it('builds an upgrade\'s head with the same rules as any forwarded request, the kind\'s added headers included', () => {
    const upgrade = { ...req({ 'x-trusted': 'forged', 'x-forwarded-proto': 'http', upgrade: 'websocket', connection: 'Upgrade' }), upgrade: true, secure: true };
    expect(gate(adapter()).headers.upgrade(upgrade, 'id-2', 'upstream:443')).toEqual({
      'x-forwarded-proto': 'https', 'x-decision-id': 'id-2', host: 'upstream:443', connection: 'Upgrade', upgrade: 'websocket',
    });
  });
});
