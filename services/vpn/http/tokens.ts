// /v1/tokens: API tokens, for admins. The secret is shown once, at creation.
import type { FastifyInstance } from 'fastify';
import { notFound } from '../intent/errors.js';
import type { HttpDeps } from './context.js';
import { emptyResponse, jsonResponse, problems } from './contract.js';
import { NO_STORE } from './headers.js';

const tokenInfo = {
  $id: 'Token',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    scope: { type: 'string', enum: ['read', 'write', 'admin'] },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
    lastUsedAt: { type: 'string', format: 'date-time' },
    token: { type: 'string', description: 'the secret; only in the response that creates it' },
  },
};

export function registerTokenRoutes(app: FastifyInstance, { tokens, security }: HttpDeps): void {
  app.addSchema(tokenInfo);
  app.post('/v1/tokens', {
    config: { scope: 'admin' },
    schema: {
      tags: ['tokens'],
      summary: 'create an API token (its secret is shown only in this response)',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'scope'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$' },
          scope: { type: 'string', enum: ['read', 'write', 'admin'] },
          expiresAt: { type: 'string', format: 'date-time' },
        },
      },
      response: { 201: jsonResponse('the token, with its secret', { $ref: 'Token#' }, NO_STORE), ...problems({ 409: 'a token has this name' }) },
    },
    handler: async (request, reply) => {
      const body = request.body as { name: string; scope: 'read' | 'write' | 'admin'; expiresAt?: string };
      const { token, info } = await tokens.create(body.name, body.scope, body.expiresAt ? { expiresAt: new Date(body.expiresAt) } : {});
      security.record('token-created', { principal: request.principal?.name, tokenName: info.name, tokenId: info.id, scope: info.scope, peer: request.ip });
      return reply.code(201).header('cache-control', 'no-store').send({ ...info, token });
    },
  });
  app.get('/v1/tokens', {
    config: { scope: 'admin' },
    schema: {
      tags: ['tokens'],
      summary: 'list API tokens (never their secrets)',
      response: { 200: jsonResponse('every token', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { $ref: 'Token#' } } } }) },
    },
    handler: async () => ({ items: await tokens.list() }),
  });
  app.delete('/v1/tokens/:id', {
    config: { scope: 'admin' },
    schema: {
      tags: ['tokens'],
      summary: 'revoke an API token',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } },
      response: { 204: emptyResponse('revoked'), ...problems({ 404: 'no token has this id' }) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await tokens.revoke(id))) throw notFound('token', id);
      security.record('token-revoked', { principal: request.principal?.name, tokenId: id, peer: request.ip });
      return reply.code(204).send();
    },
  });
}
