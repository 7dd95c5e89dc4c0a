// The CRUD routes of the intent resources (/v1/nodes, /links, /vpns, /sites),
// one generic set over the domain layer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { filtersOf, type WriteOptions } from '../intent/intent-service.js';
import type { Page } from '../intent/pagination.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../intent/pagination.js';
import { NODE_ROLES, STATUS_STATES, type ResourceKind, type WriteResult } from '../intent/types.js';
import { etagOf, preconditionOf, unlessMatchOf } from './conditional.js';
import type { HttpDeps } from './context.js';
import { emptyResponse, jsonResponse, problems } from './contract.js';
import { ETAG, headerParameters, IF_MATCH, IF_NONE_MATCH_READ, IF_NONE_MATCH_WRITE, LINK_NEXT, LOCATION } from './headers.js';

export const RESOURCES: { kind: ResourceKind; path: string; schema: string; tag: string }[] = [
  { kind: 'node', path: 'nodes', schema: 'Node', tag: 'nodes' },
  { kind: 'link', path: 'links', schema: 'Link', tag: 'links' },
  { kind: 'vpn', path: 'vpns', schema: 'Vpn', tag: 'vpns' },
  { kind: 'site', path: 'sites', schema: 'Site', tag: 'sites' },
];

const ref = (name: string) => ({ $ref: `${name}#` });
/** The longest id of a node, link, VPN or site (schemas.ts `id`). */
const ID_MAX_LENGTH = 63;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: ID_MAX_LENGTH } } };
const dryRunQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { dryRun: { type: 'boolean', default: false, description: 'validate and answer what would change (a Plan), without writing' } },
};

/** Filters with a closed set of values: anything else is a 400, never a query. */
const FILTER_ENUMS: Record<string, readonly string[]> = { status: STATUS_STATES, role: NODE_ROLES };

export function listQuery(filters: readonly string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'items per page' },
      cursor: { type: 'string', maxLength: 500, description: 'where to go on: the `next` of the previous page, as it was given' },
      ...Object.fromEntries(filters.map((f) => [f, FILTER_ENUMS[f] ? { type: 'string', enum: [...FILTER_ENUMS[f]] } : { type: 'string', maxLength: 100 }])),
    },
  };
}

/** A page of a list: `next` is the cursor of the following page, absent on the last. */
export const listResponse = (schema: string) =>
  jsonResponse(
    'a page of the list',
    {
      type: 'object',
      required: ['items'],
      properties: {
        items: { type: 'array', items: ref(schema) },
        next: { type: 'string', description: 'cursor of the next page: pass it as `cursor` with the same filters; absent on the last page' },
      },
    },
    LINK_NEXT,
  );

/** Sends a page with its `next` cursor, and the next page's request as a Link header (RFC 8288). */
export function sendPage<T>(request: FastifyRequest, reply: FastifyReply, page: Page<T>) {
  if (!page.next) return reply.send({ items: page.items });
  const url = new URL(request.url, 'http://x');
  url.searchParams.set('cursor', page.next);
  reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
  return reply.send({ items: page.items, next: page.next });
}

const headerOf = (r: FastifyRequest, name: string) => {
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

export function registerResourceRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { intents } = deps;
  for (const { kind, path, schema, tag } of RESOURCES) {
    const base = `/v1/${path}`;
    const plan = jsonResponse('dry run: what the write would change (nothing was written)', ref('Plan'));
    const changed = jsonResponse(`the ${kind} as changed, or with ?dryRun=true the Plan`, { anyOf: [ref('Plan'), ref(schema)] }, ETAG);
    const preconditions = {
      412: 'If-Match matched no current version, or If-None-Match matched it',
      428: 'If-Match is required (vpn.require-if-match) and was not sent',
    };
    const conditionalWrite = headerParameters(IF_MATCH, IF_NONE_MATCH_WRITE);
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
      schema: { tags: [tag], summary: `list ${path}`, querystring: listQuery(filtersOf(kind)), response: { 200: listResponse(schema) } },
      handler: async (request, reply) => {
        const { limit, cursor, ...filter } = request.query as { limit: number; cursor?: string } & Record<string, string>;
        return sendPage(request, reply, await intents.list(kind, filter, { limit, ...(cursor ? { cursor } : {}) }));
      },
    });

    app.post(base, {
      config: { scope: 'write', idempotent: true },
      schema: {
        tags: [tag],
        summary: `create a ${kind}`,
        querystring: dryRunQuery,
        body: ref(schema),
        response: {
          201: jsonResponse(`the ${kind} as created`, ref(schema), { ...ETAG, ...LOCATION }),
          200: plan,
          ...problems({ 409: `the id is taken, or the ${kind} conflicts with another resource`, 422: `the ${kind} contradicts itself or the rest of the intent` }),
        },
      },
      handler: async (request, reply) => sendWrite(reply, await intents.create(kind, request.body as never, writeOptions(request, false)), 201),
    });

    app.get(`${base}/:id`, {
      config: { scope: 'read' },
      schema: {
        tags: [tag],
        summary: `get a ${kind}`,
        params: idParams,
        headers: headerParameters(IF_NONE_MATCH_READ),
        response: {
          200: jsonResponse(`the ${kind}`, ref(schema), ETAG),
          304: emptyResponse('If-None-Match matched the current version', ETAG),
          ...problems({ 404: `no ${kind} has this id` }),
        },
      },
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
        headers: conditionalWrite,
        body: ref(schema),
        response: {
          200: changed,
          ...problems({ 404: `no ${kind} has this id`, 409: `the ${kind} conflicts with another resource`, 422: `the ${kind} contradicts itself or the rest of the intent`, ...preconditions }),
        },
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
        headers: conditionalWrite,
        body: {
          content: {
            'application/merge-patch+json': { schema: ref(`${schema}Patch`) },
            'application/json': { schema: ref(`${schema}Patch`) },
          },
        },
        response: {
          200: changed,
          ...problems({ 404: `no ${kind} has this id`, 409: `the ${kind} conflicts with another resource`, 422: `the patched ${kind} contradicts itself or the rest of the intent`, ...preconditions }),
        },
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
        headers: conditionalWrite,
        response: { 204: emptyResponse('deleted'), 200: plan, ...problems({ 404: `no ${kind} has this id`, 409: `the ${kind} is still in use`, ...preconditions }) },
      },
      handler: async (request, reply) => sendWrite(reply, await intents.remove(kind, (request.params as { id: string }).id, writeOptions(request, true)), 204),
    });
  }
}
