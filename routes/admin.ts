import type { FastifyInstance } from 'fastify';
import { adminAuthorized, type AdminAction, type PolicyAdmin } from '../src/policy/admin.js';

export interface AdminRouteOptions {
  admin: PolicyAdmin;
  token: string;
}

/** The admin API (registered only when admin.tokenFile is set): the token check, then plan, push and drift. */
export async function adminRoutes(app: FastifyInstance, opts: AdminRouteOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    if (!adminAuthorized(request.headers.authorization, opts.token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ code: 'unauthorized', message: 'the admin API needs Authorization: Bearer <admin token>' });
    }
    return undefined;
  });
  for (const action of ['plan', 'push', 'drift'] as AdminAction[]) {
    app.post(`/-/admin/policies/${action}`, async (request, reply) => {
      const answer = await opts.admin.run(action, request.body);
      return reply.code(answer.status).send(answer.body);
    });
  }
}
