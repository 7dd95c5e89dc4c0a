// Operator actions on a site beside its CRUD: POST /v1/sites/{id}/revert
// puts a non-revertive single-active site's traffic back on its primary
// access (IntentService.revertSite).
import type { FastifyInstance } from 'fastify';
import { etagOf } from './conditional.js';
import type { HttpDeps } from './context.js';
import { jsonResponse, problems } from './contract.js';
import { ETAG } from './headers.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 63 } } };

export function registerSiteActionRoutes(app: FastifyInstance, { intents }: HttpDeps): void {
  app.post('/v1/sites/:id/revert', {
    config: { scope: 'write' },
    schema: {
      tags: ['sites'],
      operationId: 'revertSite',
      summary: "make a non-revertive site's primary access the active one again",
      description:
        "On a single-active site with `revertive: false`, the access that took over when the primary failed stays preferred after the primary is back; this puts the traffic back on the primary (LOCAL_PREF 200 on its routes, 100 on the others') and reconciles every PE of the site. Nothing changes when the primary is already active. The site's version does not change: which access is active is state, not intent.",
      params: idParams,
      response: {
        200: jsonResponse('the site, with activeAccess the primary', { $ref: 'Site#' }, ETAG),
        ...problems({ 404: 'no site has this id', 409: 'the primary access is not active (its port down, its PE unreachable, not installed yet)', 422: 'the site is revertive, all-active or has one access: there is nothing to revert' }),
      },
    },
    handler: async (request, reply) => {
      const site = await intents.revertSite((request.params as { id: string }).id);
      reply.header('etag', etagOf(site.version));
      return site;
    },
  });
}
