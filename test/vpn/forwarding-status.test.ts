// Status means forwarding, controller side: the vpn service over the real
// bgp service with fake agents (ReportStatus sent by the test). A site is
// active only once its PE's agent reports its entries applied; a failed
// entry makes it failed with the agent's words and withdraws its routes; a
// PE-CE port reported down makes it down and withdraws them; a silent agent
// makes its node unreachable, keeps what it forwards advertised and holds
// back what is new. Everything heals from reports alone, with no API write.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportStatusRequest, type EntryFailure, type PortState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { bgpApi, listVrfPaths, type BgpApi } from '../../services/vpn/routes/bgp-client.js';
import { callerAs } from '../support/service-auth.js';
import { VrfPathOrigin } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { startTestBgp, type StartedBgp } from '../bgp/support.js';
import { eventually, startReconcileHarness, type ReconcileHarness } from './reconcile-support.js';

const pe = (id: string, n: number) => ({
  id,
  role: 'PE',
  routerId: `10.255.26.${n}`,
  loopback: `198.51.100.${n}`,
  asNumber: 65000,
  transport: 'external',
});
const site = (id: string, node: string, n: number, itf = 'cust0') => ({
  id,
  vpn: 'acme',
  node,
  interface: itf,
  vlan: 100 + n,
  ipv4: { peAddress: `172.16.${n}.1/30`, ceAddress: `172.16.${n}.2` },
  routing: { static: [{ prefix: `10.${n}.0.0/16` }] },
});

describe('status means forwarding (fake agents, real bgp service)', { timeout: 180_000 }, () => {
  let bgp: StartedBgp;
  let api: BgpApi;
  let h: ReconcileHarness;
  /** What each fake agent says besides "applied the latest generation". */
  const says: Record<string, { failures?: EntryFailure[]; ports?: PortState[] }> = { pe1: {}, pe2: {} };

  const status = async (path: string) => (await h.call('GET', path)).body.status as { state: string; reason?: string };
  const idle = () =>
    eventually('the reconcile queue to drain', async () => {
      const c = await h.vpn.queue.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    }, 30_000);
  const report = async (node: string) => {
    const { client, metadata } = await h.agent(node);
    const latest = await h.vpn.store.latest(node);
    const req = ReportStatusRequest.fromPartial({ node, appliedGeneration: latest?.generation ?? 0, driver: 'fake', ...says[node] });
    await new Promise((resolve, reject) => client.reportStatus(req, metadata, (e, r) => (e ? reject(e) : resolve(r))));
  };
  /** Waits for `condition` while both fake agents keep applying whatever is stored and reporting it (as real agents would). */
  const converge = (what: string, condition: () => Promise<boolean>) =>
    eventually(what, async () => {
      for (const n of ['pe1', 'pe2']) await report(n);
      return condition();
    }, 30_000);
  const state = async (path: string) => (await status(path)).state;
  const desiredAt = async (node: string, prefix: string) => (await h.vpn.store.latest(node))?.state.vrfRoutes.some((r) => r.vrf === 'acme' && r.prefix === prefix) ?? false;
  const advertised = async (node: string) =>
    (await listVrfPaths(api, `acme@${node}`, true)).filter((p) => p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL).map((p) => p.prefix).sort();

  before(async () => {
    bgp = await startTestBgp({ BGP_AS: '65000', BGP_ROUTER_ID: '10.255.26.100', BGP_PORT: '0' });
    api = bgpApi(`127.0.0.1:${bgp.svc.grpcPort}`, callerAs('service:vpn'));
    h = await startReconcileHarness({
      VPN_BGP_ADDRESS: `127.0.0.1:${bgp.svc.grpcPort}`,
      VPN_ORIGINATE_AFTER_INSTALL: 'true',
      VPN_REQUIRE_AGENTS: 'true',
      VPN_AGENT_TIMEOUT_SECONDS: '2',
    });
    for (const [id, n] of [['pe1', 1], ['pe2', 2]] as const) assert.equal((await h.call('POST', '/v1/nodes', { body: pe(id, n) })).status, 201);
    assert.equal((await h.call('POST', '/v1/vpns', { body: { id: 'acme', customer: 'acme' } })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: site('s1', 'pe1', 1) })).status, 201);
    assert.equal((await h.call('POST', '/v1/sites', { body: site('s2', 'pe2', 2) })).status, 201);
  });
  after(async () => {
    api?.close();
    await h?.stop();
    await bgp?.stop();
  });

  test('nothing is active or advertised before the agents report; their reports make everything active', async () => {
    await idle();
    assert.ok((await h.vpn.store.latest('pe1'))?.state.vrfs.some((v) => v.name === 'acme'), 'pe1 has a desired state with the VRF');
    for (const path of ['/v1/sites/s1', '/v1/vrfs/acme:pe1', '/v1/vpns/acme', '/v1/nodes/pe1']) {
      const st = await status(path);
      assert.equal(st.state, 'provisioning', path);
      assert.match(st.reason ?? '', /waiting for the agent of pe1 \(it has not reported yet\)/, path);
    }
    assert.deepEqual(await advertised('pe1'), []);
    await converge("everything active, pe1's site at pe2", async () => (await state('/v1/vpns/acme')) === 'active' && (await state('/v1/nodes/pe1')) === 'active' && (await state('/v1/nodes/pe2')) === 'active' && (await desiredAt('pe2', '10.1.0.0/16')));
    for (const path of ['/v1/sites/s1', '/v1/sites/s2', '/v1/vrfs/acme:pe1', '/v1/vrfs/acme:pe2', '/v1/vpns/acme', '/v1/nodes/pe1', '/v1/nodes/pe2']) {
      assert.deepEqual(await status(path), { state: 'active' }, path);
    }
    assert.deepEqual(await advertised('pe1'), ['10.1.0.0/16', '172.16.1.0/30']);
    assert.ok(await desiredAt('pe2', '10.1.0.0/16'), "pe1's site reaches pe2's desired state");
  });

  test("an entry the agent failed: the site is failed with the agent's words everywhere, and its routes are withdrawn; fixed, it is active again", async () => {
    says.pe1 = { failures: [{ key: { key: { $case: 'vrf', value: 'acme' } }, kind: 1, reason: 'no port cust0 on the bridge', generation: 0 }] };
    await converge('s1 failed and withdrawn from pe2', async () => (await state('/v1/sites/s1')) === 'failed' && (await state('/v1/vpns/acme')) === 'degraded' && !(await desiredAt('pe2', '10.1.0.0/16')));
    assert.deepEqual(await status('/v1/sites/s1'), { state: 'failed', reason: 'pe1: no port cust0 on the bridge' });
    assert.deepEqual(await status('/v1/vrfs/acme:pe1'), { state: 'failed', reason: 'pe1: no port cust0 on the bridge' });
    assert.equal((await status('/v1/vpns/acme')).state, 'degraded');
    assert.match((await status('/v1/vpns/acme')).reason ?? '', /pe1: no port cust0 on the bridge/);
    assert.equal((await status('/v1/nodes/pe1')).state, 'degraded');
    assert.deepEqual(await advertised('pe1'), [], 'a route whose entries failed is withdrawn');
    assert.equal(await desiredAt('pe2', '10.1.0.0/16'), false, 'pe2 no longer sends traffic into the broken site');
    const metrics = await h.vpn.metrics!.getSingleMetricAsString('l3vpn_vpn_resources');
    assert.match(metrics, /l3vpn_vpn_resources\{kind="site",status="failed",service="vpn"\} 1/);

    says.pe1 = {};
    await converge('s1 active and back at pe2', async () => (await state('/v1/sites/s1')) === 'active' && (await state('/v1/vpns/acme')) === 'active' && (await desiredAt('pe2', '10.1.0.0/16')));
    assert.deepEqual(await status('/v1/sites/s1'), { state: 'active' });
    assert.deepEqual(await status('/v1/vpns/acme'), { state: 'active' });
    assert.ok(await desiredAt('pe2', '10.1.0.0/16'));
  });

  test('a PE-CE port reported down: the site is down and withdrawn; port up restores it', async () => {
    says.pe1 = { ports: [{ interface: 'cust0', up: false, reason: 'link down' }] };
    await converge('s1 down and withdrawn from pe2', async () => (await state('/v1/sites/s1')) === 'down' && (await state('/v1/vpns/acme')) === 'degraded' && !(await desiredAt('pe2', '10.1.0.0/16')));
    assert.deepEqual(await status('/v1/sites/s1'), { state: 'down', reason: 'pe1: cust0 is down: link down' });
    assert.equal((await status('/v1/vpns/acme')).state, 'degraded');
    assert.deepEqual(await advertised('pe1'), []);
    assert.equal(await desiredAt('pe2', '10.1.0.0/16'), false);
    assert.ok(await desiredAt('pe1', '10.2.0.0/16'), 'the down site still receives the other sites\' routes (nothing it imports changes)');

    says.pe1 = { ports: [{ interface: 'cust0', up: true, reason: '' }] };
    await converge('s1 active and back at pe2', async () => (await state('/v1/sites/s1')) === 'active' && (await desiredAt('pe2', '10.1.0.0/16')));
    assert.deepEqual(await status('/v1/sites/s1'), { state: 'active' });
    assert.deepEqual(await advertised('pe1'), ['10.1.0.0/16', '172.16.1.0/30']);
    assert.ok(await desiredAt('pe2', '10.1.0.0/16'));
  });

  test("a dual-homed site with eBGP to its CE: each access's relayed peer carries its LOCAL_PREF (200 primary, 100 backup); the primary's port down deletes its peer and its desired-state session (the CE's routes go now, not at the hold timer); port up brings them back", async () => {
    const dual = {
      id: 'dualbgp',
      vpn: 'acme',
      accesses: [
        { id: 'west', node: 'pe1', interface: 'cust2', vlan: 170, ipv4: { peAddress: '172.16.70.1/30', ceAddress: '172.16.70.2' }, priority: 200 },
        { id: 'east', node: 'pe2', interface: 'cust2', vlan: 171, ipv4: { peAddress: '172.16.71.1/30', ceAddress: '172.16.71.2' } },
      ],
      routing: { bgp: { peerAs: 65170 } },
    };
    assert.equal((await h.call('POST', '/v1/sites', { body: dual })).status, 201);
    const peers = async () =>
      Object.fromEntries((await bgp.client.listPeers({ address: '' })).peers.filter((p) => p.config?.address.startsWith('172.16.7')).map((p) => [p.config!.vrf, p.config!.localPref] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    const sessions = async (node: string) => (await h.vpn.store.latest(node))?.state.vrfs.find((v) => v.vpn === 'acme')?.interfaces.find((i) => i.name === 'cust2')?.bgpSessions.length ?? 0;
    // The reconcile defines the peers in BGP before it saves the desired state naming the sessions: wait for both.
    await converge('both PEs with the CE peer', async () => JSON.stringify(await peers()) === JSON.stringify({ 'acme@pe1': 200, 'acme@pe2': 100 }) && (await sessions('pe1')) === 1);

    says.pe1 = { ports: [{ interface: 'cust2', up: false, reason: 'link down' }] };
    await converge("pe1's peer gone with its port, and pe1's agent no longer told to accept the session", async () => JSON.stringify(await peers()) === JSON.stringify({ 'acme@pe2': 100 }) && (await sessions('pe1')) === 0);
    assert.equal(await sessions('pe2'), 1);

    says.pe1 = {};
    let seen = '';
    await converge("pe1's peer back", async () => (seen = JSON.stringify(await peers())) === JSON.stringify({ 'acme@pe1': 200, 'acme@pe2': 100 }) && (await sessions('pe1')) === 1).catch(async (e: Error) => {
      throw new Error(`${e.message}; peers ${seen}; pe1 sessions ${await sessions('pe1')}; access ${JSON.stringify((await h.call('GET', '/v1/sites/dualbgp')).body.accesses)}`);
    });
    assert.equal((await h.call('DELETE', '/v1/sites/dualbgp')).status, 204);
    await converge('both PEs active after the deletion', async () => (await status('/v1/nodes/pe1')).state === 'active' && (await status('/v1/nodes/pe2')).state === 'active');
  });

  test("a dual-homed site: the primary access's port down makes that access down, the site degraded, and withdraws its routes at that PE only, so the other PEs reach the site over the backup; port up reverts", async () => {
    const dual = {
      id: 'dual',
      vpn: 'acme',
      accesses: [
        { id: 'west', node: 'pe1', interface: 'cust1', vlan: 160, ipv4: { peAddress: '172.16.60.1/30', ceAddress: '172.16.60.2' }, priority: 200 },
        { id: 'east', node: 'pe2', interface: 'cust1', vlan: 161, ipv4: { peAddress: '172.16.61.1/30', ceAddress: '172.16.61.2' } },
      ],
      routing: { static: [{ prefix: '10.60.0.0/16' }] },
    };
    assert.equal((await h.call('POST', '/v1/sites', { body: dual })).status, 201);
    const accessStates = async () => Object.fromEntries(((await h.call('GET', '/v1/sites/dual')).body.accesses as { id: string; status: { state: string; reason?: string } }[]).map((a) => [a.id, a.status]));
    await converge('both accesses active, both PEs advertising the site', async () => (await state('/v1/sites/dual')) === 'active' && (await advertised('pe1')).includes('10.60.0.0/16') && (await advertised('pe2')).includes('10.60.0.0/16'));
    assert.deepEqual(await accessStates(), { west: { state: 'active' }, east: { state: 'active' } });

    says.pe1 = { ports: [{ interface: 'cust1', up: false, reason: 'link down' }] };
    await converge('the primary access down, the site degraded', async () => (await state('/v1/sites/dual')) === 'degraded' && !(await advertised('pe1')).includes('10.60.0.0/16'));
    assert.deepEqual(await accessStates(), { west: { state: 'down', reason: 'pe1: cust1 is down: link down' }, east: { state: 'active' } });
    assert.deepEqual(await status('/v1/sites/dual'), { state: 'degraded', reason: 'access west: pe1: cust1 is down: link down' });
    assert.ok((await advertised('pe2')).includes('10.60.0.0/16'), 'the backup PE keeps advertising the site');
    // pe1 now reaches the site through pe2's VPN route, and so would every other PE.
    await converge('pe1 to route 10.60.0.0/16 to pe2', async () => {
      const r = (await h.vpn.store.latest('pe1'))?.state.vrfRoutes.find((x) => x.vrf === 'acme' && x.prefix === '10.60.0.0/16');
      return r?.nextHop?.$case === 'remote' && r.nextHop.value.remotePeAddress === '198.51.100.2';
    });
    assert.equal(await state('/v1/sites/s1'), 'active', 'the other site on pe1 is untouched');

    says.pe1 = {};
    await converge('the primary back', async () => (await state('/v1/sites/dual')) === 'active' && (await advertised('pe1')).includes('10.60.0.0/16'));
    assert.deepEqual(await accessStates(), { west: { state: 'active' }, east: { state: 'active' } });
    assert.equal((await h.call('DELETE', '/v1/sites/dual')).status, 204);
    // The next test starts from both PEs active again: the deletion reconciles them, and their agents must report it.
    await converge('both PEs active after the deletion', async () => (await status('/v1/nodes/pe1')).state === 'active' && (await status('/v1/nodes/pe2')).state === 'active');
  });

  test('a silent agent: its node turns unreachable; what it forwards stays advertised, a new site on it waits and says why; its report restores everything', async () => {
    // pe2 keeps reporting (heartbeats), pe1 goes silent.
    const heartbeat = setInterval(() => void report('pe2').catch(() => undefined), 300);
    try {
      await eventually('pe1 unreachable', async () => (await status('/v1/nodes/pe1')).state === 'unreachable', 20_000);
      assert.match((await status('/v1/nodes/pe1')).reason ?? '', /^no word from the agent of pe1 since \d{4}-\d\d-\d\dT/);
      assert.equal((await status('/v1/nodes/pe2')).state, 'active');
      const nodeStatus = await h.vpn.metrics!.getSingleMetricAsString('l3vpn_vpn_node_status');
      assert.match(nodeStatus, /l3vpn_vpn_node_status\{node="pe1",status="unreachable",service="vpn"\} 1/);
      assert.equal((await status('/v1/sites/s1')).state, 'unreachable');
      assert.deepEqual(await advertised('pe1'), ['10.1.0.0/16', '172.16.1.0/30'], 'headless forwarding: what it installed stays advertised');

      assert.equal((await h.call('POST', '/v1/sites', { body: site('s3', 'pe1', 3, 'cust1') })).status, 201);
      await eventually("s3's entries in pe1's desired state", async () => desiredAt('pe1', '10.3.0.0/16'));
      await idle();
      const st = await status('/v1/sites/s3');
      assert.equal(st.state, 'provisioning');
      assert.match(st.reason ?? '', /^waiting for the agent of pe1: unreachable since /);
      assert.deepEqual(await advertised('pe1'), ['10.1.0.0/16', '172.16.1.0/30'], 'the new site is not advertised');
      assert.equal(await desiredAt('pe2', '10.3.0.0/16'), false);
    } finally {
      clearInterval(heartbeat);
    }
    // pe1's agent is back: its report alone restores it.
    await converge('pe1 and its sites active, s3 at pe2', async () => (await state('/v1/nodes/pe1')) === 'active' && (await state('/v1/sites/s3')) === 'active' && (await state('/v1/vpns/acme')) === 'active' && (await desiredAt('pe2', '10.3.0.0/16')));
    for (const path of ['/v1/nodes/pe1', '/v1/sites/s1', '/v1/sites/s3', '/v1/vpns/acme']) assert.deepEqual(await status(path), { state: 'active' }, path);
    assert.ok(await desiredAt('pe2', '10.3.0.0/16'));
  });
});
