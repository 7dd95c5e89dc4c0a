// Fastify glue for Idempotency-Key on the routes with `config.idempotent`
// (the contract declares the header and its answers for the same routes):
// claim before the handler, replay or refuse a repeat, store the response
// after it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpDeps } from './context.js';
import { requestHash } from './idempotency.js';
import { problem, sendProblem } from './problem.js';

const KEPT_HEADERS = ['location', 'etag', 'content-type'];

function beginIdempotent(deps: HttpDeps) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.routeOptions.config?.idempotent) return;
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || !key || (request.query as { dryRun?: boolean }).dryRun) return;
    const tokenId = request.principal!.id;
    const claim = await deps.idempotency.claim(tokenId, key, requestHash(request.method, request.routeOptions.url ?? request.url, request.body));
    if (claim.kind === 'new') {
      request.idempotencyKey = key;
      return;
    }
    if (claim.kind === 'mismatch') {
      return sendProblem(reply, request, problem('idempotency-key-reused', `Idempotency-Key '${key}' was used with a different request`, request.url, [{ header: 'idempotency-key', detail: 'already used with another body' }]));
    }
    if (claim.kind === 'in-flight') {
      return sendProblem(reply, request, problem('idempotency-key-in-use', `the first request with Idempotency-Key '${key}' is still running`, request.url));
    }
    return reply.code(claim.status).headers({ ...claim.headers, 'idempotent-replayed': 'true' }).serializer((p) => p as string).send(claim.body);
  };
}

/** Claims the key before the handler; stores the response of a claimed request (or frees the key after a server error). */
export function registerIdempotencyHook(app: FastifyInstance, deps: HttpDeps): void {
  app.addHook('preHandler', beginIdempotent(deps));
  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.idempotencyKey;
    if (!key) return payload;
    request.idempotencyKey = undefined;
    const tokenId = request.principal!.id;
    if (reply.statusCode >= 500) {
      await deps.idempotency.abandon(tokenId, key);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const h of KEPT_HEADERS) {
      const v = reply.getHeader(h);
      if (v !== undefined) headers[h] = String(v);
    }
    await deps.idempotency.complete(tokenId, key, reply.statusCode, headers, typeof payload === 'string' ? payload : '');
    return payload;
  });
}
