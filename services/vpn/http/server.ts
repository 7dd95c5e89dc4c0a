// The REST API of the vpn service: fastify with the intent schemas as its
// validators, bearer-token auth with scopes, RFC 9457 problem details, and
// an OpenAPI 3 document generated from the routes.
import swagger from '@fastify/swagger';
import type { ErrorObject } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import { allows } from '../auth/tokens.js';
import { IntentError } from '../intent/errors.js';
import { formats, sharedSchemas } from '../intent/schemas.js';
import { bodyAjv, textAjv } from '../intent/validator.js';
import { bearerToken } from '../../common/bearer.js';
import { isDependencyDown } from '../../common/grpc/errors.js';
import type { Logger } from '../../common/logger.js';
import { REQUEST_ID_HEADER, requestIdOf, withRequestIds } from '../../common/ops/request-context.js';
import { registerAgentEnrolmentRoutes } from './agent-enrolment.js';
import type { HttpDeps } from './context.js';
import { documentOptions, registerDocsRoutes } from './docs.js';
import { registerIdempotencyHook } from './idempotent-post.js';
import { planSchema } from './plan-schema.js';
import { registerNodeStateRoutes } from './node-state.js';
import { registerContract } from './contract.js';
import { clientError, frameworkError, registerInputChecks } from './input-checks.js';
import { problem, problemOfIntentError, problemOfValidation, problemTypeOfStatus, sendProblem } from './problem.js';
import { registerResourceRoutes } from './resources.js';
import { registerTokenRoutes } from './tokens.js';
import { registerVrfRoutes } from './vrfs.js';
import { registerSiteActionRoutes } from './site-actions.js';

/** Transport and instrumentation of the API, from the process's settings. */
export interface HttpOptions {
  /** node:https server options (tls.*); plain HTTP without. */
  https?: object;
  /** How long a request's headers and body may take to arrive (408 and closed after). */
  requestTimeoutMs?: number;
  /** The URL clients reach the API at, for the document's `servers` (vpn.public-url); empty: `/`. */
  publicUrl?: string;
  /** Observes each request's duration by route pattern, method and status. */
  observe?: (labels: { route: string; method: string; status: string }, seconds: number) => void;
}

const BODY_LIMIT = 1024 * 1024;
/** Decoded length of a path parameter beyond which the router answers 414: longer than any id (a VRF's vpn:node is at most 127). */
const MAX_PARAM_LENGTH = 128;

export async function buildHttpApi(deps: HttpDeps, log: Logger, options: HttpOptions = {}): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  // node:http checks request timeouts every connectionsCheckingInterval (30 s by default): often enough to keep the bound;
  // and it enforces requestTimeout only with a headersTimeout no longer than it.
  const checking = { connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(requestTimeout / 4))), requestTimeout, headersTimeout: Math.min(60_000, requestTimeout) };
  const app = Fastify({
    ...(options.https ? { https: { ...options.https, ...checking } } : { http: checking }),
    requestTimeout,
    clientErrorHandler: clientError,
    frameworkErrors: frameworkError,
    // X-Request-Id from the caller when it is a sane token, else a new one: request.id.
    genReqId: (req) => requestIdOf([req.headers[REQUEST_ID_HEADER]].flat()[0]),
    logger: false,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Answered below, as problem details like every other error.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // The response serializer picks anyOf branches with its own Ajv; it must know the formats too.
    serializerOpts: { ajv: { formats, strict: false } },
  }) as unknown as FastifyInstance;
  // First hook: everything the request does after this (logs, outbox rows, onward calls) carries its id.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    withRequestIds([request.id], done);
  });
  // A request that reaches a replica while it stops (a keep-alive connection): retry elsewhere.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return undefined;
    reply.header('connection', 'close').header('retry-after', '1');
    return sendProblem(reply, request, problem('shutting-down', 'this server is shutting down; retry', request.url));
  });
  app.addHook('preSerialization', async (request, reply, payload) => {
    const isProblem = String(reply.getHeader('content-type') ?? '').startsWith('application/problem+json');
    return isProblem && payload && typeof payload === 'object' ? { ...payload, requestId: request.id } : payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    options.observe?.({ route, method: request.method, status: String(reply.statusCode) }, seconds);
    if (route !== '/healthz' && route !== '/readyz') {
      log.info({ requestId: request.id, method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    }
  });
  // The same compiled schemas as the domain layer; bodies are never coerced, text parts are.
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  await app.register(swagger, {
    openapi: documentOptions(options.publicUrl ?? ''),
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  for (const s of [...sharedSchemas, planSchema]) app.addSchema(s);

  registerInputChecks(app);
  registerContract(app, { maxParamLength: MAX_PARAM_LENGTH, bodyLimit: BODY_LIMIT });

  app.addHook('onRequest', async (request, reply) => {
    const needed = request.routeOptions.config?.scope;
    if (!needed) return;
    const token = bearerToken(request.headers.authorization);
    const where = { method: `${request.method} ${request.routeOptions.url ?? request.url}`, peer: request.ip };
    try {
      request.principal = await deps.tokens.verify(token);
    } catch (err) {
      if (err instanceof IntentError) deps.security.record('authentication-failed', { ...where, reason: token ? 'unknown-credential' : 'no-credential' });
      throw err;
    }
    if (!allows(request.principal.scope, needed)) {
      deps.security.record('permission-denied', { ...where, principal: request.principal.name, reason: 'scope' });
      throw new IntentError('forbidden', `this needs a token with scope '${needed}'; '${request.principal.name}' has '${request.principal.scope}'`);
    }
    void reply;
  });
  registerIdempotencyHook(app, deps);

  app.setErrorHandler((err: FastifyError & { validation?: ErrorObject[]; validationContext?: string }, request, reply) => {
    if (err instanceof IntentError) return sendProblem(reply, request, problemOfIntentError(err, request.url));
    if (err.validation) return sendProblem(reply, request, problemOfValidation(err.validation, err.validationContext ?? 'body', request.url));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendProblem(reply, request, { ...problem(problemTypeOfStatus(err.statusCode), err.message, request.url), status: err.statusCode });
    }
    if (isDependencyDown(err)) {
      log.warn({ err: err.message, requestId: request.id, method: request.method, url: request.url }, 'request failed: a service it needs does not answer');
      reply.header('retry-after', '5');
      return sendProblem(reply, request, problem('dependency-unavailable', 'a service this request needs (labels or bgp) does not answer; nothing was written', request.url));
    }
    log.error({ err, requestId: request.id, method: request.method, url: request.url }, 'request failed');
    return sendProblem(reply, request, problem('internal-error', 'internal error', request.url));
  });

  registerResourceRoutes(app, deps);
  registerVrfRoutes(app, deps);
  registerSiteActionRoutes(app, deps);
  registerNodeStateRoutes(app, deps);
  registerAgentEnrolmentRoutes(app, deps);
  registerTokenRoutes(app, deps);
  registerDocsRoutes(app);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    await deps.ready();
    return reply.send({ status: 'ready' });
  });
  return app;
}
