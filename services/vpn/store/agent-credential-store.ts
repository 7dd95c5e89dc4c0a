// Join token and agent credential rows (auth/agent-credentials.ts keeps the
// rules: single use, expiry, rotation hand-over, revocation), and the NOTIFY
// that tells every replica a node's credentials changed.
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { Tx } from './db.js';

export const AGENT_CREDENTIALS_CHANNEL = 'l3vpn_agent_credentials';

/** A join token: its secret only as the SHA-256 (hex). */
export interface JoinTokenRecord {
  id: string;
  node: string;
  hash: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

/** A node credential: its secret only as the SHA-256 (hex). */
export interface AgentCredentialRecord {
  id: string;
  node: string;
  hash: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** When a rotated-away credential stops working at the latest. */
  retiresAt: Date | null;
  /** Set on a rotation's successor until its first use: the credential it replaces. */
  replacesId: string | null;
}

export interface AgentCredentialStore {
  /** Runs `fn` in one transaction, over a store bound to it (inside one, `fn` just runs). */
  transaction<T>(fn: (store: AgentCredentialStore) => Promise<T>): Promise<T>;
  nodeExists(node: string): Promise<boolean>;
  addJoinToken(token: Omit<JoinTokenRecord, 'usedAt' | 'revokedAt'>): Promise<void>;
  joinTokenByHash(hash: string): Promise<JoinTokenRecord | undefined>;
  /** Marks the token used at `at` if it is neither used nor revoked; false when it was. */
  takeJoinToken(id: string, at: Date): Promise<boolean>;
  /** Revokes the node's join tokens that are neither used nor revoked; how many. */
  revokeJoinTokens(node: string, at: Date): Promise<number>;
  credentialByHash(hash: string): Promise<AgentCredentialRecord | undefined>;
  credentialById(id: string): Promise<AgentCredentialRecord | undefined>;
  addCredential(credential: Pick<AgentCredentialRecord, 'id' | 'node' | 'hash' | 'createdAt'> & Partial<Pick<AgentCredentialRecord, 'lastUsedAt' | 'replacesId'>>): Promise<void>;
  /** Revokes the node's credentials not revoked yet; how many. */
  revokeNodeCredentials(node: string, at: Date): Promise<number>;
  /** Revokes the credential unless it already is; how many (0 or 1). */
  revokeCredential(id: string, at: Date): Promise<number>;
  /** Revokes the unrevoked successors of the credential (replacesId = id); how many. */
  revokeSuccessors(id: string, at: Date): Promise<number>;
  /** Sets the credential's retiresAt unless it has one. */
  retireBy(id: string, retiresAt: Date): Promise<void>;
  /** Records a use of the credential at `at`; `settled` also ends its successor state (replacesId). */
  used(id: string, at: Date, settled?: boolean): Promise<void>;
  /** NOTIFY AGENT_CREDENTIALS_CHANNEL with the node, sent when the transaction commits. */
  notifyChanged(node: string): Promise<void>;
}

type JoinRow = Omit<JoinTokenRecord, 'node'> & { nodeId: string };
type CredentialRow = Omit<AgentCredentialRecord, 'node'> & { nodeId: string };

const joinToken = ({ nodeId, ...r }: JoinRow): JoinTokenRecord => ({ ...r, node: nodeId });
const credential = ({ nodeId, ...r }: CredentialRow): AgentCredentialRecord => ({ ...r, node: nodeId });

/** Over the client; `transaction` opens a Prisma interactive transaction. */
export function prismaAgentCredentialStore(prisma: PrismaClient): AgentCredentialStore {
  return over(prisma, (fn) => prisma.$transaction((tx) => fn(over(tx))));
}

function over(db: PrismaClient | Tx, transaction?: <T>(fn: (store: AgentCredentialStore) => Promise<T>) => Promise<T>): AgentCredentialStore {
  const store: AgentCredentialStore = {
    transaction: transaction ?? ((fn) => fn(store)),
    nodeExists: async (node) => (await db.node.findUnique({ where: { id: node }, select: { id: true } })) !== null,
    addJoinToken: async ({ node, ...t }) => void (await db.joinToken.create({ data: { ...t, nodeId: node } })),
    joinTokenByHash: async (hash) => {
      const row = await db.joinToken.findUnique({ where: { hash } });
      return row ? joinToken(row) : undefined;
    },
    takeJoinToken: async (id, at) => (await db.joinToken.updateMany({ where: { id, usedAt: null, revokedAt: null }, data: { usedAt: at } })).count === 1,
    revokeJoinTokens: async (node, at) => (await db.joinToken.updateMany({ where: { nodeId: node, usedAt: null, revokedAt: null }, data: { revokedAt: at } })).count,
    credentialByHash: async (hash) => {
      const row = await db.agentCredential.findUnique({ where: { hash } });
      return row ? credential(row) : undefined;
    },
    credentialById: async (id) => {
      const row = await db.agentCredential.findUnique({ where: { id } });
      return row ? credential(row) : undefined;
    },
    addCredential: async ({ node, ...c }) => void (await db.agentCredential.create({ data: { ...c, nodeId: node } })),
    revokeNodeCredentials: async (node, at) => (await db.agentCredential.updateMany({ where: { nodeId: node, revokedAt: null }, data: { revokedAt: at } })).count,
    revokeCredential: async (id, at) => (await db.agentCredential.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } })).count,
    revokeSuccessors: async (id, at) => (await db.agentCredential.updateMany({ where: { replacesId: id, revokedAt: null }, data: { revokedAt: at } })).count,
    retireBy: async (id, retiresAt) => void (await db.agentCredential.updateMany({ where: { id, retiresAt: null }, data: { retiresAt } })),
    used: async (id, at, settled) => void (await db.agentCredential.update({ where: { id }, data: settled ? { replacesId: null, lastUsedAt: at } : { lastUsedAt: at } })),
    notifyChanged: async (node) => void (await db.$executeRaw`SELECT pg_notify(${AGENT_CREDENTIALS_CHANNEL}, ${node})`),
  };
  return store;
}
