// One bad record fails only itself: a node whose loopback or router id, or
// a site whose static prefix or PE address, cannot be parsed, written
// straight into the database (the API refuses it), fails its node with the
// reason; every other node's reconcile goes on and ends active (the PEs
// importing the bad site's routes leave out what cannot be parsed), and dry
// runs answer as usual. The periodic resync finds the record, which no API
// write announced.
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

/** A harness that retries and resyncs within a test, with SQL to write what the API refuses. */
async function startWithSql(): Promise<{ h: ReconcileHarness; sql: pg.Client }> {
  const h = await startReconcileHarness({ VPN_RESYNC_SECONDS: '1', VPN_RETRY_MAX_SECONDS: '2', VPN_INVENTORY_SETTLE_MS: '50' });
  const sql = new pg.Client({ connectionString: h.db.url });
  await sql.connect();
  return { h, sql };
}

describe('a bad node record', () => {
  let h: ReconcileHarness;
  let sql: pg.Client;
  const get = async (path: string) => (await h.call('GET', path)).body;
  const statusOf = async (path: string) => (await get(path)).status as { state: string; reason?: string };

  before(async () => ({ h, sql } = await startWithSql()));
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

describe('a bad site record', () => {
  let h: ReconcileHarness;
  let sql: pg.Client;
  const statusOf = async (path: string) => (await h.call('GET', path)).body.status as { state: string; reason?: string };
  const prefixesAt = async (node: string) => new Set((await h.vpn.store.latest(node))!.state.vrfRoutes.filter((r) => r.vrf === 'acme').map((r) => r.prefix));

  before(async () => ({ h, sql } = await startWithSql()));
  after(async () => {
    await sql?.end();
    await h?.stop();
  });

  test('fails its own node with the reason; the importing PEs leave out what cannot be parsed and stay active', async () => {
    for (const [id, n] of [['pe1', 1], ['pe2', 2], ['pe3', 3]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: node(id, n) })).status, 201);
    assert.equal((await h.call('POST', '/v1/links', { body: link('pe1-pe2', 'pe1', 'pe2', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/links', { body: link('pe1-pe3', 'pe1', 'pe3', 2) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: vpnBody('acme') })).status, 201);
    const statics = { routing: { static: [{ prefix: '192.168.2.0/24' }, { prefix: '192.168.3.0/24' }] } };
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s-pe1', 'acme', 'pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s-pe2', 'acme', 'pe2', 2, statics) })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s-pe3', 'acme', 'pe3', 3) })).status, 201);
    await eventually('pe1 imports every site', async () => (await statusOf('/v1/nodes/pe1')).state === 'active' && (await prefixesAt('pe1')).has('10.3.0.0/30') && (await prefixesAt('pe1')).has('192.168.2.0/24'));

    // As an older version or a hand-made SQL fix left them: a static prefix with host bits, a PE address without its length.
    await sql.query(`UPDATE site SET static_routes = '[{"prefix":"192.168.2.1/24"},{"prefix":"192.168.3.0/24"}]' WHERE id = 's-pe2'`);
    await sql.query(`UPDATE site_access SET ipv4_pe_address = '10.3.0.1' WHERE site_id = 's-pe3'`);

    // No API write queued them: the periodic resync does. Each bad record fails its own node, with the record named.
    const pe2 = await eventually('pe2 to fail with its reason', async () => {
      const s = await statusOf('/v1/nodes/pe2');
      return s.state === 'failed' && s;
    });
    assert.match(pe2.reason!, /site 's-pe2' cannot be used: static route prefix '192\.168\.2\.1\/24' has host bits set/);
    assert.match((await statusOf('/v1/sites/s-pe2')).reason!, /192\.168\.2\.1\/24/);
    const pe3 = await eventually('pe3 to fail with its reason', async () => {
      const s = await statusOf('/v1/nodes/pe3');
      return s.state === 'failed' && s;
    });
    assert.match(pe3.reason!, /site 's-pe3' cannot be used: PE address '10\.3\.0\.1' has no prefix length/);

    // A change pe1 reconciles for: a new route from its own new site, which the bad PEs import. pe1 takes it and stays active.
    const genBefore = (await h.vpn.store.latest('pe1'))!.generation;
    assert.equal((await h.call('POST', '/v1/sites', { body: siteBody('s-pe1b', 'acme', 'pe1', 4) })).status, 201);
    await eventually('pe1 active with its new site', async () => (await statusOf('/v1/nodes/pe1')).state === 'active' && (await h.vpn.store.latest('pe1'))!.generation > genBefore, 30_000);
    for (const path of ['/v1/sites/s-pe1', '/v1/sites/s-pe1b', '/v1/links/pe1-pe2']) await eventually(`${path} active`, async () => (await statusOf(path)).state === 'active');
    // What pe1 imports from the bad sites: every route but the ones that cannot be parsed.
    const at = await prefixesAt('pe1');
    assert.ok(at.has('10.2.0.0/30') && at.has('192.168.3.0/24'), [...at].join(' '));
    assert.ok(!at.has('192.168.2.0/24') && !at.has('192.168.2.1/24') && !at.has('10.3.0.0/30'), [...at].join(' '));
    assert.equal((await statusOf('/v1/nodes/pe2')).state, 'failed', 'and the bad ones stay failed');

    // Dry runs that plan the bad PEs (they import the new site) answer with a plan.
    const dry = await h.call('POST', '/v1/sites?dryRun=true', { body: siteBody('s-new', 'acme', 'pe1', 7) });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.notEqual(dry.body.plan.find((p: { node: string }) => p.node === 'pe2')?.changed, true, 'the bad node is not shown changing');

    // Correcting the records in place heals them without anything else.
    await sql.query(`UPDATE site SET static_routes = '[{"prefix":"192.168.2.0/24"},{"prefix":"192.168.3.0/24"}]' WHERE id = 's-pe2'`);
    await sql.query(`UPDATE site_access SET ipv4_pe_address = '10.3.0.1/30' WHERE site_id = 's-pe3'`);
    for (const id of ['pe2', 'pe3']) await eventually(`${id} active on the next resync`, async () => (await statusOf(`/v1/nodes/${id}`)).state === 'active', 30_000);
    await eventually('pe1 imports every site again', async () => (await prefixesAt('pe1')).has('10.3.0.0/30') && (await prefixesAt('pe1')).has('192.168.2.0/24'), 30_000);
  });
});
