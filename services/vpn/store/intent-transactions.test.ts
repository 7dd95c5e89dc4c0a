import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prisma, type PrismaClient } from '../../common/gen/prisma/client.js';
import { ReferenceViolation, UniqueViolation } from './errors.js';
import { prismaIntentTransactions, storeError } from './intent-transactions.js';

const known = (code: string, message: string, meta: Record<string, unknown> = {}) => new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: 'test', meta });

test('storeError: unique violations name their fields and whether the id is taken; foreign-key violations; anything else as it is', () => {
  const routerId = storeError(known('P2002', 'Invalid `tx.node.create()` invocation:\n\nUnique constraint failed on the fields: (`router_id`)', { target: ['router_id'] }));
  assert.ok(routerId instanceof UniqueViolation);
  assert.equal(routerId.onId, false);
  assert.equal(routerId.detail, 'Unique constraint failed on the fields: (`router_id`)');
  for (const meta of [{ target: ['id'] }, { target: 'node_pkey' }, { driverAdapterError: { cause: { constraint: { fields: ['id'] } } } }]) {
    assert.equal((storeError(known('P2002', 'x', meta)) as UniqueViolation).onId, true, JSON.stringify(meta));
  }
  assert.ok(storeError(known('P2003', 'Foreign key constraint violated')) instanceof ReferenceViolation);
  const other = known('P2025', 'not found');
  assert.equal(storeError(other), other);
  const plain = new Error('x');
  assert.equal(storeError(plain), plain);
});

/** A client whose transactions fail with these errors, one per attempt, then succeed. */
function failing(...errors: unknown[]) {
  let attempts = 0;
  const prisma = {
    $transaction: async (fn: (tx: unknown) => Promise<unknown>) => {
      attempts++;
      const err = errors.shift();
      if (err) throw err;
      return fn({});
    },
  } as unknown as PrismaClient;
  return { transactions: prismaIntentTransactions(prisma, { latest: async () => undefined }), attempts: () => attempts };
}

test('deadlocks and serialisation failures are retried, up to three attempts; other failures are not', async () => {
  const deadlock = known('P2010', 'Raw query failed. Code: `40P01`. Message: `deadlock detected`');
  const ok = failing(known('P2034', 'write conflict'), deadlock);
  assert.equal(await ok.transactions.write(async () => 'done'), 'done');
  assert.equal(ok.attempts(), 3);

  const exhausted = failing(deadlock, deadlock, deadlock, deadlock);
  await assert.rejects(exhausted.transactions.write(async () => 'done'), (e: unknown) => e === deadlock);
  assert.equal(exhausted.attempts(), 3);

  const unique = failing(known('P2002', 'Unique constraint failed on the fields: (`loopback`)', { target: ['loopback'] }));
  await assert.rejects(unique.transactions.write(async () => 'done'), (e: unknown) => e instanceof UniqueViolation && e.detail.includes('loopback'));
  assert.equal(unique.attempts(), 1);
});
