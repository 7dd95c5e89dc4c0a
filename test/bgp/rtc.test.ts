// RT constraint (RFC 4684) end to end against a real GoBGP:
//
//     gobgp 127.0.24.2 (AS 65000, iBGP, VPN-IPv4 + RTC) ── services/bgp 127.0.24.1 (AS 65000)
//
// Our VRFs' import RTs become RT memberships in GoBGP's RTC table, and GoBGP
// (holding VPN routes with several RTs) sends us only those routes; GoBGP's
// VRF import RTs become memberships at our side, and we send it only the
// VPN routes they allow, following every change both ways.
//
// GoBGP sends no End-of-RIB without graceful restart, so the RFC 4684 §6
// wait for its RT membership End-of-RIB is cut to 2 s here (60 s default).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelMode, type Path, type VrfConfig } from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { eventually } from '../support/eventually.js';
import { requirePeers, startGobgp, type GobgpPeer, type VpnRouteSpec } from '../peers/index.js';
import { Family, TableType, startTestBgp, type StartedBgp } from './support.js';

const AS = 65000;
const US = '127.0.24.1';
const GOBGP = '127.0.24.2';
const skip = requirePeers('gobgp');

/** GoBGP's routes: one per RT choice. */
const FROM_GOBGP = {
  red: { family: 'vpnv4', rd: '65000:11', prefix: '10.11.0.0/16', label: 1011, routeTargets: ['65000:100'], nextHop: '198.51.100.11' },
  blue: { family: 'vpnv4', rd: '65000:12', prefix: '10.12.0.0/16', label: 1012, routeTargets: ['65000:200'], nextHop: '198.51.100.12' },
  both: { family: 'vpnv4', rd: '65000:13', prefix: '10.13.0.0/16', label: 1013, routeTargets: ['65000:100', '65000:200'], nextHop: '198.51.100.13' },
  none: { family: 'vpnv4', rd: '65000:14', prefix: '10.14.0.0/16', label: 1014, routeTargets: ['65000:999'], nextHop: '198.51.100.14' },
} satisfies Record<string, VpnRouteSpec>;

function vrf(name: string, rd: string, imports: string[]): VrfConfig {
  return { name, rd, importRouteTargets: imports, exportRouteTargets: [], labelMode: LabelMode.LABEL_MODE_PER_VRF, label: 600, ipv6Label: 0, owner: '' };
}

/** A VPN route we originate through AddPath. */
function ours(rd: string, prefix: string, rts: string[]): Path {
  return {
    family: Family.FAMILY_VPN_IPV4,
    rd,
    prefix,
    labels: [700],
    nextHop: '198.51.100.1',
    routeTargets: rts,
    routeOrigins: [],
    extendedCommunities: [],
    communities: [],
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

test('RT constraint (RFC 4684) against GoBGP', { skip, timeout: 90_000 }, async (t) => {
  let bgp: StartedBgp | undefined;
  let gobgp: GobgpPeer | undefined;
  t.after(async () => {
    await gobgp?.stop();
    await bgp?.stop();
  });
  bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.24.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '179', BGP_RTC_WAIT_TIME: '2' }, [
    { address: GOBGP, 'remote-as': AS, families: ['vpn-ipv4', 'rtc'], 'connect-retry-time': 1 },
  ]);
  gobgp = await startGobgp({
    name: 'gobgp-rtc',
    routerId: '10.255.24.2',
    address: GOBGP,
    localAs: AS,
    neighbors: [{ address: US, remoteAs: AS, families: ['vpnv4'], rtc: true }],
    vpnRoutes: Object.values(FROM_GOBGP),
  });
  const us = bgp;
  const peer = gobgp;
  await peer.waitEstablished(US, 20_000);
  const received = async () => (await us.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_ADJ_IN, GOBGP)).map((p) => p.prefix).sort();
  const waitReceived = (want: string[], what: string) =>
    eventually(
      () => `${what}: never received exactly ${want.join(', ')} from GoBGP`,
      async () => {
        const got = await received();
        return JSON.stringify(got) === JSON.stringify([...want].sort()) ? got : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  const waitMemberships = (want: string[], what: string) => {
    let last: string[] = [];
    return eventually(
      () => `${what}: GoBGP never held exactly ${want.join(', ')} from us; has ${JSON.stringify(last)}`,
      async () => {
        last = await peer.rtcMemberships(US);
        return JSON.stringify(last) === JSON.stringify([...want].sort()) ? last : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  };

  await t.test('the session negotiates RTC; without VRFs we ask for nothing and GoBGP sends no VPN route', async () => {
    const p = await us.peer(GOBGP);
    assert.deepEqual(p.status!.negotiatedFamilies, [Family.FAMILY_VPN_IPV4, Family.FAMILY_RTC]);
    // Nothing so far; that nothing comes later either, the next test's exact
    // set proves: GoBGP's UPDATEs arrive in order, so once the routes our
    // first VRF asks for are in, anything sent before them would be too.
    assert.deepEqual(await received(), []);
    assert.deepEqual(await peer.rtcMemberships(US), []);
  });

  await t.test("AddVrf: its import RT shows up in GoBGP's RTC table and GoBGP sends only routes carrying it", async () => {
    await us.client.addVrf({ vrf: vrf('red', '65000:1', ['65000:100']) });
    await waitMemberships(['65000:65000:100'], 'AddVrf');
    await waitReceived([FROM_GOBGP.red.prefix, FROM_GOBGP.both.prefix], 'red imports 65000:100');
    const p = await us.peer(GOBGP);
    const rtc = p.status!.prefixes.find((x) => x.family === Family.FAMILY_RTC)!;
    assert.equal(rtc.advertised, 1);
  });

  await t.test('UpdateVrf / AddVrf / DeleteVrf: exactly the membership difference, and GoBGP follows', async () => {
    await us.client.updateVrf({ vrf: vrf('red', '65000:1', ['65000:200']) });
    await waitMemberships(['65000:65000:200'], 'UpdateVrf');
    await waitReceived([FROM_GOBGP.blue.prefix, FROM_GOBGP.both.prefix], 'red imports 65000:200 instead');
    await us.client.addVrf({ vrf: vrf('green', '65000:2', ['65000:100', '65000:200']) });
    await waitMemberships(['65000:65000:100', '65000:65000:200'], 'a second VRF');
    await waitReceived([FROM_GOBGP.red.prefix, FROM_GOBGP.blue.prefix, FROM_GOBGP.both.prefix], 'both RTs');
    // 65000:200 stays imported by green: deleting red withdraws no membership.
    await us.client.deleteVrf({ name: 'red', owner: '' });
    // A later change as a marker: once its membership is at GoBGP, so would be any withdrawal red's deletion sent.
    await us.client.addVrf({ vrf: vrf('marker', '65000:3', ['65000:300']) });
    await waitMemberships(['65000:65000:100', '65000:65000:200', '65000:65000:300'], 'red deleted, then a marker VRF');
    await us.client.deleteVrf({ name: 'marker', owner: '' });
    await us.client.deleteVrf({ name: 'green', owner: '' });
    await waitMemberships([], 'no VRF left');
    await waitReceived([], 'nothing asked for');
  });

  await t.test('as a route reflector we ask iBGP peers for everything: the default membership', async () => {
    await us.client.addVrf({ vrf: vrf('red', '65000:1', ['65000:100']) });
    await waitMemberships(['65000:65000:100'], 'red again');
    // A client (never up) makes us a reflector: every route must reach us to be reflected.
    const client = { address: '127.0.24.3', remoteAs: AS, families: [Family.FAMILY_VPN_IPV4, Family.FAMILY_RTC], routeReflectorClient: true, adminDown: true };
    await us.client.addPeer({ peer: { localAddress: '', port: 0, passive: false, nextHopSelf: false, vrf: '', description: '', asOverride: false, allowasIn: 0, siteOfOrigin: '', relayed: false, routeLabel: 0, ...client } });
    await waitMemberships(['default'], 'reflector');
    await waitReceived(Object.values(FROM_GOBGP).map((r) => r.prefix), 'everything');
    await us.client.deletePeer({ address: client.address });
    await waitMemberships(['65000:65000:100'], 'no client left');
    await waitReceived([FROM_GOBGP.red.prefix, FROM_GOBGP.both.prefix], 'red only again');
    await us.client.deleteVrf({ name: 'red', owner: '' });
    await waitMemberships([], 'red deleted');
  });

  await t.test("the other way: we send GoBGP only the VPN routes its VRFs' import RTs ask for", async () => {
    await us.client.addPath({ path: ours('65000:51', '10.51.0.0/16', ['65000:500']) });
    await us.client.addPath({ path: ours('65000:52', '10.52.0.0/16', ['65000:600']) });
    await us.client.addPath({ path: ours('65000:53', '10.53.0.0/16', ['65000:600', '65000:700']) });
    const fromUs = async () =>
      (await peer.vpnRoutes('vpnv4'))
        .filter((r) => r.prefix.startsWith('10.5'))
        .map((r) => r.prefix)
        .sort();
    const waitSent = (want: string[], what: string) => {
      let last: string[] = [];
      return eventually(
        () => `${what}: GoBGP never held exactly ${want.join(', ')} from us; has ${JSON.stringify(last)}`,
        async () => {
          last = await fromUs();
          return JSON.stringify(last) === JSON.stringify(want) ? last : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
    };
    // Nothing yet; that nothing else was sent, the exact sets below prove (our UPDATEs arrive in order).
    assert.deepEqual(await fromUs(), [], 'GoBGP asked for nothing yet');
    await peer.addVrf('blue', '65000:5', ['65000:500'], ['65000:5']);
    await waitSent(['10.51.0.0/16'], 'GoBGP imports 65000:500');
    const p = await us.peer(GOBGP);
    assert.equal(p.status!.prefixes.find((x) => x.family === Family.FAMILY_RTC)!.received, 1);
    await peer.addVrf('green', '65000:6', ['65000:700'], ['65000:6']);
    await waitSent(['10.51.0.0/16', '10.53.0.0/16'], 'and 65000:700');
    await peer.deleteVrf('blue');
    await waitSent(['10.53.0.0/16'], 'blue gone at GoBGP');
  });
});
