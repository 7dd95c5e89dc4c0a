// Proves the peer harness against the real thing: GoBGP, FRR and BIRD talk to
// each other, and everything is read back through each peer's own CLI.
//
// Topology: an iBGP full mesh in AS 65000 (no route reflection), every peer
// on its own 127.0.10.x address and port 179:
//
//     gobgp 127.0.10.1  ---  frr 127.0.10.2  ---  bird 127.0.10.3  ---  gobgp
//
// iBGP because it is what the control plane speaks to PEs and route
// reflectors, and because it carries NEXT_HOP and LOCAL_PREF unchanged, so a
// route reads back identically wherever it lands. Each route is checked at
// the two peers that did not originate it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  requirePeers,
  startBird,
  startFrr,
  startGobgp,
  type PeerHandle,
  type PeerKind,
  type PeerOptions,
  type VpnRoute,
  type VpnRouteSpec,
  type Family,
} from './index.js';

const AS = 65000;
const ADDR: Record<PeerKind, string> = { gobgp: '127.0.10.1', frr: '127.0.10.2', bird: '127.0.10.3' };
const KINDS: PeerKind[] = ['gobgp', 'frr', 'bird'];
const FAMILIES: Family[] = ['ipv4-unicast', 'vpnv4', 'vpnv6'];
const RTS = ['65000:1', '4200000000:7'];

const skip = requirePeers(...KINDS);

function options(kind: PeerKind, i: number, startup: VpnRouteSpec[]): PeerOptions {
  return {
    name: kind,
    routerId: `10.255.0.${i + 1}`,
    address: ADDR[kind],
    localAs: AS,
    neighbors: KINDS.filter((k) => k !== kind).map((k) => ({ address: ADDR[k], remoteAs: AS, families: FAMILIES })),
    vpnRoutes: startup,
  };
}

/** Routes originated by the peer with index i: one at start-up (config) and a VPN-IPv4 and VPN-IPv6 pair at run time (CLI). */
function routesOf(i: number): { startup: VpnRouteSpec; v4: VpnRouteSpec; v6: VpnRouteSpec } {
  const n = i + 1;
  return {
    startup: { family: 'vpnv4', rd: `65000:${200 + n}`, prefix: `10.20${n}.0.0/16`, label: 2000 + n, routeTargets: ['65000:1'], nextHop: `198.51.100.${n}` },
    v4: { family: 'vpnv4', rd: '65000:100', prefix: `10.${n}.0.0/24`, label: 1000 + n, routeTargets: RTS, nextHop: `198.51.100.${n}`, localPref: 150 + n },
    v6: { family: 'vpnv6', rd: '4200000000:100', prefix: `2001:db8:${n}::/48`, label: 3000 + n, routeTargets: RTS, nextHop: `2001:db8:ffff::${n}` },
  };
}

function expectRoute(routes: VpnRoute[], spec: VpnRouteSpec, where: string): void {
  const got = routes.find((r) => r.rd === spec.rd && r.prefix === spec.prefix);
  assert.ok(got, `${where}: ${spec.rd} ${spec.prefix} missing; table: ${JSON.stringify(routes)}`);
  assert.deepEqual(
    { rd: got.rd, prefix: got.prefix, labels: got.labels, routeTargets: got.routeTargets, nextHop: got.nextHop, asPath: got.asPath },
    { rd: spec.rd, prefix: spec.prefix, labels: [spec.label], routeTargets: [...spec.routeTargets].sort(), nextHop: spec.nextHop, asPath: [] },
    where,
  );
  if (spec.localPref !== undefined) assert.equal(got.localPref, spec.localPref, `${where}: LOCAL_PREF`);
}

const has = (routes: VpnRoute[], s: VpnRouteSpec): boolean => routes.some((r) => r.rd === s.rd && r.prefix === s.prefix);

test('GoBGP, FRR and BIRD interoperate through the harness', { skip, timeout: 90_000 }, async (t) => {
  const peers = new Map<PeerKind, PeerHandle>();
  t.after(async () => {
    await Promise.all([...peers.values()].map((p) => p.stop()));
  });
  const start = { gobgp: startGobgp, frr: startFrr, bird: startBird };
  await Promise.all(
    KINDS.map(async (k, i) => {
      peers.set(k, await start[k](options(k, i, [routesOf(i).startup])));
    }),
  );
  const peer = (k: PeerKind): PeerHandle => peers.get(k) as PeerHandle;
  const pairs: [PeerKind, PeerKind][] = [
    ['gobgp', 'frr'],
    ['frr', 'bird'],
    ['bird', 'gobgp'],
  ];

  await t.test('sessions reach Established with IPv4 unicast, VPN-IPv4 and VPN-IPv6', async () => {
    await Promise.all(KINDS.flatMap((a) => KINDS.filter((b) => b !== a).map((b) => peer(a).waitEstablished(ADDR[b], 20_000))));
    for (const a of KINDS) {
      for (const b of KINDS.filter((x) => x !== a)) {
        const info = await peer(a).neighborInfo(ADDR[b]);
        assert.equal(info.state, 'Established');
        assert.deepEqual([...info.families].sort(), [...FAMILIES].sort(), `${a} -> ${b} negotiated families`);
      }
    }
  });

  await t.test('routes from the config read back identically at the other two peers', async () => {
    await Promise.all(
      KINDS.flatMap((origin, i) =>
        KINDS.filter((k) => k !== origin).map(async (k) => {
          const spec = routesOf(i).startup;
          const routes = await peer(k).waitVpnRoutes('vpnv4', (rs) => has(rs, spec), 15_000);
          expectRoute(routes, spec, `${origin} -> ${k} (startup)`);
        }),
      ),
    );
  });

  await t.test('VPN-IPv4 and VPN-IPv6 routes added at run time propagate with RD, label and RTs', async () => {
    await Promise.all(KINDS.map(async (k, i) => {
      await peer(k).addVpnRoute(routesOf(i).v4);
      await peer(k).addVpnRoute(routesOf(i).v6);
    }));
    await Promise.all(
      KINDS.flatMap((origin, i) =>
        KINDS.filter((k) => k !== origin).flatMap((k) =>
          (['v4', 'v6'] as const).map(async (which) => {
            const spec = routesOf(i)[which];
            const routes = await peer(k).waitVpnRoutes(spec.family, (rs) => has(rs, spec), 15_000);
            expectRoute(routes, spec, `${origin} -> ${k} (${spec.family})`);
          }),
        ),
      ),
    );
    // The originator's own table holds them too.
    for (const [i, k] of KINDS.entries()) {
      expectRoute(await peer(k).vpnRoutes('vpnv4'), routesOf(i).v4, `${k} own vpnv4`);
      expectRoute(await peer(k).vpnRoutes('vpnv6'), routesOf(i).v6, `${k} own vpnv6`);
    }
  });

  await t.test('withdrawals propagate', async () => {
    await Promise.all(KINDS.map(async (k, i) => {
      await peer(k).deleteVpnRoute(routesOf(i).v4);
      await peer(k).deleteVpnRoute(routesOf(i).v6);
    }));
    await Promise.all(
      KINDS.flatMap((origin, i) =>
        KINDS.filter((k) => k !== origin).flatMap((k) =>
          (['v4', 'v6'] as const).map(async (which) => {
            const spec = routesOf(i)[which];
            await peer(k).waitVpnRoutes(spec.family, (rs) => !has(rs, spec), 15_000);
          }),
        ),
      ),
    );
    // The start-up routes stay.
    for (const [i, origin] of KINDS.entries()) {
      for (const k of KINDS.filter((x) => x !== origin)) {
        assert.ok(has(await peer(k).vpnRoutes('vpnv4'), routesOf(i).startup), `${origin}'s startup route still at ${k}`);
      }
    }
  });

  await t.test('an administrative shutdown drops the session and re-enabling brings it back', async () => {
    await Promise.all(
      pairs.map(async ([a, b], i) => {
        await peer(a).shutdownNeighbor(ADDR[b]);
        // The other side saw the Cease NOTIFICATION: it leaves Established
        // and the routes learned over the session go away.
        await peer(b).waitVpnRoutes('vpnv4', (rs) => !has(rs, routesOf(KINDS.indexOf(a)).startup), 15_000);
        assert.notEqual(await peer(b).neighborState(ADDR[a]), 'Established', `${b} still Established with ${a}`);
        assert.notEqual(await peer(a).neighborState(ADDR[b]), 'Established', `${a} still Established with ${b}`);
        void i;
        await peer(a).enableNeighbor(ADDR[b]);
        await Promise.all([peer(a).waitEstablished(ADDR[b], 20_000), peer(b).waitEstablished(ADDR[a], 20_000)]);
        const routes = await peer(b).waitVpnRoutes('vpnv4', (rs) => has(rs, routesOf(KINDS.indexOf(a)).startup), 15_000);
        expectRoute(routes, routesOf(KINDS.indexOf(a)).startup, `${a} -> ${b} after re-enable`);
      }),
    );
  });
});
