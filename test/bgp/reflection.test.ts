// services/bgp as a route reflector (RFC 4456) between real routers:
//
//     frr   127.0.22.2 (client) ─┐
//     bird  127.0.22.3 (client) ─┼── services/bgp 127.0.22.1, RR, CLUSTER_ID 10.22.22.22 (in-process)
//     gobgp 127.0.22.4 (client) ─┘
//
// A route from one client reaches the others with ORIGINATOR_ID (the
// originating client's router id) and CLUSTER_LIST (our cluster id), read
// back in the receivers' own CLIs; a better path from another client
// replaces the best everywhere; withdrawals propagate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/eventually.js';
import { requirePeers, startPeer, type PeerHandle, type PeerKind, type VpnRoute, type VpnRouteSpec } from '../peers/index.js';
import type { BirdPeer } from '../peers/bird.js';
import type { FrrPeer } from '../peers/frr.js';
import { startTestBgp, type StartedBgp } from './support.js';

const AS = 65000;
const US = '127.0.22.1';
const CLUSTER = '10.22.22.22';
const ADDR: Record<PeerKind, string> = { frr: '127.0.22.2', bird: '127.0.22.3', gobgp: '127.0.22.4' };
const RID: Record<PeerKind, string> = { frr: '10.255.22.2', bird: '10.255.22.3', gobgp: '10.255.22.4' };
const KINDS: PeerKind[] = ['frr', 'bird', 'gobgp'];
const skip = requirePeers(...KINDS);

const FROM_FRR: VpnRouteSpec = { family: 'vpnv4', rd: '65000:700', prefix: '10.70.0.0/24', label: 7001, routeTargets: ['65000:1'], nextHop: '198.51.100.70' };
const FROM_BIRD: VpnRouteSpec = { family: 'vpnv4', rd: '65000:701', prefix: '10.71.0.0/24', label: 7002, routeTargets: ['65000:1'], nextHop: '198.51.100.71' };
/** The same destination as FROM_FRR with a higher LOCAL_PREF: the better path. */
const BETTER: VpnRouteSpec = { ...FROM_FRR, label: 7003, nextHop: '198.51.100.72', localPref: 200 };

const find = (rs: VpnRoute[], s: VpnRouteSpec) => rs.find((r) => r.rd === s.rd && r.prefix === s.prefix);

/** ORIGINATOR_ID and CLUSTER_LIST of the best path, from BIRD's `show route all`. */
async function birdReflection(bird: BirdPeer, s: VpnRouteSpec): Promise<{ originatorId?: string; clusterList?: string[] }> {
  const text = await bird.birdc(['show', 'route', 'all', 'table', 'vpntab4', 'primary']);
  const at = text.indexOf(`${s.rd} ${s.prefix}`);
  if (at < 0) return {};
  const block = text.slice(at).split(/\n(?=\S)/)[0]!;
  const originatorId = /BGP\.originator_id:\s*(\S+)/.exec(block)?.[1];
  const cluster = /BGP\.cluster_list:\s*([^\n]+)/.exec(block)?.[1];
  return { originatorId, clusterList: cluster?.trim().split(/\s+/) };
}

/** ORIGINATOR_ID, CLUSTER_LIST and next hop of every path FRR holds for a destination (`show bgp ipv4 vpn rd RD PREFIX json`). */
async function frrPaths(frr: FrrPeer, s: VpnRouteSpec): Promise<{ originatorId?: string; clusterList?: string[]; nextHop?: string }[]> {
  const j = JSON.parse(await frr.vtysh([`show bgp ipv4 vpn rd ${s.rd} ${s.prefix} json`])) as Record<
    string,
    { paths?: { originatorId?: string; clusterList?: { list?: string[] }; nexthops?: { ip: string }[] }[] }
  >;
  return (j[s.rd]?.paths ?? []).map((p) => ({ originatorId: p.originatorId, clusterList: p.clusterList?.list, nextHop: p.nexthops?.[0]?.ip }));
}

test('services/bgp reflects VPN routes between FRR, BIRD and GoBGP clients (RFC 4456)', { skip, timeout: 90_000 }, async (t) => {
  const peers = new Map<PeerKind, PeerHandle>();
  let bgp: StartedBgp | undefined;
  t.after(async () => {
    await Promise.all([...peers.values()].map((p) => p.stop()));
    await bgp?.stop();
  });
  bgp = await startTestBgp(
    { BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.22.1', BGP_CLUSTER_ID: CLUSTER, BGP_LISTEN_ADDRESS: US, BGP_PORT: '179' },
    KINDS.map((k) => ({ address: ADDR[k], 'remote-as': AS, families: ['vpn-ipv4'], 'route-reflector-client': true, 'connect-retry-time': 2, description: k })),
  );
  const us = bgp;
  await Promise.all(
    KINDS.map(async (k) => {
      peers.set(k, await startPeer(k, { name: `${k}-rr`, routerId: RID[k], address: ADDR[k], localAs: AS, neighbors: [{ address: US, remoteAs: AS, families: ['vpnv4'] }] }));
    }),
  );
  const frr = peers.get('frr') as FrrPeer;
  const bird = peers.get('bird') as BirdPeer;
  const gobgp = peers.get('gobgp')!;
  await Promise.all(KINDS.map((k) => peers.get(k)!.waitEstablished(US, 20_000)));

  await t.test('a route from FRR reaches BIRD and GoBGP with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    await frr.addVpnRoute(FROM_FRR);
    for (const p of [bird, gobgp]) {
      const rs = await p.waitVpnRoutes('vpnv4', (r) => find(r, FROM_FRR) !== undefined, 15_000);
      const got = find(rs, FROM_FRR)!;
      assert.deepEqual([got.labels, got.nextHop, got.routeTargets], [[FROM_FRR.label], FROM_FRR.nextHop, FROM_FRR.routeTargets], `at ${p.kind}`);
    }
    assert.deepEqual(await birdReflection(bird, FROM_FRR), { originatorId: RID.frr, clusterList: [CLUSTER] });
    // Not reflected back to its sender: FRR holds only its own path.
    assert.deepEqual((await frrPaths(frr, FROM_FRR)).map((p) => p.originatorId), [undefined]);
  });

  await t.test('a route from BIRD reaches FRR with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    await bird.addVpnRoute(FROM_BIRD);
    await frr.waitVpnRoutes('vpnv4', (r) => find(r, FROM_BIRD) !== undefined, 15_000);
    assert.deepEqual(await frrPaths(frr, FROM_BIRD), [{ originatorId: RID.bird, clusterList: [CLUSTER], nextHop: FROM_BIRD.nextHop }]);
  });

  await t.test('a better path from GoBGP replaces our best: BIRD switches, FRR (its own path best there) now hears it', async () => {
    await gobgp.addVpnRoute(BETTER);
    await bird.waitVpnRoutes('vpnv4', (r) => find(r, BETTER)?.nextHop === BETTER.nextHop, 15_000);
    assert.deepEqual(await birdReflection(bird, BETTER), { originatorId: RID.gobgp, clusterList: [CLUSTER] });
    const atFrr = await eventually(
      () => 'FRR never received the better path',
      async () => (await frrPaths(frr, BETTER)).find((p) => p.nextHop === BETTER.nextHop),
      15_000,
    );
    assert.deepEqual(atFrr, { originatorId: RID.gobgp, clusterList: [CLUSTER], nextHop: BETTER.nextHop });
  });

  await t.test('withdrawals propagate: the better path goes, the first one comes back, then none', async () => {
    await gobgp.deleteVpnRoute(BETTER);
    await bird.waitVpnRoutes('vpnv4', (r) => find(r, FROM_FRR)?.nextHop === FROM_FRR.nextHop, 15_000);
    await frr.deleteVpnRoute(FROM_FRR);
    await bird.waitVpnRoutes('vpnv4', (r) => find(r, FROM_FRR) === undefined, 15_000);
    await gobgp.waitVpnRoutes('vpnv4', (r) => find(r, FROM_FRR) === undefined, 15_000);
    await eventually(() => 'our Loc-RIB still holds withdrawn routes', async () => ([...us.svc.speaker.bests({ afi: 1, safi: 128 })].length === 1 ? true : undefined), 5000);
  });
});
