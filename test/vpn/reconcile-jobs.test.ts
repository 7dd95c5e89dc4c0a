// Reconcile jobs: one per node (job id = node) so bursts merge; the outbox
// relay queues what a crash left unsent; the worker marks resources active.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pg from 'pg';
import { testRedis } from '../support/services.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';
import { pe, siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

describe('reconcile jobs (no worker: the queue is inspected)', () => {
  let h: VpnHarness;
  let sql: pg.Client;
  let redis: Redis;
  before(async () => {
    h = await startVpnHarness({ VPN_INVENTORY_SETTLE_MS: '2000' });
    redis = new Redis((await testRedis()).url);
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
  });
  after(async () => {
    redis?.disconnect();
    await sql?.end();
    await h?.stop();
  });

  test('a burst of writes to one node queues one job with the node as its id', async () => {
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    await h.vpn.queue.queue.drain(true);
    for (let i = 1; i <= 6; i++) assert.equal((await h.call('POST', '/v1/sites', { body: siteBody(`s${i}`, 'acme', 'pe1', i) })).status, 201);
    const jobs = await h.vpn.queue.queue.getJobs(['waiting', 'delayed', 'prioritized']);
    assert.deepEqual(jobs.map((j) => [j.id, j.data.node]), [['pe1', 'pe1']]);
    const unsent = await sql.query("SELECT count(*)::int AS n FROM outbox WHERE aggregate = 'site' AND sent_at IS NULL");
    assert.equal(unsent.rows[0].n, 0, 'each row is marked sent once its job is queued');
    const rows = await sql.query("SELECT nodes FROM outbox WHERE aggregate = 'site' ORDER BY id");
    assert.equal(rows.rows.length, 6);
    assert.ok(rows.rows.every((r: { nodes: string[] }) => r.nodes.join() === 'pe1'));
  });

  test('a link change reconciles every node (SR paths depend on the whole topology), after a settle time that a burst extends', async () => {
    await h.vpn.queue.queue.drain(true);
    const r = await h.call('POST', '/v1/links', {
      body: { id: 'pe1-pe2', a: { node: 'pe1', interface: 'eth0', address: '10.255.0.0/31' }, b: { node: 'pe2', interface: 'eth0', address: '10.255.0.1/31' } },
    });
    assert.equal(r.status, 201);
    const delayed = async () => (await h.vpn.queue.queue.getJobs(['delayed'])).sort((a, b) => a.id!.localeCompare(b.id!));
    const first = await delayed();
    assert.deepEqual(first.map((j) => j.id), ['pe1', 'pe2'], 'one job per node, held back');
    assert.deepEqual(await h.vpn.queue.queue.getJobs(['waiting']), []);
    const due = async () => Number(await redis.zscore(h.vpn.queue.queue.keys.delayed!, 'pe1'));
    const dueBefore = await due();
    // The hold runs from each change's time: the second one must come at a later millisecond.
    const firstAt = Date.now();
    await eventually('a later millisecond', () => Date.now() > firstAt, { intervalMs: 1 });
    const again = await h.call('PATCH', '/v1/links/pe1-pe2', { body: { igpMetric: 20 } });
    assert.equal(again.status, 200);
    assert.deepEqual((await delayed()).map((j) => j.id), ['pe1', 'pe2'], 'the second change merged into the held-back jobs');
    assert.ok((await due()) > dueBefore, 'and held them back further');
    const site = await h.call('POST', '/v1/sites', { body: siteBody('core', 'acme', 'pe1', 9, { interface: 'eth0', vlan: undefined }) });
    assert.deepEqual([site.status, site.body.errors?.[0]?.pointer], [409, '#/interface']);
  });

  test('the relay queues outbox rows a crash left unsent', async () => {
    // Rows the earlier tests left unsent (their node's job was running) are not this test's.
    await sql.query('UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL');
    await h.vpn.queue.queue.drain(true);
    // As if the process died between commit and enqueue.
    await sql.query(`INSERT INTO outbox (aggregate, aggregate_id, action, nodes, payload, created_at)
                     VALUES ('site', 'lost', 'create', ARRAY['pe2'], '{}', now() - interval '1 minute')`);
    assert.equal(await h.vpn.relay.runOnce(), 1);
    const jobs = await h.vpn.queue.queue.getJobs(['waiting']);
    assert.deepEqual(jobs.map((j) => j.id), ['pe2']);
    const row = await sql.query("SELECT sent_at FROM outbox WHERE aggregate_id = 'lost'");
    assert.ok(row.rows[0].sent_at);
    assert.equal(await h.vpn.relay.runOnce(), 0, 'nothing left to send');
  });
});

describe('changes that find their node\'s job running', () => {
  let h: ReconcileHarness;
  let sql: pg.Client;
  before(async () => {
    // No relay rounds in this test: only the end of the running job may queue the change again.
    h = await startReconcileHarness({ VPN_WORKER_CONCURRENCY: '2', VPN_OUTBOX_RELAY_MS: '600000', VPN_INVENTORY_SETTLE_MS: '0' });
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
  });
  after(async () => {
    h.vpn.reconciler.afterAllocation = undefined;
    await sql?.end();
    await h?.stop();
  });

  test('collapse into one more job, queued as soon as the running one finishes', async () => {
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    await eventually('the node to be reconciled', async () => (await h.call('GET', '/v1/nodes/pe1')).body.status.state === 'active');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let runs = 0;
    let held = false;
    h.vpn.reconciler.afterAllocation = async (node) => {
      if (node !== 'pe1') return;
      runs++;
      if (!held) {
        held = true;
        await gate;
      }
    };
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s1', 'acme', 'pe1', 1) })).status, 201);
    await eventually('the job to hold', async () => runs > 0 && (await h.vpn.queue.queue.getJobState('pe1')) === 'active');
    const before = runs;
    for (let i = 2; i <= 4; i++) assert.equal((await h.call('POST', '/v1/sites', { body: siteBody(`s${i}`, 'acme', 'pe1', i) })).status, 201);
    const unsent = await sql.query("SELECT nodes FROM outbox WHERE sent_at IS NULL AND aggregate_id IN ('s2', 's3', 's4')");
    assert.deepEqual(unsent.rows.map((r: { nodes: string[] }) => r.nodes), [['pe1'], ['pe1'], ['pe1']], 'the running job may have missed them');
    release();
    await eventually('every change to be queued and done', async () => {
      const left = (await sql.query('SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL')).rows[0].n;
      const state = await h.vpn.queue.queue.getJobState('pe1');
      return left === 0 && state === 'unknown' && runs > before;
    });
    assert.equal(runs - before, 1, 'three changes during the run made exactly one more run');
    const vrf = (await h.vpn.store.latest('pe1'))!.state.vrfs.find((v) => v.name === 'acme')!;
    assert.equal(vrf.interfaces.length, 4, 'and it saw all of them');
  });
});

describe('reconcile worker and required If-Match', () => {
  let h: VpnHarness;
  before(async () => {
    h = await startReconcileHarness({ VPN_WORKER_CONCURRENCY: '2', VPN_REQUIRE_IF_MATCH: 'true' });
  });
  after(async () => h?.stop());

  test('the worker takes the node, its site, VRF and VPN to active', async () => {
    assert.equal((await h.call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('paris', 'acme', 'pe1', 1) })).status, 201);
    let states: string[] = [];
    await eventually(
      () => `node, site, VRF and VPN active; they are ${states.join(', ')}`,
      async () => {
        states = await Promise.all(['/v1/nodes/pe1', '/v1/sites/paris', '/v1/vrfs/acme:pe1', '/v1/vpns/acme'].map(async (p) => (await h.call('GET', p)).body.status.state));
        return states.every((s) => s === 'active');
      },
    );
  });

  test('PUT, PATCH and DELETE without If-Match are 428 when it is required', async () => {
    const r = await h.call('PATCH', '/v1/vpns/acme', { body: { description: 'x' } });
    assert.equal(r.status, 428);
    assert.equal(r.body.type, '/problems/precondition-required');
    assert.equal((await h.call('DELETE', '/v1/sites/paris')).status, 428);
    assert.equal((await h.call('PATCH', '/v1/vpns/acme', { body: { description: 'x' }, headers: { 'if-match': '"1"' } })).status, 200);
  });
});
