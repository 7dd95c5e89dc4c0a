// The admin's side of agent enrolment (auth/agent-credentials.ts):
// POST /v1/nodes/{id}/join-tokens makes a one-time join token for the node's
// agent (shown only in the 201), DELETE /v1/nodes/{id}/agent-credentials
// revokes every credential and unused join token of the node at once.
import type { FastifyInstance } from 'fastify';
import { JOIN_TOKEN_TTL } from '../auth/agent-credentials.js';
import type { HttpDeps } from './context.js';
import { jsonResponse } from './contract.js';
import { NO_STORE } from './headers.js';

const problem = (description: string) => ({ description, $ref: 'Problem#' });
const nodeParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 63 } } };

const joinTokenSchema = {
  $id: 'JoinToken',
  type: 'object',
  required: ['id', 'node', 'token', 'createdAt', 'expiresAt'],
  properties: {
    id: { type: 'string', description: 'names the token in logs and security events; not a secret' },
    node: { type: 'string' },
    token: { type: 'string', description: "the secret (l3vpn_join_...): shown only in this response; give it to the node's agent (agent.join-token-file), which exchanges it once for its credential" },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
};

export function registerAgentEnrolmentRoutes(app: FastifyInstance, { agentCredentials }: HttpDeps): void {
  app.addSchema(joinTokenSchema);
  app.post('/v1/nodes/:id/join-tokens', {
    config: { scope: 'admin' },
    schema: {
      tags: ['nodes'],
      operationId: 'createNodeJoinToken',
      summary: "create a one-time join token for the node's agent to enrol with (shown only in this response)",
      description:
        "In the manner of `kubeadm join`: the agent sends the token once (AgentService.Enroll) and gets the node's credential, which replaces any earlier one. Only the token's SHA-256 is kept.",
      params: nodeParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ttlSeconds: { type: 'integer', minimum: JOIN_TOKEN_TTL.min, maximum: JOIN_TOKEN_TTL.max, default: JOIN_TOKEN_TTL.default, description: 'how long the token may be used' },
        },
      },
      response: { 201: jsonResponse('the join token, shown only here', { $ref: 'JoinToken#' }, NO_STORE), 401: problem('no valid token'), 403: problem('needs scope admin'), 404: problem('no such node') },
    },
    // The body is optional: none is the defaults.
    preValidation: async (request) => {
      request.body ??= {};
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const ttl = (request.body as { ttlSeconds?: number } | undefined)?.ttlSeconds ?? JOIN_TOKEN_TTL.default;
      const t = await agentCredentials.createJoinToken(id, ttl, request.principal!.name);
      return reply.code(201).header('cache-control', 'no-store').send({ id: t.id, node: t.node, token: t.token, createdAt: t.createdAt.toISOString(), expiresAt: t.expiresAt.toISOString() });
    },
  });
  app.delete('/v1/nodes/:id/agent-credentials', {
    config: { scope: 'admin' },
    schema: {
      tags: ['nodes'],
      operationId: 'revokeNodeAgentCredentials',
      summary: "revoke every credential and unused join token of the node's agent",
      description: "The agent's open streams end at once with UNAUTHENTICATED, on every replica, and every later call is refused until it enrols again with a new join token. An agent known by its client certificate is not affected: revoke that certificate at its CA.",
      params: nodeParams,
      response: {
        200: {
          type: 'object',
          required: ['node', 'credentialsRevoked', 'joinTokensRevoked'],
          properties: { node: { type: 'string' }, credentialsRevoked: { type: 'integer' }, joinTokensRevoked: { type: 'integer' } },
        },
        401: problem('no valid token'),
        403: problem('needs scope admin'),
        404: problem('no such node'),
      },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const r = await agentCredentials.revokeNode(id, request.principal!.name);
      return { node: id, credentialsRevoked: r.credentials, joinTokensRevoked: r.joinTokens };
    },
  });
}
