import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiTokenRecord, ApiTokenStore } from '../store/token-store.js';
import { IntentError } from '../intent/errors.js';
import { allows, TokenStore } from './tokens.js';

/** API tokens in memory, with a count of the lookups by hash (what the cache saves). */
function memoryTokens(now: () => number) {
  const rows = new Map<string, ApiTokenRecord>();
  let lookups = 0;
  const store: ApiTokenStore = {
    byName: async (name) => [...rows.values()].find((r) => r.name === name),
    byHash: async (hash) => {
      lookups++;
      return [...rows.values()].find((r) => r.hash === hash);
    },
    add: async (t) => {
      const r: ApiTokenRecord = { ...t, createdAt: new Date(now()), lastUsedAt: null, revokedAt: null };
      rows.set(r.id, r);
      return r;
    },
    delete: async (id) => void rows.delete(id),
    deleteByNameOrHash: async (name, hash) => {
      for (const r of [...rows.values()]) if (r.name === name || r.hash === hash) rows.delete(r.id);
    },
    touch: async (id, at) => void (rows.get(id)!.lastUsedAt = at),
    active: async () => [...rows.values()].filter((r) => !r.revokedAt).sort((a, b) => a.name.localeCompare(b.name)),
    revoke: async (id, at) => {
      const r = rows.get(id);
      if (!r || r.revokedAt) return false;
      r.revokedAt = at;
      return true;
    },
  };
  return { store, rows, lookups: () => lookups };
}

async function refusal(p: Promise<unknown>): Promise<IntentError> {
  const err = await p.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IntentError, String(err));
  return err;
}

test('tokens: each scope includes the smaller ones and no larger one', () => {
  assert.ok(allows('admin', 'write') && allows('admin', 'read') && allows('write', 'read') && allows('read', 'read'));
  assert.ok(!allows('read', 'write') && !allows('write', 'admin') && !allows('read', 'admin'));
});

test('tokens: a created token verifies with its name and scope; the stored hash is not the secret', async () => {
  let now = 1_700_000_000_000;
  const m = memoryTokens(() => now);
  const tokens = new TokenStore(m.store, 5000, () => now);
  const { token, info } = await tokens.create('portal', 'write');
  assert.match(token, /^l3vpn_/);
  assert.ok(![...m.rows.values()].some((r) => r.hash.includes(token) || token.includes(r.hash)));
  const who = await tokens.verify(token);
  assert.deepEqual([who.id, who.name, who.scope], [info.id, 'portal', 'write']);
  assert.equal((await refusal(tokens.verify(token + 'x'))).kind, 'unauthenticated');
  assert.equal((await refusal(tokens.verify(undefined))).kind, 'unauthenticated');
});

test('tokens: an expired token stops working at its expiry, cached or not; an expiry in the past is refused', async () => {
  let now = 1_700_000_000_000;
  const m = memoryTokens(() => now);
  const tokens = new TokenStore(m.store, 5000, () => now);
  const err = await refusal(tokens.create('old', 'read', { expiresAt: new Date(now) }));
  assert.equal(err.kind, 'invalid');
  const { token } = await tokens.create('short', 'read', { expiresAt: new Date(now + 1000) });
  await tokens.verify(token);
  now += 999;
  await tokens.verify(token);
  now += 1;
  assert.equal((await refusal(tokens.verify(token))).kind, 'unauthenticated', 'expired to the millisecond although verified < 5 s ago');
});

test('tokens: verification is cached for cacheMs; a revocation on this replica ends it at once', async () => {
  let now = 1_700_000_000_000;
  const m = memoryTokens(() => now);
  const tokens = new TokenStore(m.store, 5000, () => now);
  const { token, info } = await tokens.create('ci', 'admin');
  await tokens.verify(token);
  await tokens.verify(token);
  assert.equal(m.lookups(), 1, 'the second verification comes from the cache');
  now += 5001;
  await tokens.verify(token);
  assert.equal(m.lookups(), 2, 'looked up again after cacheMs');
  assert.equal(await tokens.revoke(info.id), true);
  assert.equal((await refusal(tokens.verify(token))).kind, 'unauthenticated');
  assert.equal(await tokens.revoke(info.id), false, 'revoked once');
  assert.deepEqual(await tokens.list(), []);
});

test('tokens: lastUsedAt is written at most once a minute', async () => {
  let now = 1_700_000_000_000;
  const m = memoryTokens(() => now);
  const tokens = new TokenStore(m.store, 0, () => now);
  const { token, info } = await tokens.create('ci', 'read');
  await tokens.verify(token);
  assert.equal(m.rows.get(info.id)!.lastUsedAt?.getTime(), now);
  const first = now;
  now += 60_000;
  await tokens.verify(token);
  assert.equal(m.rows.get(info.id)!.lastUsedAt?.getTime(), first, 'not a minute yet');
  now += 1;
  await tokens.verify(token);
  assert.equal(m.rows.get(info.id)!.lastUsedAt?.getTime(), now);
});

test('tokens: a name is taken while its token is active and free once it is revoked; short secrets are refused', async () => {
  const now = 1_700_000_000_000;
  const m = memoryTokens(() => now);
  const tokens = new TokenStore(m.store, 5000, () => now);
  const { info } = await tokens.create('portal', 'read');
  assert.equal((await refusal(tokens.create('portal', 'read'))).kind, 'exists');
  await tokens.revoke(info.id);
  const again = await tokens.create('portal', 'write');
  assert.deepEqual((await tokens.list()).map((t) => [t.name, t.scope]), [['portal', 'write']]);
  assert.notEqual(again.info.id, info.id);
  assert.equal((await refusal(tokens.create('short', 'read', { secret: 'x'.repeat(31) }))).kind, 'invalid');
});

test('tokens: ensure makes the bootstrap secret a working token, replacing a token of that name, and leaves a valid one alone', async () => {
  const now = 1_700_000_000_000;
  const m = memoryTokens(() => now);
  const tokens = new TokenStore(m.store, 5000, () => now);
  const old = await tokens.create('bootstrap', 'read');
  const secret = 's'.repeat(40);
  await tokens.ensure('bootstrap', 'admin', secret);
  assert.equal((await tokens.verify(secret)).scope, 'admin');
  assert.equal((await refusal(tokens.verify(old.token))).kind, 'unauthenticated', 'the earlier token of that name is gone');
  const id = (await tokens.verify(secret)).id;
  await tokens.ensure('bootstrap', 'admin', secret);
  assert.deepEqual((await tokens.list()).map((t) => t.id), [id], 'a valid bootstrap token is kept');
});
