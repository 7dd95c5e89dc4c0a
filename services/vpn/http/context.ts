// What the HTTP layer attaches to fastify's request and route config.
import type { AgentCredentials } from '../auth/agent-credentials.js';
import type { IntentService } from '../intent/intent-service.js';
import type { Scope, TokenInfo, TokenStore } from '../auth/tokens.js';
import type { SecurityEvents } from '../../common/ops/security-events.js';
import type { IdempotencyStore } from './idempotency.js';
import type { NodeStateReader } from './node-state.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TokenInfo;
    idempotencyKey?: string;
  }
  interface FastifyContextConfig {
    /** Scope a token needs for the route; routes without one are public (docs, health). */
    scope?: Scope;
    /** Idempotency-Key is honoured (idempotent-post.ts) and declared (contract.ts). */
    idempotent?: boolean;
  }
}

export interface HttpDeps {
  intents: IntentService;
  tokens: TokenStore;
  /** Join tokens and agent credentials (/v1/nodes/{id}/join-tokens, /agent-credentials). */
  agentCredentials: AgentCredentials;
  idempotency: IdempotencyStore;
  /** Desired and agent-reported state per node (/v1/nodes/{id}/state). */
  nodeStates: NodeStateReader;
  /** Require If-Match on PUT, PATCH and DELETE (428 without). */
  requireIfMatch: boolean;
  /** Checks the database for /readyz. */
  ready: () => Promise<void>;
  /** Refused tokens and scopes, tokens created and revoked. */
  security: SecurityEvents;
}
