// Reconcile jobs: one per node (job id = node) so bursts merge; the outbox
// relay queues what a crash left unsent; the worker marks resources active.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startReconcileHarness } from './reconcile-support.js';
import { pe, siteBody, startVpnHarness, vpnBody, type VpnHarness } from './support.js';

describe('reconcile jobs (no worker: the queue is inspected)', () => {
  let h: VpnHarness;
  let sql: pg.Client;
  before(async () => {
    h = await startVpnHarness();
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
  });
  after(async () => {
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

  test('a link change reconciles every node (SR paths depend on the whole topology)', async () => {
    await h.vpn.queue.queue.drain(true);
    const r = await h.call('POST', '/v1/links', {
      body: { id: 'pe1-pe2', a: { node: 'pe1', interface: 'eth0', address: '10.255.0.0/31' }, b: { node: 'pe2', interface: 'eth0', address: '10.255.0.1/31' } },
    });
    assert.equal(r.status, 201);
    const ids = (await h.vpn.queue.queue.getJobs(['waiting'])).map((j) => j.id).sort();
    assert.deepEqual(ids, ['pe1', 'pe2']);
    const site = await h.call('POST', '/v1/sites', { body: siteBody('core', 'acme', 'pe1', 9, { interface: 'eth0', vlan: undefined }) });
    assert.deepEqual([site.status, site.body.errors?.[0]?.pointer], [409, '#/interface']);
  });

  test('the relay queues outbox rows a crash left unsent', async () => {
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
    const deadline = Date.now() + 10_000;
    let states: string[] = [];
    while (Date.now() < deadline) {
      states = await Promise.all(['/v1/nodes/pe1', '/v1/sites/paris', '/v1/vrfs/acme:pe1', '/v1/vpns/acme'].map(async (p) => (await h.call('GET', p)).body.status.state));
      if (states.every((s) => s === 'active')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(states, ['active', 'active', 'active', 'active']);
  });

  test('PUT, PATCH and DELETE without If-Match are 428 when it is required', async () => {
    const r = await h.call('PATCH', '/v1/vpns/acme', { body: { description: 'x' } });
    assert.equal(r.status, 428);
    assert.equal(r.body.type, '/problems/precondition-required');
    assert.equal((await h.call('DELETE', '/v1/sites/paris')).status, 428);
    assert.equal((await h.call('PATCH', '/v1/vpns/acme', { body: { description: 'x' }, headers: { 'if-match': '"1"' } })).status, 200);
  });
});
