// Idempotency-Key on POST (draft-ietf-httpapi-idempotency-key-header): the
// first request's response is stored under (token, key) and replayed for a
// repeat with the same method, path and body; another request under the same
// key gets 422, and one arriving while the first still runs gets 409.
// A claim is a lease: if the process running the first request dies, the row
// is never completed nor abandoned, so a claim older than IN_FLIGHT_LEASE_MS
// counts as abandoned and the key can be used again (else a portal could not
// finish a create it never got an answer to until the key expired).
import { createHash } from 'node:crypto';
import { Prisma, type PrismaClient } from '../../common/gen/prisma/client.js';

export type Claim =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; headers: Record<string, string>; body: string }
  | { kind: 'mismatch' }
  | { kind: 'in-flight' };

/** JSON with sorted keys, so the same body hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${canonical(body)}`).digest('hex');
}

/** Longer than any write request runs (they are single transactions). */
export const IN_FLIGHT_LEASE_MS = 30_000;

export class IdempotencyStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs: number,
  ) {}

  async claim(tokenId: string, key: string, hash: string): Promise<Claim> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.prisma.idempotencyKey.create({ data: { tokenId, key, requestHash: hash, expiresAt: new Date(Date.now() + this.ttlMs) } });
        return { kind: 'new' };
      } catch (err) {
        if (!(err instanceof Prisma.PrismaClientKnownRequestError) || err.code !== 'P2002') throw err;
      }
      const row = await this.prisma.idempotencyKey.findUnique({ where: { tokenId_key: { tokenId, key } } });
      if (!row) continue;
      if (row.expiresAt.getTime() < Date.now()) {
        await this.prisma.idempotencyKey.deleteMany({ where: { tokenId, key, expiresAt: row.expiresAt } });
        continue;
      }
      if (row.requestHash !== hash) return { kind: 'mismatch' };
      if (row.status === null) {
        if (row.createdAt.getTime() > Date.now() - IN_FLIGHT_LEASE_MS) return { kind: 'in-flight' };
        await this.prisma.idempotencyKey.deleteMany({ where: { tokenId, key, status: null, createdAt: row.createdAt } });
        continue;
      }
      return { kind: 'replay', status: row.status, headers: (row.headers ?? {}) as Record<string, string>, body: String(row.body ?? '') };
    }
    return { kind: 'in-flight' };
  }

  async complete(tokenId: string, key: string, status: number, headers: Record<string, string>, body: string): Promise<void> {
    await this.prisma.idempotencyKey.update({ where: { tokenId_key: { tokenId, key } }, data: { status, headers, body } });
  }

  /** A failed first attempt (5xx) frees the key for a retry. */
  async abandon(tokenId: string, key: string): Promise<void> {
    await this.prisma.idempotencyKey.deleteMany({ where: { tokenId, key, status: null } });
  }

  async purgeExpired(): Promise<number> {
    return (await this.prisma.idempotencyKey.deleteMany({ where: { expiresAt: { lt: new Date() } } })).count;
  }
}
