import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WritegateError, isWritegateError } from '../src/errors.js';
import type { AdminAction, AdminAnswer, AdminCall, PolicyAdmin } from '../src/policy/admin.js';

export interface AdminRouteOptions {
  admin: PolicyAdmin;
}

function send(reply: FastifyReply, answer: AdminAnswer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers ?? {}).send(answer.body);
}

function call(request: FastifyRequest): AdminCall {
  return { method: request.method, url: request.url, remoteAddress: request.ip, authorization: request.headers.authorization };
}

/** The admin API (registered only when admin.tokenFile is set): the token check, then plan, push and drift. */
export async function adminRoutes(app: FastifyInstance, opts: AdminRouteOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const refused = opts.admin.unauthorized(call(request));
    return refused ? send(reply, refused) : undefined;
  });
  // A body Fastify could not parse (not JSON, too large) is refused in the catalogue's terms and recorded too.
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const e = isWritegateError(err) ? err : new WritegateError(err.statusCode === 413 ? 'WG_ERR_BODY_TOO_LARGE' : 'WG_ERR_MALFORMED_BODY', err.message, { cause: err });
    return send(reply, opts.admin.refuse(call(request), e));
  });
  for (const action of ['plan', 'push', 'drift'] as AdminAction[]) {
    app.post(`/-/admin/policies/${action}`, async (request, reply) => send(reply, await opts.admin.run(action, request.body, call(request))));
  }
}
