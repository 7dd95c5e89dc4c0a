// The OpenAPI document says what the server does (issue 13 §4): every
// operation has an operationId; every error is declared as the
// application/problem+json it is sent as; the errors any route can answer
// (a body too large or of another type, a path too long, a dependency
// down, an internal error) are declared on every route they apply to.
// Applied to each route as it is added, so no route can forget it.
import type { FastifyInstance, RouteOptions } from 'fastify';

const PROBLEM = { $ref: 'Problem#' };
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: PROBLEM } } });

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const VERBS: Record<string, [collection: string, item: string]> = {
  GET: ['list', 'get'],
  POST: ['create', 'create'],
  PUT: ['replace', 'replace'],
  PATCH: ['update', 'update'],
  DELETE: ['delete', 'delete'],
};

/** listNodes, createNode, getNode, replaceNode, updateNode, deleteNode, getNodeState, getVrfRoutes … from the method and /v1 path. */
export function operationIdOf(method: string, url: string): string | undefined {
  const parts = url.replace(/^\/v1\//, '').split('/').filter(Boolean);
  const [plural, id, sub] = parts;
  const verbs = VERBS[method];
  if (!plural || !verbs || parts.length > 3) return undefined;
  const singular = cap(plural.replace(/s$/, ''));
  if (!id) return `${verbs[0]}${cap(plural)}`;
  return `${verbs[1]}${singular}${sub ? cap(sub) : ''}`;
}

/** Registers the hook; call before any route is added. */
export function registerContract(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as (Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown> }) | undefined;
    if (!schema || schema.hide || !route.url.startsWith('/v1/')) return;
    const method = [route.method].flat()[0]!;
    if (method === 'HEAD') return;
    schema.operationId ??= operationIdOf(method, route.url);
    const response: Record<string, unknown> = { ...(schema.response ?? {}) };
    for (const [code, r] of Object.entries(response)) {
      const status = Number(code);
      const v = r as { $ref?: string; description?: string };
      if (status >= 400 && v?.$ref === 'Problem#') response[code] = problemResponse(v.description ?? 'problem details (RFC 9457)');
    }
    const common: [number, string, boolean][] = [
      [400, 'the request does not match the schema', true],
      [413, 'the body is larger than 1 MiB', Boolean(schema.body)],
      [414, 'a path parameter is longer than any id', Boolean(schema.params)],
      [415, 'the body is not application/json (or merge-patch+json)', Boolean(schema.body)],
      [500, 'internal error (logged)', true],
      [503, 'a service the request needs does not answer; retry after Retry-After', true],
    ];
    for (const [status, description, applies] of common) if (applies && !(status in response)) response[status] = problemResponse(description);
    schema.response = response;
  });
}
