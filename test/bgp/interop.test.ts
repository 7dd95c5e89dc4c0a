// services/bgp against the real GoBGP, FRR and BIRD (test/peers harness).
//
//     gobgp 127.0.20.2 ─┐
//     frr   127.0.20.3 ─┼── iBGP AS 65000 ── services/bgp 127.0.20.1 (in-process)
//     bird  127.0.20.4 ─┘
//
// Everything about the peers is read through their own CLIs; everything
// about us through our gRPC API. iBGP keeps NEXT_HOP and LOCAL_PREF as sent,
// so a route reads back identically on the other side. VPN-IPv4 next hops are
// in 198.51.100/24 (FRR drops 127/8 ones as martian).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Family as ProtoFamily, SessionState, type Path } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { eventually } from '../support/eventually.js';
import { requirePeers, startPeer, type PeerHandle, type PeerKind, type VpnRoute, type VpnRouteSpec } from '../peers/index.js';
import { TableType, startTestBgp, type StartedBgp } from './support.js';

const AS = 65000;
const US = '127.0.20.1';
const ADDR: Record<PeerKind, string> = { gobgp: '127.0.20.2', frr: '127.0.20.3', bird: '127.0.20.4' };
const KINDS: PeerKind[] = ['gobgp', 'frr', 'bird'];
const skip = requirePeers(...KINDS);

const proto = (f: 'vpnv4' | 'vpnv6') => (f === 'vpnv4' ? ProtoFamily.FAMILY_VPN_IPV4 : ProtoFamily.FAMILY_VPN_IPV6);

/** What we originate: the three RD types, 2- and 4-octet-AS route targets, both VPN families. */
const OURS: VpnRouteSpec[] = [
  { family: 'vpnv4', rd: '65000:100', prefix: '10.50.0.0/24', label: 5001, routeTargets: ['65000:1', '4200000000:7'], nextHop: '198.51.100.50', localPref: 150 },
  { family: 'vpnv4', rd: '192.0.2.1:5', prefix: '10.51.1.0/24', label: 5002, routeTargets: ['192.0.2.1:9'], nextHop: '198.51.100.51', localPref: 100 },
  { family: 'vpnv6', rd: '4200000000:100', prefix: '2001:db8:50::/48', label: 5003, routeTargets: ['65000:1'], nextHop: '2001:db8:ffff::50', localPref: 100 },
];

function theirs(i: number): VpnRouteSpec[] {
  const n = i + 1;
  return [
    { family: 'vpnv4', rd: `65000:${300 + n}`, prefix: `10.6${n}.0.0/16`, label: 6000 + n, routeTargets: ['65000:1', '4200000000:7'], nextHop: `198.51.100.${60 + n}` },
    { family: 'vpnv6', rd: `65000:${300 + n}`, prefix: `2001:db8:6${n}::/48`, label: 6100 + n, routeTargets: ['65000:2'], nextHop: `2001:db8:ffff::6${n}` },
  ];
}

function protoPath(s: VpnRouteSpec): Path {
  return {
    family: proto(s.family),
    rd: s.rd,
    prefix: s.prefix,
    labels: [s.label],
    nextHop: s.nextHop,
    routeTargets: s.routeTargets,
    routeOrigins: [],
    extendedCommunities: [],
    communities: [],
    localPref: s.localPref,
    asPath: [],
    origin: 0,
    atomicAggregate: false,
    originatorId: '',
    clusterList: [],
    unknownAttributes: [],
    source: '',
    stale: false,
  };
}

const has = (routes: VpnRoute[], s: VpnRouteSpec) => routes.some((r) => r.rd === s.rd && r.prefix === s.prefix);

test('services/bgp interoperates with GoBGP, FRR and BIRD', { skip, timeout: 80_000 }, async (t) => {
  const peers = new Map<PeerKind, PeerHandle>();
  let bgp: StartedBgp | undefined;
  t.after(async () => {
    await Promise.all([...peers.values()].map((p) => p.stop()));
    await bgp?.stop();
  });
  bgp = await startTestBgp(
    { BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.20.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '179' },
    KINDS.map((k) => ({ address: ADDR[k], 'remote-as': AS, families: ['ipv4-unicast', 'vpn-ipv4', 'vpn-ipv6'], 'connect-retry-time': 2, description: k })),
  );
  const us = bgp;
  await Promise.all(
    KINDS.map(async (k, i) => {
      peers.set(
        k,
        await startPeer(k, {
          name: `${k}-interop`,
          routerId: `10.255.20.${i + 2}`,
          address: ADDR[k],
          localAs: AS,
          neighbors: [{ address: US, remoteAs: AS, families: ['ipv4-unicast', 'vpnv4', 'vpnv6'] }],
        }),
      );
    }),
  );
  const peer = (k: PeerKind) => peers.get(k)!;

  await t.test('sessions reach Established with IPv4 unicast, VPN-IPv4 and VPN-IPv6 on both sides', async () => {
    await Promise.all(KINDS.map((k) => peer(k).waitEstablished(US, 20_000)));
    for (const k of KINDS) {
      const info = await peer(k).neighborInfo(US);
      assert.equal(info.state, 'Established', k);
      assert.deepEqual([...info.families].sort(), ['ipv4-unicast', 'vpnv4', 'vpnv6'], `${k}'s view of the families`);
      const ours = await us.peer(ADDR[k]);
      assert.equal(ours.status?.sessionState, SessionState.SESSION_STATE_ESTABLISHED, `our view of ${k}`);
      assert.deepEqual([...ours.status!.negotiatedFamilies].sort(), [1, 3, 4]);
      assert.equal(ours.status!.negotiatedHoldTime > 0, true);
      assert.ok(ours.status!.received!.open === 1 && ours.status!.sent!.open >= 1, 'OPEN counters');
    }
  });

  await t.test('our VPN routes read back identically in their CLIs', async () => {
    for (const s of OURS) await us.client.addPath({ path: protoPath(s) });
    await Promise.all(
      KINDS.flatMap((k) =>
        OURS.map(async (s) => {
          const routes = await peer(k).waitVpnRoutes(s.family, (rs) => has(rs, s), 15_000);
          const got = routes.find((r) => r.rd === s.rd && r.prefix === s.prefix)!;
          assert.deepEqual(
            { rd: got.rd, prefix: got.prefix, labels: got.labels, nextHop: got.nextHop, routeTargets: got.routeTargets, asPath: got.asPath, localPref: got.localPref },
            { rd: s.rd, prefix: s.prefix, labels: [s.label], nextHop: s.nextHop, routeTargets: [...s.routeTargets].sort(), asPath: [], localPref: s.localPref },
            `${s.rd} ${s.prefix} at ${k}`,
          );
        }),
      ),
    );
  });

  await t.test('their VPN routes read back identically through ListPath (Adj-RIB-In)', async () => {
    await Promise.all(KINDS.map(async (k, i) => Promise.all(theirs(i).map((s) => peer(k).addVpnRoute(s)))));
    await Promise.all(
      KINDS.flatMap((k, i) =>
        theirs(i).map(async (s) => {
          const got = await eventually(
            () => `${s.rd} ${s.prefix} from ${k}`,
            async () => (await us.listPath(proto(s.family), TableType.TABLE_TYPE_ADJ_IN, ADDR[k])).find((p) => p.rd === s.rd && p.prefix === s.prefix),
            15_000,
          );
          assert.deepEqual(
            { rd: got.rd, prefix: got.prefix, labels: got.labels, nextHop: got.nextHop, routeTargets: [...got.routeTargets].sort(), source: got.source },
            { rd: s.rd, prefix: s.prefix, labels: [s.label], nextHop: s.nextHop, routeTargets: [...s.routeTargets].sort(), source: ADDR[k] },
            `${s.rd} ${s.prefix} from ${k}`,
          );
          assert.equal(got.localPref, 100, `${k} sends LOCAL_PREF on iBGP`);
        }),
      ),
    );
  });

  await t.test('withdrawals propagate both ways', async () => {
    const gone = OURS[0]!;
    const { deleted } = await us.client.deletePath({ family: proto(gone.family), rd: gone.rd, prefix: gone.prefix });
    assert.equal(deleted, true);
    await Promise.all(KINDS.map((k) => peer(k).waitVpnRoutes(gone.family, (rs) => !has(rs, gone) && has(rs, OURS[1]!), 15_000)));
    await Promise.all(KINDS.map((k, i) => peer(k).deleteVpnRoute(theirs(i)[0]!)));
    await Promise.all(
      KINDS.map((k, i) =>
        eventually(
          () => `withdrawal from ${k}`,
          async () => {
            const paths = await us.listPath(ProtoFamily.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_ADJ_IN, ADDR[k]);
            return paths.some((p) => p.prefix === theirs(i)[0]!.prefix) ? undefined : true;
          },
          15_000,
        ),
      ),
    );
    // The VPN-IPv6 route of each peer is still there.
    for (const [i, k] of KINDS.entries()) {
      const v6 = await us.listPath(ProtoFamily.FAMILY_VPN_IPV6, TableType.TABLE_TYPE_ADJ_IN, ADDR[k]);
      assert.ok(v6.some((p) => p.prefix === theirs(i)[1]!.prefix), `${k}'s VPN-IPv6 route kept`);
    }
  });

  await t.test("a peer's shutdown NOTIFICATION is recorded, and the session comes back after enable", async () => {
    await Promise.all(KINDS.map((k) => peer(k).shutdownNeighbor(US)));
    for (const k of KINDS) {
      const p = await eventually(
        () => `${k} shutdown seen`,
        async () => {
          const p = await us.peer(ADDR[k]);
          return p.status?.sessionState !== SessionState.SESSION_STATE_ESTABLISHED && p.status?.lastNotificationReceived ? p : undefined;
        },
        15_000,
      );
      const n = p.status!.lastNotificationReceived!;
      assert.deepEqual([n.code, n.subcode], [6, 2], `${k} sends Cease/Administrative Shutdown`);
      assert.equal(p.status!.flaps, 1);
      assert.equal(p.status!.prefixes.find((c) => c.family === ProtoFamily.FAMILY_VPN_IPV6)?.received, 0, `${k}'s routes gone with the session`);
    }
    await Promise.all(KINDS.map((k) => peer(k).enableNeighbor(US)));
    await Promise.all(KINDS.map((k) => peer(k).waitEstablished(US, 30_000)));
    for (const k of KINDS) {
      await eventually(() => `${k} back`, async () => ((await us.peer(ADDR[k])).status?.sessionState === SessionState.SESSION_STATE_ESTABLISHED ? true : undefined), 10_000);
      // Our routes are advertised again on the new session.
      await peer(k).waitVpnRoutes('vpnv4', (rs) => has(rs, OURS[1]!), 15_000);
    }
  });
});
