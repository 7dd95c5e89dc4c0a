// API token rows (auth/tokens.ts keeps the rules: scopes, expiry, the cache).
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { Scope } from '../auth/tokens.js';

/** A stored API token: its secret only as the SHA-256 (hex). */
export interface ApiTokenRecord {
  id: string;
  name: string;
  scope: Scope;
  hash: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiTokenStore {
  byName(name: string): Promise<ApiTokenRecord | undefined>;
  byHash(hash: string): Promise<ApiTokenRecord | undefined>;
  /** Stores a new token (createdAt is the store's now); answers it as stored. */
  add(token: { id: string; name: string; scope: Scope; hash: string; expiresAt: Date | null }): Promise<ApiTokenRecord>;
  delete(id: string): Promise<void>;
  /** Deletes any token with this name or this hash, revoked or not. */
  deleteByNameOrHash(name: string, hash: string): Promise<void>;
  touch(id: string, at: Date): Promise<void>;
  /** Tokens not revoked, by name. */
  active(): Promise<ApiTokenRecord[]>;
  /** Revokes the token unless it already is; false when there was none to revoke. */
  revoke(id: string, at: Date): Promise<boolean>;
}

type Row = { id: string; name: string; scope: 'READ' | 'WRITE' | 'ADMIN'; hash: string; createdAt: Date; expiresAt: Date | null; lastUsedAt: Date | null; revokedAt: Date | null };

const record = (r: Row): ApiTokenRecord => ({ ...r, scope: r.scope.toLowerCase() as Scope });
const orUndefined = (r: Row | null) => (r ? record(r) : undefined);

export function prismaApiTokenStore(prisma: PrismaClient): ApiTokenStore {
  return {
    byName: async (name) => orUndefined(await prisma.apiToken.findUnique({ where: { name } })),
    byHash: async (hash) => orUndefined(await prisma.apiToken.findUnique({ where: { hash } })),
    add: async (t) => record(await prisma.apiToken.create({ data: { ...t, scope: t.scope.toUpperCase() as Row['scope'] } })),
    delete: async (id) => void (await prisma.apiToken.delete({ where: { id } })),
    deleteByNameOrHash: async (name, hash) => void (await prisma.apiToken.deleteMany({ where: { OR: [{ name }, { hash }] } })),
    touch: async (id, at) => void (await prisma.apiToken.update({ where: { id }, data: { lastUsedAt: at } })),
    active: async () => (await prisma.apiToken.findMany({ where: { revokedAt: null }, orderBy: { name: 'asc' } })).map(record),
    revoke: async (id, at) => (await prisma.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } })).count > 0,
  };
}
