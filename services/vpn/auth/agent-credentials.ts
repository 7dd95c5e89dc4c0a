// Node agents' identities without a client certificate (issue 13 §2), in the
// manner of `kubeadm join`: an admin makes a one-time join token for a node;
// the agent exchanges it (AgentService.Enroll) for the node's credential,
// which it sends as its bearer token from then on. Both are secrets of
// secrets.ts, stored only as their SHA-256 and shown once.
//
// - Enrolment consumes the token (single use, even under concurrent use) and
//   revokes the node's earlier credentials: the newest enrolment is the
//   node's agent.
// - Rotation gives a successor; the rotated credential keeps working until
//   the successor is first used (the agent has it, so a lost answer strands
//   no agent) and never past `rotationOverlapMs`.
// - Revocation ends every credential and unused join token of the node.
//
// Whatever takes a credential away NOTIFYs AGENT_CREDENTIALS_CHANNEL with the
// node in the same transaction, so every replica re-checks the streams it
// holds for that node at once (agent-api.ts).
import { randomUUID } from 'node:crypto';
import type { SecurityEvents } from '../../common/ops/security-events.js';
import { quoteId } from '../../common/quote.js';
import { notFound } from '../intent/errors.js';
import type { AgentCredentialRecord, AgentCredentialStore } from '../store/agent-credential-store.js';
import { digestMatches, digestOf, newSecret } from './secrets.js';

export { AGENT_CREDENTIALS_CHANNEL } from '../store/agent-credential-store.js';
export const JOIN_TOKEN_PREFIX = 'l3vpn_join_';
export const NODE_CREDENTIAL_PREFIX = 'l3vpn_node_';

/** Join token lifetimes an admin may ask for (seconds). */
export const JOIN_TOKEN_TTL = { min: 60, max: 86_400, default: 3600 } as const;

/** Why an agent's call was refused: the `reason` of its security event. */
export type RefusalReason =
  | 'no-credential'
  | 'unknown-credential'
  | 'revoked'
  | 'rotated'
  | 'unknown-join-token'
  | 'expired-join-token'
  | 'used-join-token'
  | 'wrong-node'
  | 'untrusted-certificate';

/** An agent call refused: unauthenticated (who is it?) or permission denied (not for that node). */
export class AgentRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly denied = false,
  ) {
    super(message);
    this.name = 'AgentRefused';
  }
}

/** The node a verified credential speaks for. */
export interface AgentPrincipal {
  node: string;
  credentialId: string;
}

export type CredentialValidity = { valid: true; retiresAt?: Date } | { valid: false; reason: RefusalReason };

export class AgentCredentials {
  private readonly overlapMs: number;
  private readonly clock: () => Date;

  constructor(
    private readonly store: AgentCredentialStore,
    private readonly events: SecurityEvents,
    options: { rotationOverlapMs?: number; clock?: () => Date } = {},
  ) {
    this.overlapMs = options.rotationOverlapMs ?? 300_000;
    this.clock = options.clock ?? (() => new Date());
  }

  private async mustExist(node: string): Promise<void> {
    if (!NODE_ID.test(node) || !(await this.store.nodeExists(node))) throw notFound('node', node);
  }

  /** A join token for `node`; its secret is returned this once. */
  async createJoinToken(node: string, ttlSeconds: number, createdBy: string): Promise<{ id: string; node: string; token: string; createdAt: Date; expiresAt: Date }> {
    await this.mustExist(node);
    const token = newSecret(JOIN_TOKEN_PREFIX);
    const createdAt = this.clock();
    const row = { id: randomUUID(), node, hash: digestOf(token).toString('hex'), createdBy, createdAt, expiresAt: new Date(createdAt.getTime() + ttlSeconds * 1000) };
    await this.store.addJoinToken(row);
    this.events.record('join-token-created', { principal: createdBy, node, joinToken: row.id, expiresAt: row.expiresAt.toISOString() });
    return { id: row.id, node, token, createdAt: row.createdAt, expiresAt: row.expiresAt };
  }

  /** Consumes the join token and answers the node's new credential (shown this once); earlier credentials of the node are revoked. */
  async enrol(node: string, joinToken: string, peer?: string): Promise<{ credential: string; principal: AgentPrincipal }> {
    if (!joinToken) throw new AgentRefused('no-credential', 'send the join token an admin made for this node (POST /v1/nodes/{id}/join-tokens)');
    const digest = digestOf(joinToken);
    const credential = newSecret(NODE_CREDENTIAL_PREFIX);
    const result = await this.store.transaction(async (tx) => {
      const now = this.clock();
      const row = await tx.joinTokenByHash(digest.toString('hex'));
      if (!row || !digestMatches(row.hash, digest)) throw new AgentRefused('unknown-join-token', 'unknown join token');
      if (row.node !== node) throw new AgentRefused('wrong-node', `this join token is not for node '${quoteId(node)}'`, true);
      if (row.revokedAt) throw new AgentRefused('revoked', 'this join token was revoked');
      if (row.usedAt) throw new AgentRefused('used-join-token', 'this join token has been used; ask an admin for a new one');
      if (row.expiresAt.getTime() <= now.getTime()) throw new AgentRefused('expired-join-token', `this join token expired at ${row.expiresAt.toISOString()}; ask an admin for a new one`);
      // Single use even when two agents race with it: only one update finds it unused.
      if (!(await tx.takeJoinToken(row.id, now))) throw new AgentRefused('used-join-token', 'this join token has been used; ask an admin for a new one');
      const replaced = await tx.revokeNodeCredentials(node, now);
      const id = randomUUID();
      await tx.addCredential({ id, node, hash: digestOf(credential).toString('hex'), createdAt: now, lastUsedAt: now });
      if (replaced) await tx.notifyChanged(node);
      return { principal: { node, credentialId: id }, joinTokenId: row.id, replaced };
    });
    this.events.record('agent-enrolled', { principal: node, node, joinToken: result.joinTokenId, credential: result.principal.credentialId, replacedCredentials: result.replaced, ...(peer ? { peer } : {}) });
    return { credential, principal: result.principal };
  }

  /** The node a credential speaks for; an AgentRefused when it is missing, unknown, revoked or rotated away. */
  async verify(credential: string | undefined): Promise<AgentPrincipal> {
    if (!credential) throw new AgentRefused('no-credential', 'send the node credential as authorization: Bearer <credential> (enrol with a join token to get one)');
    const digest = digestOf(credential);
    const row = await this.store.credentialByHash(digest.toString('hex'));
    if (!row || !digestMatches(row.hash, digest)) throw new AgentRefused('unknown-credential', 'unknown agent credential');
    const validity = validityOf(row, this.clock());
    if (!validity.valid) throw new AgentRefused(validity.reason, validity.reason === 'rotated' ? 'this credential was rotated; use its successor' : 'this agent credential was revoked');
    if (row.replacesId) await this.firstUse(row);
    else if (!row.lastUsedAt || this.clock().getTime() - row.lastUsedAt.getTime() > 60_000) {
      // Fails the call like the read above would: the database is the agent API's to answer with.
      await this.store.used(row.id, this.clock());
    }
    return { node: row.node, credentialId: row.id };
  }

  /** A rotation's successor is in use: its predecessor stops working now. */
  private async firstUse(row: AgentCredentialRecord): Promise<void> {
    await this.store.transaction(async (tx) => {
      const now = this.clock();
      await tx.used(row.id, now, true);
      if (await tx.revokeCredential(row.replacesId!, now)) await tx.notifyChanged(row.node);
    });
  }

  /** Whether a credential still works (an open stream asks again when its node's credentials change). */
  async validity(credentialId: string): Promise<CredentialValidity> {
    const row = await this.store.credentialById(credentialId);
    return row ? validityOf(row, this.clock()) : { valid: false, reason: 'revoked' };
  }

  /** A successor of the caller's credential (shown this once). A repeated rotation replaces an unused successor. */
  async rotate(principal: AgentPrincipal, peer?: string): Promise<string> {
    const credential = newSecret(NODE_CREDENTIAL_PREFIX);
    const id = randomUUID();
    await this.store.transaction(async (tx) => {
      const now = this.clock();
      await tx.revokeSuccessors(principal.credentialId, now);
      // The first rotation starts the overlap; a repeated one cannot extend it.
      await tx.retireBy(principal.credentialId, new Date(now.getTime() + this.overlapMs));
      await tx.addCredential({ id, node: principal.node, hash: digestOf(credential).toString('hex'), createdAt: now, replacesId: principal.credentialId });
    });
    this.events.record('agent-credential-rotated', { principal: principal.node, node: principal.node, credential: id, replaces: principal.credentialId, ...(peer ? { peer } : {}) });
    return credential;
  }

  /** Revokes every credential and unused join token of the node; its streams on every replica end at once. */
  async revokeNode(node: string, by: string): Promise<{ credentials: number; joinTokens: number }> {
    await this.mustExist(node);
    const counts = await this.store.transaction(async (tx) => {
      const now = this.clock();
      const credentials = await tx.revokeNodeCredentials(node, now);
      const joinTokens = await tx.revokeJoinTokens(node, now);
      await tx.notifyChanged(node);
      return { credentials, joinTokens };
    });
    this.events.record('agent-revoked', { principal: by, node, credentials: counts.credentials, joinTokens: counts.joinTokens });
    return counts;
  }
}

/** Node ids as the intent schemas allow them: anything else names no node (and never reaches a query). */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function validityOf(row: Pick<AgentCredentialRecord, 'revokedAt' | 'retiresAt'>, now: Date): CredentialValidity {
  if (row.revokedAt) return { valid: false, reason: 'revoked' };
  if (row.retiresAt && row.retiresAt.getTime() <= now.getTime()) return { valid: false, reason: 'rotated' };
  return row.retiresAt ? { valid: true, retiresAt: row.retiresAt } : { valid: true };
}
