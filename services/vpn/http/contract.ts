// The OpenAPI document says what the server does (issue 13 §4). Applied to
// each /v1 route as it is added, so no route can forget it:
// - an operationId, a tag and a summary;
// - every response with a description, errors as the application/problem+json
//   they are sent as;
// - what the shared machinery answers on any route, each where it applies:
//   400 (schema; a malformed request), 401/403 (a route with a scope), 408
//   and 431 (node:http, before any route), 413/415 (a body), 414 (a path
//   parameter), 500, 503 with Retry-After (a dependency down, shutting down);
// - the headers it adds: X-Request-Id on every response, WWW-Authenticate on
//   401/403, and for routes with `config.idempotent` the Idempotency-Key
//   parameter, its 409/422 and Idempotent-Replayed;
// - path parameters bounded below the router's 414 limit, so the document
//   never allows an id the server refuses as too long.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, REQUEST_ID, RETRY_AFTER, WWW_AUTHENTICATE, type HeaderSchema } from './headers.js';
import { TAGS } from './docs.js';
import { problemSchema } from './problem.js';

/** A response as the routes declare it and as it leaves this hook. */
export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderSchema>;
  /** Absent for a response without a body (then `type: 'null'`). */
  content?: Record<string, { schema: unknown }>;
  type?: 'null';
}

const PROBLEM = { $ref: 'Problem#' };

/** A response with a JSON body. */
export const jsonResponse = (description: string, schema: unknown, headers?: Record<string, HeaderSchema>): ResponseObject => ({
  description,
  ...(headers ? { headers: { ...headers } } : {}),
  content: { 'application/json': { schema } },
});

/** A response without a body (204, 304). */
export const emptyResponse = (description: string, headers?: Record<string, HeaderSchema>): ResponseObject => ({
  type: 'null',
  description,
  ...(headers ? { headers: { ...headers } } : {}),
});

/** An error, sent as RFC 9457 problem details. */
export const problemResponse = (description: string): ResponseObject => ({ description, content: { 'application/problem+json': { schema: PROBLEM } } });

/** Problem responses by status, with the route's own descriptions. */
export const problems = (described: Record<number, string>): Record<number, ResponseObject> =>
  Object.fromEntries(Object.entries(described).map(([status, description]) => [status, problemResponse(description)]));

const camel = (s: string) => s.replace(/(?:^|-)([a-z])/g, (_, c: string) => c.toUpperCase());
const singular = (s: string) => s.replace(/s$/, '');
const VERBS: Record<string, string> = { GET: 'get', POST: 'create', PUT: 'replace', PATCH: 'update', DELETE: 'delete' };

/**
 * listNodes, createNode, getNode, replaceNode, updateNode, deleteNode,
 * getNodeState, getVrfRoutes, createNodeJoinToken … from the method and
 * /v1 path: a POST creates one of its collection.
 */
export function operationIdOf(method: string, url: string): string | undefined {
  const parts = url.replace(/^\/v1\//, '').split('/').filter(Boolean);
  const [collection, id, sub] = parts;
  const verb = VERBS[method];
  if (!collection || !verb || parts.length > 3 || (id && !id.startsWith(':'))) return undefined;
  if (!id) return method === 'GET' ? `list${camel(collection)}` : `${verb}${camel(method === 'POST' ? singular(collection) : collection)}`;
  if (!sub) return `${verb}${camel(singular(collection))}`;
  return `${verb}${camel(singular(collection))}${camel(method === 'POST' ? singular(sub) : sub)}`;
}

/** "create node join token" from createNodeJoinToken. */
const summaryOf = (operationId: string) => operationId.replace(/([A-Z])/g, ' $1').toLowerCase();

interface RouteSchema {
  hide?: boolean;
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: unknown[];
  body?: unknown;
  params?: { properties?: Record<string, { maxLength?: number }> };
  headers?: { type?: string; properties?: Record<string, unknown> };
  response?: Record<string, unknown>;
}

/** A route's declared response in the one shape the document and the serializer get. */
function normalised(status: number, declared: unknown): ResponseObject {
  const r = declared as Partial<ResponseObject> & { $ref?: string };
  if (r.content || r.type === 'null') return { ...r, description: r.description ?? `status ${status}` } as ResponseObject;
  if (status >= 400) return problemResponse(r.description ?? 'problem details (RFC 9457)');
  return jsonResponse(`status ${status}`, declared);
}

function addHeaders(response: ResponseObject, headers: Record<string, HeaderSchema>): void {
  response.headers = { ...headers, ...(response.headers ?? {}) };
}

export interface ContractOptions {
  /** The router's limit on a path parameter (fastify routerOptions.maxParamLength): 414 beyond. */
  maxParamLength: number;
  /** fastify's bodyLimit: 413 beyond. */
  bodyLimit: number;
}

/** Path parameters must be bounded no longer than the router allows, or the document would allow ids answered 414. */
function checkPathParameters(url: string, schema: RouteSchema, maxParamLength: number): void {
  for (const [, name] of url.matchAll(/:([A-Za-z_]\w*)/g)) {
    const maxLength = schema.params?.properties?.[name!]?.maxLength;
    if (maxLength === undefined || maxLength > maxParamLength) {
      throw new Error(`route ${url}: path parameter '${name}' needs a maxLength of at most ${maxParamLength} (the router answers 414 beyond)`);
    }
  }
}

/** Registers the hook; call before any route is added. */
export function registerContract(app: FastifyInstance, options: ContractOptions): void {
  app.addSchema(problemSchema);
  const known = new Set(TAGS.map((t) => t.name));
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema || schema.hide || !route.url.startsWith('/v1/')) return;
    const method = [route.method].flat()[0]!;
    if (method === 'HEAD') return;
    checkPathParameters(route.url, schema, options.maxParamLength);
    schema.operationId ??= operationIdOf(method, route.url);
    if (!schema.operationId) throw new Error(`route ${method} ${route.url}: give it an operationId`);
    schema.tags ??= [route.url.split('/')[2]!];
    for (const tag of schema.tags) if (!known.has(tag)) throw new Error(`route ${method} ${route.url}: tag '${tag}' needs a description in docs.ts TAGS`);
    schema.summary ??= summaryOf(schema.operationId);

    const responses: Record<string, ResponseObject> = {};
    for (const [code, r] of Object.entries(schema.response ?? {})) responses[code] = normalised(Number(code), r);
    const declare = (status: number, description: string) => (responses[status] ??= problemResponse(description));

    const scope = route.config?.scope;
    if (scope) {
      declare(401, 'no valid bearer token');
      declare(403, `the token's scope is below '${scope}'`);
      for (const status of [401, 403]) addHeaders(responses[status]!, WWW_AUTHENTICATE);
    } else {
      schema.security = [];
    }
    if (route.config?.idempotent) {
      schema.headers = { type: 'object', ...schema.headers, properties: { ...(schema.headers?.properties ?? {}), ...IDEMPOTENCY_KEY } };
      declare(409, 'conflict, or the first request with this Idempotency-Key is still running');
      declare(422, 'unprocessable, or the Idempotency-Key was used with another request');
      // Stored and replayed: whatever the handler answered below 500 (validation and auth answer before the key is claimed).
      for (const [code, r] of Object.entries(responses)) if (Number(code) < 300 || [400, 409, 422].includes(Number(code))) addHeaders(r, IDEMPOTENT_REPLAYED);
    }
    declare(400, 'the request does not match the schema, or is not valid HTTP');
    declare(408, 'the request (headers and body) did not arrive within vpn.http-request-timeout-seconds; the connection is closed');
    declare(431, 'the request header section is too large; the connection is closed');
    if (schema.body) {
      declare(413, `the body is larger than ${options.bodyLimit} bytes`);
      declare(415, 'the body is not application/json (or application/merge-patch+json)');
    }
    if (schema.params) declare(414, `a path parameter is longer than ${options.maxParamLength} characters`);
    declare(500, 'internal error (logged with the request id)');
    declare(503, 'a service the request needs does not answer, or this server is shutting down; nothing was written');
    addHeaders(responses[503]!, RETRY_AFTER);
    for (const r of Object.values(responses)) addHeaders(r, REQUEST_ID);
    schema.response = responses;
  });
}
