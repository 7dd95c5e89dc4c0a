// Idempotency-Key on POST (draft-ietf-httpapi-idempotency-key-header): the
// first request's response is stored under (token, key) and replayed for a
// repeat with the same method, path and body; another request under the same
// key gets 422, and one arriving while the first still runs gets 409.
// A claim is a lease: if the process running the first request dies, the row
// is never completed nor abandoned, so a claim older than IN_FLIGHT_LEASE_MS
// counts as abandoned and the key can be used again (else a portal could not
// finish a create it never got an answer to until the key expired).
import { createHash } from 'node:crypto';
import type { IdempotencyKeyStore } from '../store/idempotency-store.js';

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
    private readonly store: IdempotencyKeyStore,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async claim(tokenId: string, key: string, hash: string): Promise<Claim> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.store.claim(tokenId, key, hash, new Date(this.clock() + this.ttlMs))) return { kind: 'new' };
      const row = await this.store.read(tokenId, key);
      if (!row) continue;
      if (row.expiresAt.getTime() < this.clock()) {
        await this.store.deleteExpired(tokenId, key, row.expiresAt);
        continue;
      }
      if (row.requestHash !== hash) return { kind: 'mismatch' };
      if (row.response === null) {
        if (row.createdAt.getTime() > this.clock() - IN_FLIGHT_LEASE_MS) return { kind: 'in-flight' };
        await this.store.deleteUnfinished(tokenId, key, row.createdAt);
        continue;
      }
      return { kind: 'replay', ...row.response };
    }
    return { kind: 'in-flight' };
  }

  async complete(tokenId: string, key: string, status: number, headers: Record<string, string>, body: string): Promise<void> {
    await this.store.complete(tokenId, key, { status, headers, body });
  }

  /** A failed first attempt (5xx) frees the key for a retry. */
  async abandon(tokenId: string, key: string): Promise<void> {
    await this.store.deleteUnfinished(tokenId, key);
  }

  async purgeExpired(): Promise<number> {
    return this.store.purge(new Date(this.clock()));
  }
}
