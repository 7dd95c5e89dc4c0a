// The lease on once-per-deployment work (services/common/db/lease.ts)
// against a real PostgreSQL: one holder at a time, sampled every few
// milliseconds through every hand-over; a holder whose connection is cut
// stops its work and the lease is owned again within seconds (by whoever
// tries first: the cut replica may take it back); a holder that stops
// hands over at the next try; other names and other schemas are other
// leases. A replica killed outright: test/e2e/replicas.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Lease } from '../../services/common/db/lease.js';
import { createLogger } from '../../services/common/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';
import { eventually } from '../support/eventually.js';

const log = createLogger('lease-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const RETRY_MS = 200;

let db: TestDatabase;
let sql: pg.Client;
before(async () => {
  db = await createTestDatabase('lease');
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
});
after(async () => {
  await sql?.end();
  await db?.drop();
});

/** A replica's lease and what its work saw: whether it ran, and each start and stop. */
function replica(name: string, url = db.url) {
  const events: string[] = [];
  let working = false;
  const lease = new Lease({
    databaseUrl: url,
    name,
    log,
    retryMs: RETRY_MS,
    heartbeatMs: 100,
    onAcquired: () => {
      working = true;
      events.push('start');
    },
    onLost: () => {
      working = false;
      events.push('stop');
    },
  });
  lease.start();
  return { lease, events, working: () => working };
}

/** Samples every 5 ms until `until` says done: how many replicas worked at once, at most. */
async function mostAtOnce(replicas: { working(): boolean }[], until: () => boolean, timeoutMs: number): Promise<number> {
  let most = 0;
  const deadline = Date.now() + timeoutMs;
  while (!until()) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
    most = Math.max(most, replicas.filter((r) => r.working()).length);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Math.max(most, replicas.filter((r) => r.working()).length);
}

test('three replicas: one works; its connection cut, it stops its work and the lease is owned again within seconds; a clean stop hands over at the next try; never two at once', async () => {
  const replicas = [replica('periodic'), replica('periodic'), replica('periodic')];
  try {
    await eventually('one owner', async () => replicas.filter((r) => r.lease.held).length === 1, { timeoutMs: 5000, intervalMs: 20 });
    // Long enough for every other replica to have tried several times.
    const settled = Date.now() + 5 * RETRY_MS;
    assert.equal(await mostAtOnce(replicas, () => Date.now() > settled, 5000), 1);
    const first = replicas.find((r) => r.lease.held)!;
    assert.deepEqual(first.events, ['start']);

    // The owner's session ends on the server (as when its host drops off the network and the server notices).
    const { rows } = await sql.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    assert.equal(rows.length, 1, 'one advisory lock, held by the owner');
    const cut = Date.now();
    await sql.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    const most = await mostAtOnce(replicas, () => first.events.length >= 2 && replicas.some((r) => r.lease.held), 10_000);
    const handover = Date.now() - cut;
    assert.equal(most, 1, 'the old owner stopped its work before (or as) an owner started it again');
    assert.deepEqual(first.events.slice(0, 2), ['start', 'stop']);
    assert.ok(handover < 3000, `owned again after ${handover} ms`);
    const settledAgain = Date.now() + 5 * RETRY_MS;
    assert.equal(await mostAtOnce(replicas, () => Date.now() > settledAgain, 5000), 1);

    // The owner stops (a rolling restart): its work stops, and another starts at its next try.
    const second = replicas.find((r) => r.lease.held)!;
    const stopping = Date.now();
    await second.lease.stop();
    assert.deepEqual(second.events.slice(-2), ['start', 'stop']);
    await eventually('a third owner', async () => replicas.some((r) => r !== second && r.lease.held), { timeoutMs: 5000, intervalMs: 10 });
    assert.ok(Date.now() - stopping < 2 * RETRY_MS + 500, `taken over ${Date.now() - stopping} ms after a clean stop`);
  } finally {
    await Promise.all(replicas.map((r) => r.lease.stop()));
  }
});

test('another name is another lease; the same name in another schema (another deployment on the server) too', async () => {
  await sql.query('CREATE SCHEMA IF NOT EXISTS other');
  const url = new URL(db.url);
  url.searchParams.set('schema', 'other');
  const replicas = [replica('periodic'), replica('sweeps'), replica('periodic', url.toString())];
  try {
    await eventually('each its own owner', async () => replicas.every((r) => r.lease.held), { timeoutMs: 5000, intervalMs: 20 });
  } finally {
    await Promise.all(replicas.map((r) => r.lease.stop()));
  }
});
