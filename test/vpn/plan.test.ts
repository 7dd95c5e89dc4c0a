// Dry-run plans against real PostgreSQL, Redis and the labels service: per
// node, what a delete would release (labels, RDs, SIDs, RTs into hold-down)
// and which routes it would withdraw; REST and gRPC answer the same plan;
// and a dry run allocates, stores and queues nothing. A plan selects routes
// through the reconcile's own routing (here SimulatedVpnRouting, as BGP holds
// them now), so the other PEs' routes change only after the write.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import pg from 'pg';
import { AllocationState, LabelKind } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { VpnServiceClient } from '../../services/common/gen/proto/l3vpn/v1/vpn.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { eventually, reconcileIdle, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const node = (id: string, n: number, role: 'PE' | 'P') => ({ id, role, routerId: `10.255.0.${n}`, asNumber: 65000, nodeSidIndex: n });
const link = (id: string, a: string, b: string, n: number) => ({
  id,
  a: { node: a, interface: `core-${b}`, address: `10.254.${n}.0/31` },
  b: { node: b, interface: `core-${a}`, address: `10.254.${n}.1/31` },
});
const site = (id: string, vpn: string, pe: string, n: number) => ({
  id,
  vpn,
  node: pe,
  interface: 'cust0',
  vlan: 100 + n,
  ipv4: { peAddress: `172.16.${n}.1/30`, ceAddress: `172.16.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

describe('dry-run plans', () => {
  let h: ReconcileHarness;
  let sql: pg.Client;
  let grpc: ReturnType<typeof promiseClient<VpnServiceClient>>;
  const admin = () => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${h.tokens.admin}`);
    return { metadata: md };
  };

  async function idle(): Promise<void> {
    await reconcileIdle(h, sql);
  }
  const allocated = async (n: string) =>
    (await h.labels.listLabels({ node: n, kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_ALLOCATED, ownerPrefix: '', pageSize: 100, pageToken: '' })).labels
      .map((l) => ({ owner: l.owner, label: l.label }))
      .sort((a, b) => a.owner.localeCompare(b.owner));

  /** Everything a dry run must leave alone: allocations, stored states, outbox, queue, RT claims. */
  async function footprint() {
    const q = (text: string) => sql.query(text).then((r) => r.rows);
    return {
      labels: await Promise.all(['pe1', 'pe2', 'sr-domain'].map(allocated)),
      rts: (await h.labels.listRouteTargets({ administrator: '65000', ownerPrefix: '', pageSize: 100, pageToken: '' })).routeTargets.map((r) => [r.owner, r.state]),
      states: await q('SELECT node_id, max(generation)::int AS g FROM node_desired_state GROUP BY node_id ORDER BY node_id'),
      outbox: await q('SELECT count(*)::int AS n FROM outbox'),
      intent: await q('SELECT (SELECT count(*) FROM site)::int AS sites, (SELECT count(*) FROM vpn)::int AS vpns, (SELECT count(*) FROM node)::int AS nodes, (SELECT count(*) FROM vrf_allocation)::int AS allocations'),
      jobs: await h.vpn.queue.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
    };
  }

  before(async () => {
    h = await startReconcileHarness();
    sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    grpc = promiseClient(new VpnServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, insecure()));
    for (const [id, n, role] of [['pe1', 1, 'PE'], ['pe2', 2, 'PE'], ['p1', 11, 'P'], ['pe9', 9, 'PE']] as const) {
      assert.equal((await h.call('POST', '/v1/nodes', { body: node(id, n, role) })).status, 201);
    }
    for (const [i, pe] of ['pe1', 'pe2'].entries()) assert.equal((await h.call('POST', '/v1/links', { body: link(`${pe}-p1`, pe, 'p1', i) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme', labelMode: 'per-ce' } })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'gone', customer: 'x' } })).status, 201);
    for (const s of [site('s1', 'acme', 'pe1', 1), site('s2', 'acme', 'pe2', 2), site('g1', 'gone', 'pe2', 3)]) {
      assert.equal((await h.call('POST', '/v1/sites', { body: s })).status, 201);
    }
    await idle();
    assert.equal((await h.call('DELETE', '/v1/sites/g1')).status, 204);
    await idle();
  });
  after(async () => {
    grpc?.close();
    await sql?.end();
    await h?.stop();
  });

  test('deleting a site: its PE releases the labels and RD and withdraws the routes; the other PE is left to BGP; nothing changes', async () => {
    const before = await footprint();
    const vrf = (await h.call('GET', '/v1/vrfs/acme:pe1')).body;
    const held = await allocated('pe1');
    assert.deepEqual(held.map((l) => l.owner), ['ce:acme:s1:v4', 'vrf:acme:pe1']);

    const r = await h.call('DELETE', '/v1/sites/s1?dryRun=true');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.changes, [{ kind: 'site', id: 's1', action: 'delete' }, { kind: 'vrf', id: 'acme:pe1', action: 'delete' }]);
    const byNode = Object.fromEntries(r.body.plan.map((p: { node: string }) => [p.node, p]));
    assert.deepEqual(Object.keys(byNode).sort(), ['pe1'], 'pe2 loses the routes once BGP withdraws them, not in this plan');
    assert.deepEqual(byNode.pe1.releases, { labels: held, routeDistinguishers: [{ owner: 'vrf:acme:pe1', value: vrf.routeDistinguisher }] });
    assert.deepEqual(byNode.pe1.withdrawnRoutes, [
      { vrf: 'acme', prefix: '10.1.0.0/16', routeDistinguisher: vrf.routeDistinguisher },
      { vrf: 'acme', prefix: '172.16.1.0/30', routeDistinguisher: vrf.routeDistinguisher },
    ]);
    assert.deepEqual(byNode.pe1.vrfs, { added: 0, modified: 0, deleted: 1 });
    assert.deepEqual(byNode.pe1.lfibEntries, { added: 0, modified: 0, deleted: 2 }, 'the VRF and CE labels leave the LFIB');
    assert.deepEqual(r.body.releases, { routeTargets: [], routeDistinguishers: [] }, 'the VPN keeps its route target');

    // gRPC answers the same plan.
    const g = await grpc.deleteSite({ id: 's1', expectedVersion: 0, dryRun: true }, admin());
    const pe1 = g.plan!.nodes.find((n) => n.node === 'pe1')!;
    assert.deepEqual(pe1.releasedLabels, held);
    assert.deepEqual(pe1.releasedRouteDistinguishers, byNode.pe1.releases.routeDistinguishers);
    assert.deepEqual(pe1.withdrawnRoutes, byNode.pe1.withdrawnRoutes);
    assert.deepEqual(pe1.vrfs, byNode.pe1.vrfs);
    assert.deepEqual(g.plan!.nodes.map((n) => n.node), ['pe1']);

    assert.deepEqual(await footprint(), before, 'no allocation, no stored state, no outbox row, no job');
    assert.equal((await h.call('GET', '/v1/sites/s1')).status, 200);
  });

  test('deleting a VPN: its route target would go into hold-down', async () => {
    const before = await footprint();
    const rt = (await h.call('GET', '/v1/vpns/gone')).body.routeTargets.anyToAny;
    assert.match(rt, /^65000:\d+$/);
    const r = await h.call('DELETE', '/v1/vpns/gone?dryRun=true');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.releases, { routeTargets: [{ owner: 'rt:gone:any-to-any', value: rt }], routeDistinguishers: [] });
    assert.deepEqual(r.body.plan, []);
    const g = await grpc.deleteVpn({ id: 'gone', expectedVersion: 0, dryRun: true }, admin());
    assert.deepEqual(g.plan!.releasedRouteTargets, [{ owner: 'rt:gone:any-to-any', value: rt }]);
    assert.deepEqual(await footprint(), before);
    // A VPN that stays keeps its route target.
    const keep = await h.call('PATCH', '/v1/vpns/gone?dryRun=true', { body: { description: 'kept' } });
    assert.deepEqual(keep.body.releases, { routeTargets: [], routeDistinguishers: [] });
  });

  test('deleting a node: its SID index would go back to the SR domain', async () => {
    const before = await footprint();
    const r = await h.call('DELETE', '/v1/nodes/pe9?dryRun=true');
    assert.equal(r.status, 200);
    const pe9 = r.body.plan.find((p: { node: string }) => p.node === 'pe9');
    assert.equal(pe9.removed, true);
    assert.deepEqual(pe9.releases, { labels: [], routeDistinguishers: [], sidIndex: 9 });
    assert.ok(r.body.plan.filter((p: { node: string }) => p.node !== 'pe9').every((p: { releases: { sidIndex?: number } }) => p.releases.sidIndex === undefined));
    const g = await grpc.deleteNode({ id: 'pe9', expectedVersion: 0, dryRun: true }, admin());
    assert.equal(g.plan!.nodes.find((n) => n.node === 'pe9')!.releasedSidIndex, 9);
    assert.equal(g.plan!.nodes.find((n) => n.node === 'pe1')!.releasedSidIndex, undefined);
    assert.deepEqual(await footprint(), before);
  });

  test('a real delete releases what the plan said', async () => {
    const plan = (await h.call('DELETE', '/v1/sites/s1?dryRun=true')).body.plan.find((p: { node: string }) => p.node === 'pe1');
    assert.equal((await h.call('DELETE', '/v1/sites/s1')).status, 204);
    await idle();
    const heldDown = await h.labels.listLabels({ node: 'pe1', kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_HELD, ownerPrefix: '', pageSize: 100, pageToken: '' });
    assert.deepEqual(heldDown.labels.map((l) => ({ owner: l.owner, label: l.label })).sort((a, b) => a.owner.localeCompare(b.owner)), plan.releases.labels);
    const rds = await h.labels.listRouteDistinguishers({ administrator: '65000', ownerPrefix: 'vrf:acme:pe1', pageSize: 10, pageToken: '' });
    assert.deepEqual(rds.routeDistinguishers.map((r) => [r.value, r.state]), [[plan.releases.routeDistinguishers[0].value, AllocationState.ALLOCATION_STATE_HELD]]);
  });
});
