// One bad record fails only itself: a node whose loopback or router id
// cannot be parsed, written straight into the database (the API refuses
// it), fails with the reason; every other node's reconcile goes on and ends
// active, and dry runs answer as usual. The periodic resync finds the
// record, which no API write announced.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';
import { siteBody, vpnBody } from './support.js';

const node = (id: string, n: number) => ({ id, role: 'PE', routerId: `10.251.0.${n}`, asNumber: 65000, nodeSidIndex: n });
const link = (id: string, a: string, b: string, n: number) => ({
  id,
  a: { node: a, interface: `core-${b}`, address: `10.250.${n}.0/31` },
  b: { node: b, interface: `core-${a}`, address: `10.250.${n}.1/31` },
});

describe('a bad node record', () => {
  let h: ReconcileHarness;
  let sql: pg.Client;
  const get = async (path: string) => (await h.call('GET', path)).body;
  const statusOf = async (path: string) => (await get(path)).status as { state: string; reason?: string };

  before(async () => {
    h = await startReconcileHarness({ VPN_RESYNC_SECONDS: '1', VPN_RETRY_MAX_SECONDS: '2', VPN_INVENTORY_SETTLE_MS: '50' });
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
  });
  after(async () => {
    await sql?.end();
    await h?.stop();
  });

  test('fails alone with the reason; every other node goes on to active, and dry runs answer', async () => {
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: node(id, n) })).status, 201);
    assert.equal((await h.call('POST', '/v1/links', { body: link('pe1-pe2', 'pe1', 'pe2', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    for (const [i, pe] of ['pe1', 'pe2'].entries()) assert.equal((await h.call('POST', '/v1/sites', { body: siteBody(`s-${pe}`, 'acme', pe, i + 1) })).status, 201);
    await eventually('pe1 and pe2 active', async () => (await statusOf('/v1/nodes/pe1')).state === 'active' && (await statusOf('/v1/nodes/pe2')).state === 'active');

    // Records the API refuses, as an older version or a hand-made SQL fix left them: a zone id, and no address at all; one with a link to pe1.
    await sql.query(`INSERT INTO node (id, name, role, router_id, loopback, as_number, transport, status, updated_at) VALUES
      ('zoned', 'zoned', 'PE', '10.251.0.11', 'fe80::1%eth0', 65000, 'SR', 'PENDING', now()),
      ('garbled', 'garbled', 'P', 'garbage', 'garbage', 65000, 'SR', 'PENDING', now())`);
    await sql.query(`INSERT INTO link (id, a_node_id, a_interface, a_address, b_node_id, b_interface, b_address, igp_metric, status, updated_at)
      VALUES ('pe1-zoned', 'pe1', 'core-zoned', '10.250.9.0/31', 'zoned', 'core-pe1', '10.250.9.1/31', 10, 'PENDING', now())`);

    // No API write queued them: the periodic resync does.
    const zoned = await eventually('the zoned node to fail with its reason', async () => {
      const s = await statusOf('/v1/nodes/zoned');
      return s.state === 'failed' && s;
    });
    assert.match(zoned.reason!, /loopback 'fe80::1%eth0' is not an IPv4 or IPv6 address/);
    const garbled = await eventually('the garbled node to fail with its reason', async () => {
      const s = await statusOf('/v1/nodes/garbled');
      return s.state === 'failed' && s;
    });
    assert.match(garbled.reason!, /routerId: must be an IPv4 address/);

    // A change every node reconciles for (node SIDs and SR paths): the good ones take it and end active.
    const genBefore = (await h.vpn.store.latest('pe1'))!.generation;
    assert.equal((await h.call('POST', '/v1/nodes', { body: node('pe3', 3) })).status, 201);
    assert.equal((await h.call('POST', '/v1/links', { body: link('pe2-pe3', 'pe2', 'pe3', 2) })).status, 201);
    await eventually(
      'pe1, pe2, pe3 active with SR paths to pe3',
      async () => {
        for (const id of ['pe1', 'pe2', 'pe3']) if ((await statusOf(`/v1/nodes/${id}`)).state !== 'active') return false;
        const pe1 = (await h.vpn.store.latest('pe1'))!;
        return pe1.generation > genBefore && pe1.state.transportPaths.some((p) => p.remoteNode === 'pe3');
      },
      60_000,
    );
    // (Every run, the resync's too, passes through provisioning: wait for each to settle.)
    for (const path of ['/v1/sites/s-pe1', '/v1/sites/s-pe2', '/v1/vpns/acme', '/v1/links/pe1-pe2', '/v1/links/pe2-pe3']) {
      await eventually(`${path} active`, async () => (await statusOf(path)).state === 'active');
    }
    // pe1's state left out the bad link; the bad nodes got no state at all.
    const pe1 = (await h.vpn.store.latest('pe1'))!.state;
    assert.ok(!pe1.transportPaths.some((p) => p.remoteNode === 'zoned' || p.outInterface === 'core-zoned'));
    assert.equal(await h.vpn.store.latest('zoned'), undefined);
    assert.equal((await statusOf('/v1/nodes/zoned')).state, 'failed', 'and the bad one stays failed');

    // Dry runs of writes that affect every node, the bad ones included, answer with a plan.
    const dry = await h.call('POST', '/v1/nodes?dryRun=true', { body: node('pe4', 4) });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.dryRun, true);
    assert.ok(dry.body.plan.some((p: { node: string }) => p.node === 'pe1'));
    assert.equal(dry.body.plan.find((p: { node: string }) => p.node === 'zoned')?.changed, false, 'the bad node is shown unchanged');
    const drySite = await h.call('POST', '/v1/sites?dryRun=true', { body: siteBody('s-new', 'acme', 'pe3', 7) });
    assert.equal(drySite.status, 200, JSON.stringify(drySite.body));

    // Fixing the record (here: deleting its link and correcting the loopback in place) heals it without anything else.
    await sql.query(`DELETE FROM link WHERE id = 'pe1-zoned'`);
    await sql.query(`UPDATE node SET loopback = '10.251.1.11' WHERE id = 'zoned'`);
    await eventually('the corrected node to become active on the next resync', async () => (await statusOf('/v1/nodes/zoned')).state === 'active', 30_000);
    assert.equal((await statusOf('/v1/nodes/garbled')).state, 'failed');
  });
});
