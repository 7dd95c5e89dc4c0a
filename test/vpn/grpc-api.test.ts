// The gRPC mirror (VpnService): same domain layer, same validation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  Node,
  Site,
  Vpn,
  SiteRole,
  SiteMultihoming,
  VpnNodeRole,
  VpnServiceClient,
  VpnTopology,
} from '../../services/common/gen/proto/l3vpn/v1/vpn.js';
import { AgentServiceClient, ReportStatusRequest } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { insecure, promiseClient } from '../../services/common/grpc/client.js';
import { startVpnHarness, type VpnHarness } from './support.js';

describe('vpn gRPC API', () => {
  let h: VpnHarness;
  let client: ReturnType<typeof promiseClient<VpnServiceClient>>;
  const auth = (token: string) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return { metadata: md };
  };
  const rejects = (p: Promise<unknown>, code: status, message: RegExp) =>
    assert.rejects(p, (err: ServiceError) => {
      assert.equal(err.code, code, `${status[err.code]}: ${err.details}`);
      assert.match(err.details, message);
      return true;
    });

  before(async () => {
    h = await startVpnHarness();
    client = promiseClient(new VpnServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, insecure()));
  });
  after(async () => {
    client?.close();
    await h?.stop();
  });

  test('writes and reads through the same domain layer as REST', async () => {
    const admin = auth(h.tokens.admin);
    const node = Node.fromPartial({ id: 'pe1', role: VpnNodeRole.VPN_NODE_ROLE_PE, routerId: '192.0.2.1', asNumber: 65000 });
    const dry = await client.createNode({ node, dryRun: true }, admin);
    assert.equal(dry.plan!.dryRun, true);
    await rejects(client.getNode({ id: 'pe1' }, admin), status.NOT_FOUND, /pe1/);
    const created = await client.createNode({ node, dryRun: false }, admin);
    assert.equal(created.node!.loopback, '192.0.2.1');
    assert.equal(created.node!.meta!.version, 1);
    await client.createVpn({ vpn: Vpn.fromPartial({ id: 'hs', customer: 'acme', topology: VpnTopology.VPN_TOPOLOGY_HUB_SPOKE }), dryRun: false }, admin);
    await rejects(
      client.createSite({ site: Site.fromPartial({ id: 's1', vpn: 'hs', node: 'pe1', interface: 'eth1', ipv4: { peAddress: '10.0.0.1/30', ceAddress: '10.0.1.2' } }), dryRun: false }, admin),
      status.INVALID_ARGUMENT,
      /role: .*hub or a spoke; ipv4\.ce_address: is not in the PE interface subnet/,
    );
    const site = await client.createSite(
      { site: Site.fromPartial({ id: 's1', vpn: 'hs', node: 'pe1', interface: 'eth1', role: SiteRole.SITE_ROLE_HUB, ipv4: { peAddress: '10.0.0.1/30', ceAddress: '10.0.0.2' } }), dryRun: false },
      admin,
    );
    assert.deepEqual(site.plan!.affectedNodes, ['pe1']);
    const vrfs = await client.listVrfs({ pageSize: 0, pageToken: '', vpn: 'hs', node: '', status: '' }, admin);
    assert.equal(vrfs.vrfs[0]!.id, 'hs:pe1');
    assert.equal(vrfs.vrfs[0]!.routes, undefined);
    const routes = await client.listVrfRoutes({ id: 'hs:pe1' }, admin);
    assert.equal(routes.routes!.available, false);
    // update_mask changes only the named fields; a stale version is ABORTED.
    const updated = await client.updateVpn({ vpn: Vpn.fromPartial({ id: 'hs', description: 'hub and spokes' }), updateMask: ['description'], expectedVersion: 1, dryRun: false }, admin);
    assert.equal(updated.vpn!.description, 'hub and spokes');
    assert.equal(updated.vpn!.customer, 'acme');
    await rejects(client.updateVpn({ vpn: Vpn.fromPartial({ id: 'hs', description: 'x' }), updateMask: ['description'], expectedVersion: 1, dryRun: false }, admin), status.ABORTED, /version 2/);
    await rejects(client.deleteNode({ id: 'pe1', expectedVersion: 0, dryRun: false }, admin), status.FAILED_PRECONDITION, /still has 1 site/);
    await rejects(client.createNode({ node, dryRun: false }, admin), status.ALREADY_EXISTS, /pe1/);
  });

  test('calls need a token with the right scope', async () => {
    await rejects(client.listNodes({ pageSize: 0, pageToken: '', role: '', status: '' }), status.UNAUTHENTICATED, /Bearer/);
    await rejects(client.deleteVpn({ id: 'hs', expectedVersion: 0, dryRun: true }, auth(h.tokens.read)), status.PERMISSION_DENIED, /write/);
    const nodes = await client.listNodes({ pageSize: 0, pageToken: '', role: 'PE', status: '' }, auth(h.tokens.read));
    assert.deepEqual(nodes.nodes.map((n) => n.id), ['pe1']);
  });

  test('bad requests are INVALID_ARGUMENT or NOT_FOUND, never INTERNAL: NUL, unknown filter values, page sizes, ids longer than any id', async () => {
    const md = auth(h.tokens.admin);
    await rejects(client.createVpn({ vpn: Vpn.fromPartial({ id: 'nul', customer: 'a\u0000b' }), dryRun: false }, md), status.INVALID_ARGUMENT, /customer.*U\+0000/);
    await rejects(client.listNodes({ pageSize: 0, pageToken: '', role: 'XX', status: '' }, md), status.INVALID_ARGUMENT, /role/);
    await rejects(client.listNodes({ pageSize: 0, pageToken: '', role: '', status: 'bogus' }, md), status.INVALID_ARGUMENT, /status/);
    await rejects(client.listNodes({ pageSize: -1, pageToken: '', role: '', status: '' }, md), status.INVALID_ARGUMENT, /1 to/);
    await rejects(client.listVpns({ pageSize: 0, pageToken: '', customer: 'x\u0000', status: '' }, md), status.INVALID_ARGUMENT, /U\+0000/);
    await rejects(client.getNode({ id: 'pe\u00001' }, md), status.NOT_FOUND, /does not exist/);
    const huge = 'x'.repeat(100_000);
    await rejects(client.getNode({ id: huge }, md), status.NOT_FOUND, /^node 'x{64}…' does not exist$/);
    await rejects(client.updateVpn({ vpn: undefined, updateMask: [], expectedVersion: 0, dryRun: false }, md), status.INVALID_ARGUMENT, /vpn is required/);
    // The channel still answers.
    assert.ok((await client.listNodes({ pageSize: 0, pageToken: '', role: 'PE', status: '' }, md)).nodes.length >= 1);
  });

  test('an update names what it updates (found by the fuzzer): no id, or an update_mask path that is no field, is INVALID_ARGUMENT', async () => {
    const md = auth(h.tokens.admin);
    await rejects(client.updateNode({ node: Node.fromPartial({ name: 'x' }), updateMask: ['name'], expectedVersion: 0, dryRun: false }, md), status.INVALID_ARGUMENT, /^id: is required/);
    await rejects(client.updateVpn({ vpn: Vpn.fromPartial({ id: 'hs' }), updateMask: ['description', 'colour'], expectedVersion: 0, dryRun: false }, md), status.INVALID_ARGUMENT, /update_mask\.1: 'colour' is not a field/);
    const long = 'p'.repeat(10_000);
    await assert.rejects(client.updateVpn({ vpn: Vpn.fromPartial({ id: 'hs' }), updateMask: [long], expectedVersion: 0, dryRun: false }, md), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.ok(err.details.length < 300, err.details);
      return true;
    });
    // Nested paths name their top-level field, which exists.
    const ok = await client.updateVpn({ vpn: Vpn.fromPartial({ id: 'hs', description: 'via mask' }), updateMask: ['description'], expectedVersion: 0, dryRun: true }, md);
    assert.ok(ok.plan);
  });

  test('a site with several accesses: accesses and multihoming round-trip, each access with its status; bad accesses are named', async () => {
    const admin = auth(h.tokens.admin);
    await client.createNode({ node: Node.fromPartial({ id: 'pe2', role: VpnNodeRole.VPN_NODE_ROLE_PE, routerId: '192.0.2.2', asNumber: 65000 }), dryRun: false }, admin);
    await client.createNode({ node: Node.fromPartial({ id: 'p9', role: VpnNodeRole.VPN_NODE_ROLE_P, routerId: '192.0.2.9', asNumber: 65000 }), dryRun: false }, admin);
    await client.createVpn({ vpn: Vpn.fromPartial({ id: 'mh', customer: 'acme' }), dryRun: false }, admin);
    const access = (id: string, node: string, n: number, priority = 0) => ({ id, node, interface: 'eth5', vlan: 50 + n, ipv4: { peAddress: `10.9.${n}.1/30`, ceAddress: `10.9.${n}.2` }, priority });
    await rejects(
      client.createSite({ site: Site.fromPartial({ id: 'bad', vpn: 'mh', accesses: [access('a', 'pe1', 1), access('b', 'p9', 2)] }), dryRun: false }, admin),
      status.INVALID_ARGUMENT,
      /accesses\.1\.node: node 'p9' is a P router/,
    );
    const created = await client.createSite(
      { site: Site.fromPartial({ id: 'dual', vpn: 'mh', accesses: [access('a', 'pe1', 1), access('b', 'pe2', 2, 300)], multihoming: SiteMultihoming.SITE_MULTIHOMING_ALL_ACTIVE }), dryRun: false },
      admin,
    );
    assert.deepEqual(created.plan!.affectedNodes, ['pe1', 'pe2']);
    const got = (await client.getSite({ id: 'dual' }, admin)).site!;
    assert.deepEqual(
      got.accesses.map((a) => [a.id, a.node, a.vlan, a.priority, a.status?.state !== undefined]),
      [['b', 'pe2', 52, 300, true], ['a', 'pe1', 51, 100, true]],
    );
    assert.equal(got.multihoming, SiteMultihoming.SITE_MULTIHOMING_ALL_ACTIVE);
    assert.equal(got.node, '', 'no flat access for a multi-homed site');
    // What Get returned can be sent back as it is.
    const replaced = await client.updateSite({ site: got, updateMask: [], expectedVersion: 0, dryRun: true }, admin);
    assert.equal(replaced.site!.accesses.length, 2);
  });
});

describe('AgentService input checks (found by the fuzzer)', () => {
  let h: VpnHarness;
  let agent: ReturnType<typeof promiseClient<AgentServiceClient>>;
  let credential = '';
  const md = () => {
    const m = new Metadata();
    m.set('authorization', `Bearer ${credential}`);
    return { metadata: m };
  };

  before(async () => {
    h = await startVpnHarness();
    assert.equal((await h.call('POST', '/v1/nodes', { body: { id: 'pe1', role: 'PE', routerId: '192.0.2.1', asNumber: 65000 } })).status, 201);
    credential = await h.enrol('pe1');
    agent = promiseClient(new AgentServiceClient(`127.0.0.1:${h.vpn.grpcPort}`, insecure()));
  });
  after(async () => {
    agent?.close();
    await h?.stop();
  });

  test('a report with U+0000 in it is INVALID_ARGUMENT naming the field, not INTERNAL (PostgreSQL cannot store it)', async () => {
    const report = ReportStatusRequest.fromPartial({ node: 'pe1', driver: 'soft', failures: [{ reason: 'bad\u0000' }] });
    await assert.rejects(agent.reportStatus(report, md()), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, `${status[err.code]}: ${err.details}`);
      assert.match(err.details, /^failures\.0\.reason: contains U\+0000/);
      return true;
    });
    assert.ok(await agent.reportStatus(ReportStatusRequest.fromPartial({ node: 'pe1', driver: 'soft', failures: [{ reason: 'bad' }] }), md()));
  });

  test("naming another node is PERMISSION_DENIED without the caller's whole text", async () => {
    await assert.rejects(agent.reportStatus(ReportStatusRequest.fromPartial({ node: 'n'.repeat(10_000) }), md()), (err: ServiceError) => {
      assert.equal(err.code, status.PERMISSION_DENIED);
      assert.ok(err.details.length < 200, err.details);
      return true;
    });
  });
});
