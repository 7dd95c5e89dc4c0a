// /v1/vrfs: read-only, the VRFs derived from the sites, with their routes.
import type { FastifyInstance } from 'fastify';
import { filtersOf } from '../intent/intent-service.js';
import { etagOf } from './conditional.js';
import type { HttpDeps } from './context.js';
import { jsonResponse, problems } from './contract.js';
import { ETAG } from './headers.js';
import { listQuery, listResponse, sendPage } from './resources.js';

const notFound = problems({ 404: 'no VRF has this id' });
const params = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 127, description: 'vpn:node' } } };

export function registerVrfRoutes(app: FastifyInstance, { intents }: HttpDeps): void {
  app.get('/v1/vrfs', {
    config: { scope: 'read' },
    schema: { tags: ['vrfs'], summary: 'list VRFs', querystring: listQuery(filtersOf('vrf')), response: { 200: listResponse('Vrf') } },
    handler: async (request, reply) => {
      const { limit, cursor, ...filter } = request.query as { limit: number; cursor?: string } & Record<string, string>;
      return sendPage(request, reply, await intents.listVrfs(filter, { limit, ...(cursor ? { cursor } : {}) }));
    },
  });
  app.get('/v1/vrfs/:id', {
    config: { scope: 'read' },
    schema: { tags: ['vrfs'], summary: 'get a VRF with its routes', params, response: { 200: jsonResponse('the VRF', { $ref: 'Vrf#' }, ETAG), ...notFound } },
    handler: async (request, reply) => {
      const vrf = await intents.getVrf((request.params as { id: string }).id);
      reply.header('etag', etagOf(vrf.version));
      return vrf;
    },
  });
  app.get('/v1/vrfs/:id/routes', {
    config: { scope: 'read' },
    schema: { tags: ['vrfs'], summary: "a VRF's routes, as the bgp service has them", params, response: { 200: jsonResponse("the VRF's routes", { $ref: 'VrfRoutes#' }), ...notFound } },
    handler: async (request) => intents.vrfRoutes((request.params as { id: string }).id),
  });
}
