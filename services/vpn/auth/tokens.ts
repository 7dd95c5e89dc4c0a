// API bearer tokens: secrets of auth/secrets.ts (prefix l3vpn_), stored as
// their SHA-256 and compared in constant time.
import { randomUUID } from 'node:crypto';
import type { ApiTokenRecord, ApiTokenStore } from '../store/token-store.js';
import type { Logger } from '../../common/logger.js';
import { IntentError } from '../intent/errors.js';
import { digestMatches, digestOf, newSecret } from './secrets.js';

export type Scope = 'read' | 'write' | 'admin';

/** Each scope includes the ones before it. */
const RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export const allows = (granted: Scope, needed: Scope) => RANK[granted] >= RANK[needed];

export interface TokenInfo {
  id: string;
  name: string;
  scope: Scope;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

export const TOKEN_PREFIX = 'l3vpn_';
export const MIN_TOKEN_LENGTH = 32;

export function newTokenSecret(): string {
  return newSecret(TOKEN_PREFIX);
}

function info(r: ApiTokenRecord): TokenInfo {
  const t: TokenInfo = { id: r.id, name: r.name, scope: r.scope, createdAt: r.createdAt.toISOString() };
  if (r.expiresAt) t.expiresAt = r.expiresAt.toISOString();
  if (r.lastUsedAt) t.lastUsedAt = r.lastUsedAt.toISOString();
  return t;
}

export class TokenStore {
  /** Verified tokens for a few seconds, so a busy client costs one hash and no query per request. */
  private readonly cache = new Map<string, { info: TokenInfo; until: number }>();

  constructor(
    private readonly store: ApiTokenStore,
    private readonly cacheMs = 5000,
    private readonly clock: () => number = Date.now,
    private readonly log?: Logger,
  ) {}

  /** Creates a token; the secret is returned this once and never again. */
  async create(name: string, scope: Scope, options: { secret?: string; expiresAt?: Date } = {}): Promise<{ token: string; info: TokenInfo }> {
    const token = options.secret ?? newTokenSecret();
    if (token.length < MIN_TOKEN_LENGTH) throw new IntentError('invalid', `a token has at least ${MIN_TOKEN_LENGTH} characters`, [{ pointer: '/token', detail: 'too short' }]);
    if (options.expiresAt && options.expiresAt.getTime() <= this.clock()) {
      throw new IntentError('invalid', `expiresAt ${options.expiresAt.toISOString()} is not in the future`, [{ pointer: '/expiresAt', detail: 'is not in the future' }]);
    }
    const existing = await this.store.byName(name);
    if (existing && !existing.revokedAt) throw new IntentError('exists', `a token named '${name}' exists`, [{ pointer: '/name', detail: 'is taken' }]);
    if (existing) await this.store.delete(existing.id);
    const row = await this.store.add({ id: randomUUID(), name, scope, hash: digestOf(token).toString('hex'), expiresAt: options.expiresAt ?? null });
    return { token, info: info(row) };
  }

  /** Makes sure `secret` is a valid admin token named `name` (the bootstrap token from a file or a Secret). */
  async ensure(name: string, scope: Scope, secret: string): Promise<void> {
    const hash = digestOf(secret).toString('hex');
    const row = await this.store.byHash(hash);
    if (row && !row.revokedAt) return;
    await this.store.deleteByNameOrHash(name, hash);
    try {
      await this.create(name, scope, { secret });
    } catch (err) {
      // Replicas started together with the same file: another one made it meanwhile.
      const made = await this.store.byHash(hash);
      if (made && !made.revokedAt) return;
      throw err;
    }
  }

  /** The token's holder, or an 'unauthenticated' IntentError. */
  async verify(token: string | undefined): Promise<TokenInfo> {
    if (!token) throw new IntentError('unauthenticated', 'send Authorization: Bearer <token>');
    const digest = digestOf(token);
    const key = digest.toString('hex');
    const cached = this.cache.get(key);
    const now = this.clock();
    if (cached && cached.until > now) return cached.info;
    const row = await this.store.byHash(key);
    const valid = row && digestMatches(row.hash, digest) && !row.revokedAt && (!row.expiresAt || row.expiresAt.getTime() > now);
    if (!valid) {
      this.cache.delete(key);
      throw new IntentError('unauthenticated', 'the token is unknown, revoked or expired');
    }
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > 60_000) {
      // lastUsedAt is bookkeeping: a failed write must not refuse a valid token, but it is logged, never silent.
      await this.store.touch(row.id, new Date(now)).catch((err: Error) => this.log?.warn({ err: err.message, token: row.id }, 'API token lastUsedAt not written'));
    }
    const i = info(row);
    if (this.cache.size > 10_000) this.cache.clear();
    // Never cached past its expiry: an expired token stops working to the millisecond.
    this.cache.set(key, { info: i, until: Math.min(now + this.cacheMs, row.expiresAt?.getTime() ?? Infinity) });
    return i;
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.store.active()).map(info);
  }

  async revoke(id: string): Promise<boolean> {
    const revoked = await this.store.revoke(id, new Date(this.clock()));
    this.cache.clear();
    return revoked;
  }
}
