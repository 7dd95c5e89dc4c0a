// Idempotency-Key rows (http/idempotency.ts keeps the rules: replay,
// mismatch, in flight, the lease of an abandoned claim).
import { Prisma, type PrismaClient } from '../../common/gen/prisma/client.js';

/** A claimed key: its request's hash and, once the request finished, the response. */
export interface IdempotencyRecord {
  requestHash: string;
  /** Null while the first request runs. */
  response: { status: number; headers: Record<string, string>; body: string } | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface IdempotencyKeyStore {
  /** Claims (token, key) for a request; false when the key is claimed already. */
  claim(tokenId: string, key: string, requestHash: string, expiresAt: Date): Promise<boolean>;
  read(tokenId: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Deletes the key's claim if it still expires at `expiresAt` (no one claimed it again meanwhile). */
  deleteExpired(tokenId: string, key: string, expiresAt: Date): Promise<void>;
  /** Deletes the key's claim if it is still unfinished (and, given `createdAt`, still that claim). */
  deleteUnfinished(tokenId: string, key: string, createdAt?: Date): Promise<void>;
  complete(tokenId: string, key: string, response: { status: number; headers: Record<string, string>; body: string }): Promise<void>;
  /** Deletes the claims that expired before `now`; how many. */
  purge(now: Date): Promise<number>;
}

export function prismaIdempotencyKeyStore(prisma: PrismaClient): IdempotencyKeyStore {
  return {
    claim: async (tokenId, key, requestHash, expiresAt) => {
      try {
        await prisma.idempotencyKey.create({ data: { tokenId, key, requestHash, expiresAt } });
        return true;
      } catch (err) {
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') return false;
        throw err;
      }
    },
    read: async (tokenId, key) => {
      const row = await prisma.idempotencyKey.findUnique({ where: { tokenId_key: { tokenId, key } } });
      if (!row) return undefined;
      const response = row.status === null ? null : { status: row.status, headers: (row.headers ?? {}) as Record<string, string>, body: String(row.body ?? '') };
      return { requestHash: row.requestHash, response, createdAt: row.createdAt, expiresAt: row.expiresAt };
    },
    deleteExpired: async (tokenId, key, expiresAt) => void (await prisma.idempotencyKey.deleteMany({ where: { tokenId, key, expiresAt } })),
    deleteUnfinished: async (tokenId, key, createdAt) =>
      void (await prisma.idempotencyKey.deleteMany({ where: { tokenId, key, status: null, ...(createdAt ? { createdAt } : {}) } })),
    complete: async (tokenId, key, { status, headers, body }) => void (await prisma.idempotencyKey.update({ where: { tokenId_key: { tokenId, key } }, data: { status, headers, body } })),
    purge: async (now) => (await prisma.idempotencyKey.deleteMany({ where: { expiresAt: { lt: now } } })).count,
  };
}
