import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IdempotencyKeyStore, IdempotencyRecord } from '../store/idempotency-store.js';
import { IdempotencyStore, IN_FLIGHT_LEASE_MS, requestHash } from './idempotency.js';

/** Idempotency keys in memory, created at the test's clock. */
function memoryKeys(clock: { now: number }) {
  const rows = new Map<string, IdempotencyRecord>();
  const id = (t: string, k: string) => `${t} ${k}`;
  const store: IdempotencyKeyStore = {
    claim: async (t, k, requestHash, expiresAt) => {
      if (rows.has(id(t, k))) return false;
      rows.set(id(t, k), { requestHash, response: null, createdAt: new Date(clock.now), expiresAt });
      return true;
    },
    read: async (t, k) => rows.get(id(t, k)),
    deleteExpired: async (t, k, expiresAt) => {
      if (rows.get(id(t, k))?.expiresAt.getTime() === expiresAt.getTime()) rows.delete(id(t, k));
    },
    deleteUnfinished: async (t, k, createdAt) => {
      const r = rows.get(id(t, k));
      if (r && r.response === null && (!createdAt || r.createdAt.getTime() === createdAt.getTime())) rows.delete(id(t, k));
    },
    complete: async (t, k, response) => void (rows.get(id(t, k))!.response = response),
    purge: async (now) => {
      let n = 0;
      for (const [key, r] of rows) if (r.expiresAt < now && rows.delete(key)) n++;
      return n;
    },
  };
  return { store, rows };
}

const HOUR = 3600_000;

function setup() {
  const clock = { now: 1_700_000_000_000 };
  const m = memoryKeys(clock);
  return { clock, ...m, keys: new IdempotencyStore(m.store, 24 * HOUR, () => clock.now) };
}

test('idempotency: the same body in any key order hashes the same; another body, method or path does not', () => {
  const h = requestHash('POST', '/v1/vpns', { id: 'red', customer: 'acme', routeTargets: { import: ['65000:1'] } });
  assert.equal(requestHash('POST', '/v1/vpns', { routeTargets: { import: ['65000:1'] }, customer: 'acme', id: 'red' }), h);
  assert.notEqual(requestHash('POST', '/v1/vpns', { id: 'red', customer: 'acme2', routeTargets: { import: ['65000:1'] } }), h);
  assert.notEqual(requestHash('POST', '/v1/vpns', { id: 'red', customer: 'acme', routeTargets: { import: ['65000:2'] } }), h);
  assert.notEqual(requestHash('POST', '/v1/sites', { id: 'red', customer: 'acme', routeTargets: { import: ['65000:1'] } }), h);
  assert.notEqual(requestHash('POST', '/v1/vpns', [1, 2]), requestHash('POST', '/v1/vpns', [2, 1]), 'array order counts');
});

test('idempotency: a repeat of a finished request replays its response; another body under the key is a mismatch', async () => {
  const { keys } = setup();
  assert.deepEqual(await keys.claim('tok', 'k1', 'h1'), { kind: 'new' });
  await keys.complete('tok', 'k1', 201, { location: '/v1/vpns/red' }, '{"id":"red"}');
  assert.deepEqual(await keys.claim('tok', 'k1', 'h1'), { kind: 'replay', status: 201, headers: { location: '/v1/vpns/red' }, body: '{"id":"red"}' });
  assert.deepEqual(await keys.claim('tok', 'k1', 'h2'), { kind: 'mismatch' });
  assert.deepEqual(await keys.claim('other-token', 'k1', 'h2'), { kind: 'new' }, 'keys are per token');
});

test('idempotency: a repeat while the first runs is in flight until the lease ends, then the key is free', async () => {
  const { keys, clock } = setup();
  await keys.claim('tok', 'k1', 'h1');
  assert.deepEqual(await keys.claim('tok', 'k1', 'h1'), { kind: 'in-flight' });
  clock.now += IN_FLIGHT_LEASE_MS - 1;
  assert.deepEqual(await keys.claim('tok', 'k1', 'h1'), { kind: 'in-flight' });
  clock.now += 2;
  assert.deepEqual(await keys.claim('tok', 'k1', 'h1'), { kind: 'new' }, 'the first claim was abandoned (its process died)');
  assert.deepEqual(await keys.claim('tok', 'k1', 'h2'), { kind: 'mismatch' }, 'a different body is refused even while in flight');
});

test('idempotency: an abandoned first attempt (5xx) frees the key; a finished one is not abandoned', async () => {
  const { keys } = setup();
  await keys.claim('tok', 'k1', 'h1');
  await keys.abandon('tok', 'k1');
  assert.deepEqual(await keys.claim('tok', 'k1', 'h2'), { kind: 'new' });
  await keys.complete('tok', 'k1', 201, {}, '{}');
  await keys.abandon('tok', 'k1');
  assert.equal((await keys.claim('tok', 'k1', 'h2')).kind, 'replay');
});

test('idempotency: a key is kept for its lifetime; after it, the key is new again and purged', async () => {
  const { keys, clock, rows } = setup();
  await keys.claim('tok', 'k1', 'h1');
  await keys.complete('tok', 'k1', 201, {}, '{}');
  await keys.claim('tok', 'k2', 'h1');
  clock.now += 24 * HOUR;
  assert.equal((await keys.claim('tok', 'k1', 'h2')).kind, 'mismatch', 'still kept at its expiry');
  clock.now += 1;
  assert.equal(await keys.purgeExpired(), 2);
  assert.equal(rows.size, 0);
  await keys.claim('tok', 'k3', 'h1');
  clock.now += 24 * HOUR + 1;
  assert.deepEqual(await keys.claim('tok', 'k3', 'h2'), { kind: 'new' }, 'an expired key not purged yet is claimed anew');
});
