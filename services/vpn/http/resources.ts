// The CRUD routes of the intent resources (/v1/nodes, /links, /vpns, /sites),
// one generic set over the domain layer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { filtersOf, type WriteOptions } from '../intent/intent-service.js';
import type { Page } from '../intent/pagination.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../intent/pagination.js';
import { NODE_ROLES, STATUS_STATES, type ResourceKind, type WriteResult } from '../intent/types.js';
import { etagOf, preconditionOf, unlessMatchOf } from './conditional.js';
import type { HttpDeps } from './context.js';
import { beginIdempotent } from './idempotent-post.js';

export const RESOURCES: { kind: ResourceKind; path: string; schema: string; tag: string }[] = [
  { kind: 'node', path: 'nodes', schema: 'Node', tag: 'nodes' },
  { kind: 'link', path: 'links', schema: 'Link', tag: 'links' },
  { kind: 'vpn', path: 'vpns', schema: 'Vpn', tag: 'vpns' },
  { kind: 'site', path: 'sites', schema: 'Site', tag: 'sites' },
];

const ref = (name: string) => ({ $ref: `${name}#` });
const problemResponses = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, { description: 'problem details (RFC 9457)', ...ref('Problem') }]));
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 63 } } };
const dryRunQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { dryRun: { type: 'boolean', default: false, description: 'validate and answer what would change, without writing' } },
};

/** Filters with a closed set of values: anything else is a 400, never a query. */
const FILTER_ENUMS: Record<string, readonly string[]> = { status: STATUS_STATES, role: NODE_ROLES };

export function listQuery(filters: readonly string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
      cursor: { type: 'string', maxLength: 500, description: "the `next` cursor of the previous page" },
      ...Object.fromEntries(filters.map((f) => [f, FILTER_ENUMS[f] ? { type: 'string', enum: [...FILTER_ENUMS[f]] } : { type: 'string', maxLength: 100 }])),
    },
  };
}

export const listResponse = (schema: string) => ({
  type: 'object',
  required: ['items'],
  properties: {
    items: { type: 'array', items: ref(schema) },
    next: { type: 'string', description: 'link to the next page; absent on the last' },
  },
});

/** Sends a page with a `next` link (and the same as a Link header, RFC 8288). */
export function sendPage<T>(request: FastifyRequest, reply: FastifyReply, page: Page<T>) {
  if (!page.next) return reply.send({ items: page.items });
  const url = new URL(request.url, 'http://x');
  url.searchParams.set('cursor', page.next);
  const next = `${url.pathname}${url.search}`;
  reply.header('link', `<${next}>; rel="next"`);
  return reply.send({ items: page.items, next });
}

const headerOf = (r: FastifyRequest, name: string) => {
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

export function registerResourceRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { intents } = deps;
  for (const { kind, path, schema, tag } of RESOURCES) {
    const base = `/v1/${path}`;
    const planOr = (code: number) => ({ [code]: { anyOf: [ref('Plan'), ref(schema)] } });
    const writeOptions = (request: FastifyRequest, conditional: boolean): WriteOptions => {
      const query = request.query as { dryRun?: boolean };
      const precondition = conditional ? preconditionOf(headerOf(request, 'if-match'), deps.requireIfMatch) : undefined;
      const unlessMatch = conditional ? unlessMatchOf(headerOf(request, 'if-none-match')) : undefined;
      return { dryRun: Boolean(query.dryRun), ...(precondition ? { precondition } : {}), ...(unlessMatch ? { unlessMatch } : {}) };
    };
    const sendWrite = (reply: FastifyReply, result: WriteResult<{ id: string; version: number }>, status: number) => {
      if (result.dryRun) {
        const { changes, affectedNodes, plan, releases, resource } = result;
        return reply.code(200).send({ dryRun: true, changes, affectedNodes, ...(plan ? { plan, releases } : {}), ...(resource ? { resource } : {}) });
      }
      if (!result.resource) return reply.code(204).send();
      reply.header('etag', etagOf(result.resource.version));
      if (status === 201) reply.header('location', `${base}/${encodeURIComponent(result.resource.id)}`);
      return reply.code(status).send(result.resource);
    };

    app.get(base, {
      config: { scope: 'read' },
      schema: { tags: [tag], summary: `list ${path}`, querystring: listQuery(filtersOf(kind)), response: { 200: listResponse(schema), ...problemResponses(400, 401, 403) } },
      handler: async (request, reply) => {
        const { limit, cursor, ...filter } = request.query as { limit: number; cursor?: string } & Record<string, string>;
        return sendPage(request, reply, await intents.list(kind, filter, { limit, ...(cursor ? { cursor } : {}) }));
      },
    });

    app.post(base, {
      config: { scope: 'write' },
      schema: {
        tags: [tag],
        summary: `create a ${kind}`,
        description: 'Idempotency-Key: a repeat with the same key and body gets the first response again.',
        querystring: dryRunQuery,
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } } },
        body: ref(schema),
        response: { 201: ref(schema), ...planOr(200), ...problemResponses(400, 401, 403, 409, 422) },
      },
      preHandler: beginIdempotent(deps),
      handler: async (request, reply) => sendWrite(reply, await intents.create(kind, request.body as never, writeOptions(request, false)), 201),
    });

    app.get(`${base}/:id`, {
      config: { scope: 'read' },
      schema: { tags: [tag], summary: `get a ${kind}`, params: idParams, response: { 200: ref(schema), 304: { type: 'null', description: 'If-None-Match matched' }, ...problemResponses(401, 403, 404) } },
      handler: async (request, reply) => {
        const r = await intents.get(kind, (request.params as { id: string }).id);
        const etag = etagOf(r.version);
        reply.header('etag', etag);
        const unless = unlessMatchOf(headerOf(request, 'if-none-match'));
        if (unless && ('any' in unless || unless.versions.includes(r.version))) return reply.code(304).send();
        return r;
      },
    });

    app.put(`${base}/:id`, {
      config: { scope: 'write' },
      schema: {
        tags: [tag],
        summary: `replace a ${kind}`,
        description: 'If-Match: the ETag of the version being replaced (412 when it moved on).',
        params: idParams,
        querystring: dryRunQuery,
        body: ref(schema),
        response: { ...planOr(200), ...problemResponses(400, 401, 403, 404, 409, 412, 422, 428) },
      },
      handler: async (request, reply) =>
        sendWrite(reply, await intents.replace(kind, (request.params as { id: string }).id, request.body as never, writeOptions(request, true)), 200),
    });

    app.patch(`${base}/:id`, {
      config: { scope: 'write' },
      schema: {
        tags: [tag],
        summary: `change some fields of a ${kind} (JSON merge patch, RFC 7396)`,
        params: idParams,
        querystring: dryRunQuery,
        body: ref(`${schema}Patch`),
        response: { ...planOr(200), ...problemResponses(400, 401, 403, 404, 409, 412, 422, 428) },
      },
      handler: async (request, reply) =>
        sendWrite(reply, await intents.patch(kind, (request.params as { id: string }).id, request.body as Record<string, unknown>, writeOptions(request, true)), 200),
    });

    app.delete(`${base}/:id`, {
      config: { scope: 'write' },
      schema: {
        tags: [tag],
        summary: `delete a ${kind}`,
        params: idParams,
        querystring: dryRunQuery,
        response: { 204: { type: 'null', description: 'deleted' }, 200: ref('Plan'), ...problemResponses(401, 403, 404, 409, 412, 428) },
      },
      handler: async (request, reply) => sendWrite(reply, await intents.remove(kind, (request.params as { id: string }).id, writeOptions(request, true)), 204),
    });
  }
}
