// The reconcile worker end to end against real PostgreSQL, Redis and the
// labels service: intent -> allocations -> desired state per node, and the
// agent's watch of it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import pg from 'pg';
import { NodeDesiredState, type WatchDesiredStateResponse } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { AllocationState, LabelKind } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { eventually, reconcileIdle, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const node = (id: string, n: number, role: 'PE' | 'P') => ({ id, role, routerId: `10.255.0.${n}`, asNumber: 65000, nodeSidIndex: n });
const link = (id: string, a: string, b: string, n: number) => ({
  id,
  a: { node: a, interface: `core-${b}`, address: `10.254.${n}.0/31` },
  b: { node: b, interface: `core-${a}`, address: `10.254.${n}.1/31` },
  igpMetric: 10,
});
const site = (id: string, vpn: string, pe: string, n: number, vlan: number) => ({
  id,
  vpn,
  node: pe,
  interface: 'cust0',
  vlan,
  ipv4: { peAddress: `172.16.${n}.1/30`, ceAddress: `172.16.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

describe('reconcile worker: intent to stored desired state', () => {
  let h: ReconcileHarness;
  let sql: pg.Client;

  /** No job waiting or running, and no outbox row left for the relay (a job that was running when its node changed). */
  async function idle(): Promise<void> {
    await reconcileIdle(h, sql);
  }
  const state = async (id: string) => (await h.vpn.store.latest(id))?.state;
  const usage = async (id: string) => Number((await h.labels.getLabelSpaces({ node: id })).spaces!.dynamicUsage!.allocated);

  before(async () => {
    h = await startReconcileHarness();
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    for (const [id, n, role] of [['pe1', 1, 'PE'], ['pe2', 2, 'PE'], ['pe3', 3, 'PE'], ['p1', 11, 'P']] as const) {
      assert.equal((await h.call('POST', '/v1/nodes', { body: node(id, n, role) })).status, 201);
    }
    for (const [i, pe] of ['pe1', 'pe2', 'pe3'].entries()) assert.equal((await h.call('POST', '/v1/links', { body: link(`${pe}-p1`, pe, 'p1', i) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme' } })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'blue', customer: 'blue', labelMode: 'per-ce' } })).status, 201);
  });
  after(async () => {
    await sql?.end();
    await h?.stop();
  });

  test('a VPN with sites on 3 PEs and a P reaches active with each node\'s VRFs, label stacks and LFIB stored', async () => {
    for (const [i, pe] of ['pe1', 'pe2', 'pe3'].entries()) assert.equal((await h.call('POST', '/v1/sites', { body: site(`acme-${pe}`, 'acme', pe, i + 1, 100) })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: site('blue-pe1', 'blue', 'pe1', 1, 200) })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: site('blue-pe2', 'blue', 'pe2', 2, 200) })).status, 201);
    await idle();
    for (const p of ['/v1/nodes/pe1', '/v1/nodes/p1', '/v1/sites/acme-pe2', '/v1/vrfs/acme:pe3', '/v1/vpns/acme', '/v1/vpns/blue']) {
      assert.equal((await h.call('GET', p)).body.status.state, 'active', p);
    }
    const vrf2 = (await h.call('GET', '/v1/vrfs/acme:pe2')).body;
    assert.match(vrf2.routeDistinguisher, /^65000:\d+$/);
    const rt = (await h.call('GET', '/v1/vpns/acme')).body.routeTargets.anyToAny;
    assert.match(rt, /^65000:\d+$/);

    const pe1 = (await state('pe1'))!;
    const pe2 = (await state('pe2'))!;
    assert.deepEqual(pe1.vrfs.map((v) => [v.name, v.tableId]), [['acme', 1000], ['blue', 1001]]);
    assert.deepEqual(pe1.vrfs[0]!.importRouteTargets, [rt]);
    const pe2AcmeLabel = pe2.lfibEntries.find((e) => e.owner === 'vrf:acme')!.inLabel;
    // PE1 reaches PE2 through P1: [P1's label for PE2's SID (16000 + 2), PE2's VRF label].
    const remote = pe1.vrfRoutes.find((r) => r.vrf === 'acme' && r.prefix === '10.2.0.0/16')!;
    assert.equal(remote.nextHop?.$case, 'remote');
    if (remote.nextHop?.$case === 'remote') {
      assert.deepEqual(remote.nextHop.value.labels, [16002, pe2AcmeLabel]);
      assert.equal(remote.nextHop.value.rd, vrf2.routeDistinguisher);
      assert.equal(remote.nextHop.value.outInterface, 'core-p1');
    }
    assert.deepEqual(pe1.vrfRoutes.filter((r) => r.vrf === 'acme').map((r) => r.prefix), ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '172.16.1.0/30', '172.16.2.0/30', '172.16.3.0/30']);
    // Per-CE mode: PE2's blue route carries PE2's CE label; PE1 pops its own CE label towards its CE.
    const blueCe = pe2.lfibEntries.find((e) => e.owner === 'ce:blue:blue-pe2')!;
    const blueRoute = pe1.vrfRoutes.find((r) => r.vrf === 'blue' && r.prefix === '10.2.0.0/16')!;
    assert.equal(blueRoute.nextHop?.$case === 'remote' && blueRoute.nextHop.value.labels.at(-1), blueCe.inLabel);
    // The P node swaps/pops SIDs only.
    const p1 = (await state('p1'))!;
    assert.equal(p1.vrfs.length, 0);
    assert.deepEqual(p1.lfibEntries.map((e) => [e.inLabel, e.action?.$case]), [[16001, 'pop'], [16002, 'pop'], [16003, 'pop']]);
    assert.ok(pe1.lfibEntries.some((e) => e.inLabel === 16011 && e.action?.$case === 'pop'));
    // Labels: PE1 holds acme's VRF label, blue's VRF label and blue's one CE label.
    assert.equal(await usage('pe1'), 3);
  });

  test('a job run again with nothing new stores no new generation and allocates nothing', async () => {
    const before = (await h.vpn.store.latest('pe1'))!.generation;
    const r = await h.vpn.reconciler.reconcile('pe1');
    assert.deepEqual([r?.changed, r?.generation], [false, before]);
    assert.equal(await usage('pe1'), 3);
  });

  test('a burst of writes to one PE queues one job and converges', async () => {
    let runs = 0;
    h.vpn.reconciler.afterAllocation = (n) => void (n === 'pe2' && runs++);
    // Paused, as a busy worker would be: the writes find the job still waiting and merge into it.
    await h.vpn.queue.queue.pause();
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => h.call('POST', '/v1/sites', { body: site(`burst-${i}`, 'acme', 'pe2', 50 + i, 300 + i) })));
      const counts = await h.vpn.queue.queue.getJobCounts('waiting', 'paused' as never, 'prioritized', 'delayed', 'active');
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 1, JSON.stringify(counts));
      assert.equal((await h.vpn.queue.queue.getJob('pe2'))?.data.node, 'pe2');
    } finally {
      await h.vpn.queue.queue.resume();
    }
    await idle();
    h.vpn.reconciler.afterAllocation = undefined;
    assert.equal(runs, 1, `pe2 was reconciled ${runs} times for 10 writes`);
    const pe1 = (await state('pe1'))!;
    for (let i = 0; i < 10; i++) assert.ok(pe1.vrfRoutes.some((r) => r.prefix === `10.${50 + i}.0.0/16`), `burst-${i} reached pe1`);
    assert.equal((await h.call('GET', '/v1/sites/burst-9')).body.status.state, 'active');
  });

  test('a job killed after allocating converges on retry without allocating twice', async () => {
    let failures = 0;
    h.vpn.reconciler.afterAllocation = (n) => {
      if (n === 'pe3' && failures++ === 0) throw new Error('killed half way');
    };
    assert.equal((await h.call('POST', '/v1/sites', { body: site('blue-pe3', 'blue', 'pe3', 3, 200) })).status, 201);
    await idle();
    h.vpn.reconciler.afterAllocation = undefined;
    assert.ok(failures >= 2, 'the first attempt failed and a retry ran');
    assert.equal((await h.call('GET', '/v1/sites/blue-pe3')).body.status.state, 'active');
    // acme's VRF label + blue's VRF label + blue-pe3's CE label: the failed attempt's allocations were reused.
    assert.equal(await usage('pe3'), 3);
    const pe1 = (await state('pe1'))!;
    assert.ok(pe1.vrfRoutes.some((r) => r.vrf === 'blue' && r.prefix === '10.3.0.0/16'));
  });

  test('a dry run answers per node what would change, and changes nothing', async () => {
    const generations = await Promise.all(['pe1', 'pe2', 'pe3'].map(async (n) => (await h.vpn.store.latest(n))!.generation));
    const used = await Promise.all(['pe1', 'pe2', 'pe3'].map(usage));
    const r = await h.call('POST', '/v1/sites?dryRun=true', { body: site('plan-pe1', 'blue', 'pe1', 90, 290) });
    assert.equal(r.status, 200);
    const byNode = Object.fromEntries(r.body.plan.map((p: { node: string }) => [p.node, p]));
    // PE1: its new site's two local routes and a new CE label (placeholder, "new"). PE2 and PE3 import the two routes
    // only once the committed site is propagated (through the routing, as BGP would): not in the plan.
    assert.deepEqual(Object.keys(byNode), ['pe1']);
    assert.deepEqual(byNode.pe1.routes, { added: 2, modified: 0, deleted: 0 });
    assert.deepEqual(byNode.pe1.lfibEntries, { added: 1, modified: 0, deleted: 0 });
    assert.deepEqual(byNode.pe1.newAllocations, ['label ce:blue:plan-pe1:v4']);
    assert.equal((await h.call('GET', '/v1/sites/plan-pe1')).status, 404);
    assert.deepEqual(await Promise.all(['pe1', 'pe2', 'pe3'].map(async (n) => (await h.vpn.store.latest(n))!.generation)), generations);
    assert.deepEqual(await Promise.all(['pe1', 'pe2', 'pe3'].map(usage)), used);
  });

  test('WatchDesiredState: a snapshot, then a delta after a change; another node is PERMISSION_DENIED', async () => {
    const { client, metadata } = await h.agent('pe1');
    const denied = client.watchDesiredState({ node: 'pe2', appliedGeneration: 0 }, metadata);
    const err = await new Promise<ServiceError>((resolve) => denied.on('error', resolve));
    assert.equal(err.code, status.PERMISSION_DENIED);

    const stream = client.watchDesiredState({ node: 'pe1', appliedGeneration: 0 }, metadata);
    const got: WatchDesiredStateResponse[] = [];
    stream.on('data', (m: WatchDesiredStateResponse) => got.push(m));
    stream.on('error', () => {});
    const first = await eventually('the snapshot', async () => got[0]);
    assert.equal(first.update?.$case, 'snapshot');
    const snapshot = first.update?.$case === 'snapshot' ? first.update.value : undefined;
    assert.equal(snapshot?.generation, (await h.vpn.store.latest('pe1'))!.generation);

    assert.equal((await h.call('POST', '/v1/sites', { body: site('watch-pe2', 'acme', 'pe2', 95, 295) })).status, 201);
    const second = await eventually('a delta', async () => got[1]);
    assert.equal(second.update?.$case, 'delta');
    if (second.update?.$case === 'delta') {
      assert.equal(second.update.value.fromGeneration, snapshot?.generation);
      assert.ok(second.update.value.changes.some((c) => c.entry?.entry?.$case === 'vrfRoute' && c.entry.entry.value.prefix === '10.95.0.0/16'));
    }
    stream.cancel();

    const report = await new Promise<{ desiredGeneration: number }>((resolve, reject) =>
      client.reportStatus({ node: 'pe1', appliedGeneration: 1, failures: [], drift: [], driver: 'soft', installedVrfs: 2, installedVrfRoutes: 0, installedLfibEntries: 0, ports: [], links: [], heartbeat: false }, metadata, (e, r) => (e ? reject(e) : resolve(r))),
    );
    assert.equal(report.desiredGeneration, (await h.vpn.store.latest('pe1'))!.generation);
  });

  test('deleting a site withdraws its routes and releases its labels into hold-down', async () => {
    const ceLabel = (await state('pe3'))!.lfibEntries.find((e) => e.owner === 'ce:blue:blue-pe3')!.inLabel;
    assert.equal((await h.call('DELETE', '/v1/sites/blue-pe3')).status, 204);
    await idle();
    const pe3 = (await state('pe3'))!;
    assert.deepEqual(pe3.vrfs.map((v) => v.name), ['acme']);
    assert.ok(!pe3.lfibEntries.some((e) => e.inLabel === ceLabel));
    const pe1 = (await state('pe1'))!;
    assert.ok(!pe1.vrfRoutes.some((r) => r.vrf === 'blue' && r.prefix === '10.3.0.0/16'), 'pe1 no longer routes to the deleted site');
    const held = await h.labels.listLabels({ node: 'pe3', kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_HELD, ownerPrefix: '', pageSize: 100, pageToken: '' });
    assert.deepEqual(held.labels.map((l) => l.owner).sort(), ['ce:blue:blue-pe3:v4', 'vrf:blue:pe3']);
    assert.equal(await usage('pe3'), 1);
    // The VRF's RD went back to the pool's hold-down too.
    const rds = await h.labels.listRouteDistinguishers({ administrator: '65000', ownerPrefix: 'vrf:blue:pe3', pageSize: 10, pageToken: '' });
    assert.deepEqual(rds.routeDistinguishers.map((r) => r.state), [AllocationState.ALLOCATION_STATE_HELD]);
  });

  test('deleting a VPN releases its route target', async () => {
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'gone', customer: 'x' } })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: site('gone-pe1', 'gone', 'pe1', 99, 299) })).status, 201);
    await idle();
    assert.equal((await h.call('DELETE', '/v1/sites/gone-pe1')).status, 204);
    await idle();
    assert.equal((await h.call('DELETE', '/v1/vpns/gone')).status, 204);
    // The sweep, or a node reconcile's release that got there first (it sweeps the VPNs it let go of), releases the claim once.
    assert.ok((await h.vpn.allocator.sweepClaims()) <= 1);
    const held = async () => (await h.labels.listRouteTargets({ administrator: '65000', ownerPrefix: 'rt:gone:', pageSize: 10, pageToken: '' })).routeTargets.map((r) => r.state);
    await eventually('the route target in hold-down', async () => JSON.stringify(await held()) === JSON.stringify([AllocationState.ALLOCATION_STATE_HELD]) || undefined);
    assert.equal(await h.vpn.allocator.sweepClaims(), 0, 'nothing is left to sweep');
  });

  test('stored states decode and hold no dangling references', async () => {
    for (const n of ['pe1', 'pe2', 'pe3', 'p1']) {
      const s = (await state(n))!;
      assert.deepEqual(NodeDesiredState.decode(NodeDesiredState.encode(s).finish()), s);
    }
  });
});
