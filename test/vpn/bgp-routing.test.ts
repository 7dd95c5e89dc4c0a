// The vpn service over the real bgp service, with a real GoBGP as external PE:
//
//     vpn (REST, worker) --gRPC--> bgp service 127.0.25.1 (AS 65000) <--iBGP VPN-IPv4/IPv6--> GoBGP 127.0.25.2
//          |                         VRFs acme@pe1, acme@pe2
//          +--gRPC-- soft agents of pe1 and pe2 (AgentService)
//
// Managed PEs pe1 and pe2 have loopbacks 198.51.100.1/.2 (the next hops their
// routes carry; GoBGP and FRR refuse 127/8 VPN next hops) and external
// transport, so a route from the external PE (next hop 198.51.100.9)
// resolves without SR links.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonSettings, loadSettings } from '../../services/common/config.js';
import { createLogger } from '../../services/common/logger.js';
import type { RunningService } from '../../services/common/service.js';
import { agentSettings, startAgent } from '../../services/agent/main.js';
import { requirePeers, startGobgp, type GobgpPeer, type VpnRoute } from '../peers/index.js';
import { startTestBgp, type StartedBgp } from '../bgp/support.js';
import { Family, TableType, VrfPathOrigin } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { bgpApi, listVrfPaths, type BgpApi } from '../../services/vpn/routes/bgp-client.js';
import { callerAs } from '../support/service-auth.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const AS = 65000;
const US = '127.0.25.1';
const EXTERNAL = '127.0.25.2';
const EXTERNAL_NH = '198.51.100.9';
const skip = requirePeers('gobgp');

const pe = (id: string, n: number) => ({
  id,
  role: 'PE',
  routerId: `10.255.25.${n}`,
  loopback: `198.51.100.${n}`,
  asNumber: AS,
  transport: 'external',
});
const site = (id: string, node: string, n: number) => ({
  id,
  vpn: 'acme',
  node,
  interface: 'cust0',
  vlan: 100 + n,
  ipv4: { peAddress: `172.16.${n}.1/30`, ceAddress: `172.16.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

describe('vpn over the bgp service, with GoBGP as external PE', { skip, timeout: 180_000 }, () => {
  let bgp: StartedBgp | undefined;
  let gobgp: GobgpPeer | undefined;
  let h: ReconcileHarness | undefined;
  const agents: RunningService[] = [];
  const dirs: string[] = [];

  const H = () => h!;
  const peer = () => gobgp!;
  const find = (rs: VpnRoute[], prefix: string) => rs.filter((r) => r.prefix === prefix);
  const idle = () =>
    eventually(
      'the reconcile queue to drain',
      async () => {
        const c = await H().vpn.queue.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(c).every((n) => n === 0);
      },
      30_000,
    );
  const desiredRoute = async (node: string, prefix: string) => (await H().vpn.store.latest(node))?.state.vrfRoutes.find((r) => r.vrf === 'acme' && r.prefix === prefix);
  const startSoftAgent = async (node: string) => {
    const dir = mkdtempSync(join(tmpdir(), `l3vpn-bgp-routing-${node}-`));
    dirs.push(dir);
    // The agent enrols itself with a one-time join token, as on a real node.
    const joinToken = await H().call('POST', `/v1/nodes/${node}/join-tokens`, { body: {} });
    assert.equal(joinToken.status, 201);
    const settings = loadSettings([...commonSettings, ...agentSettings], {
      env: { AGENT_NODE: node, AGENT_CONTROLLER: `127.0.0.1:${H().vpn.grpcPort}`, AGENT_JOIN_TOKEN: joinToken.body.token, AGENT_DRIVER: 'soft', AGENT_STATE_DIR: dir },
    });
    agents.push(await startAgent(settings, createLogger(`agent-${node}`, 'silent')));
  };

  before(async () => {
    bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.25.100', BGP_LISTEN_ADDRESS: US, BGP_PORT: '179' }, [
      { address: EXTERNAL, 'remote-as': AS, families: ['vpn-ipv4', 'vpn-ipv6'], 'connect-retry-time': 1 },
    ]);
    gobgp = await startGobgp({ name: 'gobgp-vpn-pe', routerId: '10.255.25.9', address: EXTERNAL, localAs: AS, neighbors: [{ address: US, remoteAs: AS, families: ['vpnv4', 'vpnv6'] }] });
    await gobgp.waitEstablished(US, 20_000);
    h = await startReconcileHarness({ VPN_BGP_ADDRESS: `127.0.0.1:${bgp.svc.grpcPort}`, VPN_ORIGINATE_AFTER_INSTALL: 'true' });
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await H().call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    assert.equal((await H().call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme' } })).status, 201);
  });
  after(async () => {
    for (const a of agents) await a.stop(500);
    await h?.stop();
    await gobgp?.stop();
    await bgp?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('with originate-after-install, nothing is advertised until the egress PE\'s agent has installed the labels; the status says why', async () => {
    assert.equal((await H().call('POST', '/v1/sites', { body: site('acme-pe1', 'pe1', 1) })).status, 201);
    assert.equal((await H().call('POST', '/v1/sites', { body: site('acme-pe2', 'pe2', 2) })).status, 201);
    await idle();
    // The VRFs are defined on the speaker (so they import), their desired state is stored with the labels in the LFIB...
    const rd1 = (await H().call('GET', '/v1/vrfs/acme:pe1')).body.routeDistinguisher;
    assert.match(rd1, /^65000:\d+$/);
    assert.ok((await H().vpn.store.latest('pe1'))?.state.lfibEntries.some((e) => e.owner === 'vrf:acme'));
    // ...but no route is advertised while no agent reported: the status says why,
    for (const path of ['/v1/vrfs/acme:pe1', '/v1/sites/acme-pe1']) {
      const st = (await H().call('GET', path)).body.status;
      assert.equal(st.state, 'provisioning', path);
      assert.match(st.reason, /routes not advertised: waiting for the agent of pe1 \(it has not reported yet\)/, path);
    }
    // the speaker holds no VPN path to advertise (its Loc-RIB is what it sends), and GoBGP has none.
    assert.deepEqual(await bgp!.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_LOCAL), []);
    assert.deepEqual(await peer().vpnRoutes('vpnv4'), []);
    // pe1's agent applies and reports: pe1's routes go out, pe2's still wait.
    await startSoftAgent('pe1');
    await peer().waitVpnRoutes('vpnv4', (rs) => find(rs, '10.1.0.0/16').length === 1 && find(rs, '172.16.1.0/30').length === 1, 20_000);
    assert.deepEqual(find(await peer().vpnRoutes('vpnv4'), '10.2.0.0/16'), []);
    await startSoftAgent('pe2');
    await peer().waitVpnRoutes('vpnv4', (rs) => find(rs, '10.2.0.0/16').length === 1, 20_000);
    await eventually('acme:pe1 active', async () => (await H().call('GET', '/v1/vrfs/acme:pe1')).body.status.state === 'active');
  });

  test('the external PE sees both sites\' VPN routes with their RD, RT, label and the PE loopback as next hop', async () => {
    const rt = (await H().call('GET', '/v1/vpns/acme')).body.routeTargets.anyToAny;
    for (const [node, n] of [['pe1', 1], ['pe2', 2]] as const) {
      const rd = (await H().call('GET', `/v1/vrfs/acme:${node}`)).body.routeDistinguisher;
      const vrfLabel = (await H().vpn.store.latest(node))!.state.lfibEntries.find((e) => e.owner === 'vrf:acme')!.inLabel;
      const rs = await peer().waitVpnRoutes('vpnv4', (x) => find(x, `10.${n}.0.0/16`).length === 1 && find(x, `172.16.${n}.0/30`).length === 1);
      for (const prefix of [`10.${n}.0.0/16`, `172.16.${n}.0/30`]) {
        const r = find(rs, prefix)[0]!;
        assert.deepEqual([r.rd, r.routeTargets, r.labels, r.nextHop], [rd, [rt], [vrfLabel], `198.51.100.${n}`], `${node} ${prefix}`);
      }
    }
  });

  test("the VPN's maxRoutesPerVrf is each of its VRFs' route limit on the speaker, and a site's site of origin rides its VPN routes", async () => {
    const api = bgp!.client;
    assert.equal((await H().call('PATCH', '/v1/vpns/acme', { body: { maxRoutesPerVrf: 500 } })).status, 200);
    assert.equal((await H().call('PATCH', '/v1/sites/acme-pe1', { body: { siteOfOrigin: '65000:11' } })).status, 200);
    const limits = async () => {
      const { vrfs } = await api.listVrfs({ name: '', owner: '', nameSuffix: '' });
      return Object.fromEntries(vrfs.filter((v) => v.config?.name.startsWith('acme@')).map((v) => [v.config!.name, v.config!.maxRoutes?.limit]));
    };
    // Compared as sets of keys: the speaker lists VRFs in the order they were defined, which the two PEs' reconciles race for.
    let seen: unknown;
    await eventually(() => `both VRFs of acme limited to 500 routes (last seen ${JSON.stringify(seen)})`, async () => isDeepStrictEqual((seen = await limits()), { 'acme@pe1': 500, 'acme@pe2': 500 }));
    // The origin is on pe1's site's paths (static route and access subnet), not on pe2's site's.
    const originsAt = async (vrf: string, origin: VrfPathOrigin) =>
      Object.fromEntries((await listVrfPaths(api, vrf, true)).filter((p) => p.origin === origin).map((p) => [p.prefix, p.path?.routeOrigins ?? []]));
    await eventually('pe1 to originate its site\'s routes with the site of origin', async () => {
      const local = await originsAt('acme@pe1', VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL);
      return JSON.stringify([local['10.1.0.0/16'], local['172.16.1.0/30']]) === JSON.stringify([['65000:11'], ['65000:11']]);
    });
    assert.deepEqual((await originsAt('acme@pe2', VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL))['10.2.0.0/16'], []);
    // The exported VPN route carries it (RFC 4364 §7), and the VRF importing it at pe2 keeps it.
    const vpnRoute = (await bgp!.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_LOCAL)).find((p) => p.prefix === '10.1.0.0/16' && p.source === 'local');
    assert.deepEqual(vpnRoute?.routeOrigins, ['65000:11']);
    assert.deepEqual((await originsAt('acme@pe2', VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED))['10.1.0.0/16'], ['65000:11']);
    // Taken off the site again: the path is replaced without it.
    assert.equal((await H().call('PATCH', '/v1/sites/acme-pe1', { body: { siteOfOrigin: null } })).status, 200);
    await eventually('the site of origin gone from pe1\'s path', async () => (await originsAt('acme@pe1', VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL))['10.1.0.0/16']?.length === 0);
  });

  test('a multi-homed site: each access\'s PE originates its routes under its own RD, the primary preferred by LOCAL_PREF (single-active) or none (all-active)', async () => {
    const api = bgp!.client;
    const dual = {
      id: 'acme-dual',
      vpn: 'acme',
      accesses: [
        { id: 'backup', node: 'pe2', interface: 'cust0', vlan: 150, ipv4: { peAddress: '172.16.51.1/30', ceAddress: '172.16.51.2' } },
        { id: 'primary', node: 'pe1', interface: 'cust0', vlan: 150, ipv4: { peAddress: '172.16.50.1/30', ceAddress: '172.16.50.2' }, priority: 200 },
      ],
      routing: { static: [{ prefix: '10.50.0.0/16' }] },
      siteOfOrigin: '65000:50',
    };
    const created = await H().call('POST', '/v1/sites', { body: dual });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.accesses.map((a: { id: string; priority: number }) => [a.id, a.priority]), [['primary', 200], ['backup', 100]], 'most preferred first');
    assert.equal(created.body.multihoming, 'single-active');
    assert.equal(created.body.node, undefined, 'no flat access for a multi-homed site');
    const [rd1, rd2] = await Promise.all(['pe1', 'pe2'].map(async (n) => (await H().call('GET', `/v1/vrfs/acme:${n}`)).body.routeDistinguisher));
    assert.notEqual(rd1, rd2, 'the two PEs\' VRFs have distinct RDs, so route reflectors keep both paths');
    // GoBGP (an iBGP peer, as a route reflector would be) gets both VPN routes: one per RD, LOCAL_PREF 200 from the primary's PE.
    const prefs = async () =>
      Object.fromEntries(find(await peer().vpnRoutes('vpnv4'), '10.50.0.0/16').map((r) => [r.rd, [r.nextHop, r.localPref]]));
    // Compared whatever the order GoBGP lists the two routes in.
    let seen: unknown;
    await eventually(() => `both VPN routes of the site at the external PE (last seen ${JSON.stringify(seen)})`, async () => isDeepStrictEqual((seen = await prefs()), { [rd1]: ['198.51.100.1', 200], [rd2]: ['198.51.100.2', 100] }));
    // Each PE originates the static route towards the CE on its own access, with the site of origin.
    for (const [vrf, ce] of [['acme@pe1', '172.16.50.2'], ['acme@pe2', '172.16.51.2']] as const) {
      const local = (await listVrfPaths(api, vrf, true)).find((p) => p.prefix === '10.50.0.0/16' && p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL);
      assert.deepEqual([local?.nextHop, local?.path?.routeOrigins, local?.path?.localPref], [ce, ['65000:50'], vrf === 'acme@pe1' ? 200 : 100], vrf);
    }
    // Each access's status comes from its own PE; the site is active when both are.
    await eventually('the dual-homed site active', async () => (await H().call('GET', '/v1/sites/acme-dual')).body.status.state === 'active');
    const got = (await H().call('GET', '/v1/sites/acme-dual')).body;
    assert.deepEqual(got.accesses.map((a: { status: { state: string } }) => a.status.state), ['active', 'active']);
    // all-active: equal preference everywhere.
    assert.equal((await H().call('PATCH', '/v1/sites/acme-dual', { body: { multihoming: 'all-active' } })).status, 200);
    await eventually(() => `equal LOCAL_PREF at the external PE (last seen ${JSON.stringify(seen)})`, async () => isDeepStrictEqual((seen = await prefs()), { [rd1]: ['198.51.100.1', 100], [rd2]: ['198.51.100.2', 100] }));
    // Listing by node finds it on both PEs; deleting it withdraws both routes and leaves the other sites' VRFs.
    for (const n of ['pe1', 'pe2']) assert.ok((await H().call('GET', `/v1/sites?node=${n}`)).body.items.some((x: { id: string }) => x.id === 'acme-dual'), n);
    assert.equal((await H().call('DELETE', '/v1/sites/acme-dual')).status, 204);
    await peer().waitVpnRoutes('vpnv4', (rs) => find(rs, '10.50.0.0/16').length === 0, 20_000);
  });

  test("each managed PE's stored desired state has the other's routes, towards the other's loopback", async () => {
    const pe2Label = (await H().vpn.store.latest('pe2'))!.state.lfibEntries.find((e) => e.owner === 'vrf:acme')!.inLabel;
    const r = await eventually('pe1 to hold 10.2.0.0/16', () => desiredRoute('pe1', '10.2.0.0/16'));
    assert.equal(r.nextHop?.$case, 'remote');
    if (r.nextHop?.$case === 'remote') assert.deepEqual([r.nextHop.value.remotePeAddress, r.nextHop.value.labels.at(-1)], ['198.51.100.2', pe2Label]);
    const back = await eventually('pe2 to hold 10.1.0.0/16', () => desiredRoute('pe2', '10.1.0.0/16'));
    assert.equal(back.nextHop?.$case === 'remote' && back.nextHop.value.remotePeAddress, '198.51.100.1');
  });

  test('a route announced by the external PE reaches the importing PEs\' desired state and GET /v1/vrfs/{id}, with no API write', async () => {
    const rt = (await H().call('GET', '/v1/vpns/acme')).body.routeTargets.anyToAny;
    await peer().addVpnRoute({ family: 'vpnv4', rd: '65000:9999', prefix: '10.99.0.0/16', label: 9001, routeTargets: [rt], nextHop: EXTERNAL_NH });
    for (const node of ['pe1', 'pe2']) {
      const r = await eventually(`${node} to hold the external route`, () => desiredRoute(node, '10.99.0.0/16'));
      assert.equal(r.nextHop?.$case, 'remote');
      if (r.nextHop?.$case === 'remote') assert.deepEqual([r.nextHop.value.remotePeAddress, r.nextHop.value.labels.at(-1), r.nextHop.value.rd], [EXTERNAL_NH, 9001, '65000:9999']);
    }
    const vrf = (await H().call('GET', '/v1/vrfs/acme:pe1')).body;
    assert.equal(vrf.routes.state, 'available');
    const ext = vrf.routes.routes.find((r: { prefix: string }) => r.prefix === '10.99.0.0/16');
    assert.deepEqual(ext, { prefix: '10.99.0.0/16', nextHop: EXTERNAL_NH, labels: [9001], routeDistinguisher: '65000:9999', routeTargets: [rt], origin: 'remote', best: true });
    const own = vrf.routes.routes.find((r: { prefix: string }) => r.prefix === '10.1.0.0/16');
    assert.deepEqual([own.origin, own.routeDistinguisher, own.routeTargets], ['local', vrf.routeDistinguisher, [rt]]);
    assert.ok(vrf.routes.routes.some((r: { prefix: string; origin: string; nextHop: string }) => r.prefix === '10.2.0.0/16' && r.origin === 'remote' && r.nextHop === '198.51.100.2'));
    // Withdrawn by the external PE: gone from the desired state again.
    await peer().deleteVpnRoute({ family: 'vpnv4', rd: '65000:9999', prefix: '10.99.0.0/16' });
    await eventually('pe1 to drop the external route', async () => (await desiredRoute('pe1', '10.99.0.0/16')) === undefined);
  });

  test('deleting a site withdraws its routes at the external PE and from the other PE', async () => {
    const deleted = await H().call('DELETE', '/v1/sites/acme-pe2');
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    await peer().waitVpnRoutes('vpnv4', (rs) => find(rs, '10.2.0.0/16').length === 0 && find(rs, '172.16.2.0/30').length === 0, 20_000);
    assert.equal(find(await peer().vpnRoutes('vpnv4'), '10.1.0.0/16').length, 1);
    await eventually('pe1 to drop 10.2.0.0/16', async () => (await desiredRoute('pe1', '10.2.0.0/16')) === undefined);
  });

  test('after the bgp service restarts empty, the next reconciles define and originate everything again', async () => {
    const port = bgp!.svc.grpcPort;
    await bgp!.stop();
    await peer().waitVpnRoutes('vpnv4', (rs) => rs.length === 0, 20_000);
    bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.25.100', BGP_LISTEN_ADDRESS: US, BGP_PORT: '179', BGP_GRPC_LISTEN: `127.0.0.1:${port}` }, [
      { address: EXTERNAL, 'remote-as': AS, families: ['vpn-ipv4', 'vpn-ipv6'], 'connect-retry-time': 1 },
    ]);
    await peer().waitEstablished(US, 30_000);
    const rs = await peer().waitVpnRoutes('vpnv4', (x) => find(x, '10.1.0.0/16').length === 1 && find(x, '172.16.1.0/30').length === 1, 30_000);
    assert.equal(find(rs, '10.1.0.0/16')[0]!.nextHop, '198.51.100.1');
  });
});

// The bgp service alone, with no BGP neighbour at all (the lab and bench
// set-up before an external PE is up): every call must still answer at once.
describe('vpn over a bgp service with no BGP neighbour', { timeout: 120_000 }, () => {
  let bgp: StartedBgp | undefined;
  let h: ReconcileHarness | undefined;
  let api: BgpApi | undefined;
  const H = () => h!;
  const localPaths = async (vrf: string) => (await listVrfPaths(api!, vrf, true)).filter((p) => p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL);
  const statics = (n: number) => Array.from({ length: n }, (_, i) => ({ prefix: `10.${100 + (i >> 8)}.${i & 255}.0/24` }));

  before(async () => {
    bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.25.103', BGP_LISTEN_ADDRESS: '127.0.25.3', BGP_PORT: '179' });
    api = bgpApi(`127.0.0.1:${bgp.svc.grpcPort}`, callerAs('service:vpn'));
    h = await startReconcileHarness({ VPN_BGP_ADDRESS: `127.0.0.1:${bgp.svc.grpcPort}`, VPN_ORIGINATE_AFTER_INSTALL: 'false' });
    assert.equal((await H().call('POST', '/v1/nodes', { body: pe('pe1', 1) })).status, 201);
    assert.equal((await H().call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme' } })).status, 201);
    // pe1's first reconcile done before the sites come: a job that ends marks
    // every site of its node active, even one created while it ran (issue 12,
    // status), and the site's own job would still be to come.
    await eventually('pe1 reconciled', async () => (await H().call('GET', '/v1/nodes/pe1')).body.status.state === 'active');
  });
  after(async () => {
    api?.close();
    await h?.stop();
    await bgp?.stop();
  });

  test('a site with 1,000 static routes becomes active in seconds, every route originated on the speaker; shrinking it withdraws the rest', async () => {
    assert.equal((await H().call('POST', '/v1/sites', { body: { ...site('big', 'pe1', 1), routing: { static: statics(1000) } } })).status, 201);
    await eventually('site big active', async () => (await H().call('GET', '/v1/sites/big')).body.status.state === 'active', 15_000);
    const label = (await H().vpn.store.latest('pe1'))!.state.lfibEntries.find((e) => e.owner === 'vrf:acme')!.inLabel;
    const paths = await localPaths('acme@pe1');
    assert.equal(paths.length, 1001, 'every static route and the connected subnet');
    assert.ok(paths.every((p) => p.label === label));
    assert.equal((await H().call('PATCH', '/v1/sites/big', { body: { routing: { static: statics(10) } } })).status, 200);
    await eventually('the speaker to hold 11 local paths', async () => (await localPaths('acme@pe1')).length === 11, 15_000);
  });

  test('a VRF the speaker does not have answers at once: GET /v1/vrfs/{id} says so, and the next reconcile defines it again', async () => {
    await api!.deleteVrf({ name: 'acme@pe1', owner: '' });
    // The speaker's NOT_FOUND is the answer (the reason says so), not a deadline run out.
    const routes = (await H().call('GET', '/v1/vrfs/acme:pe1')).body.routes;
    assert.deepEqual([routes.state, routes.reason], ['unavailable', 'the bgp service has no VRF acme@pe1 yet (defined by the reconcile of node pe1)']);
    await H().vpn.queue.enqueue(['pe1']);
    await eventually('acme@pe1 back with its 11 paths', async () => (await localPaths('acme@pe1').catch(() => [])).length === 11, 15_000);
  });
});
