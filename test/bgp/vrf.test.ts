// VRFs end to end: our gRPC API on one side, real GoBGP speakers on the other.
//
//     gobgp PE  127.0.23.2 (AS 65000, iBGP, VPN-IPv4/IPv6 + IPv4) ─┐
//                                                                 ├── services/bgp 127.0.23.1 (AS 65000)
//     gobgp CE  127.0.23.3 (AS 65101, eBGP, IPv4, bound to red)  ─┤
//     l3vpn CE  127.0.23.4 (AS 65102, eBGP, IPv4, bound to red)  ─┘
//
// The routes red sends its CEs are read at a second services/bgp acting as
// CE: GoBGP refuses any loopback NEXT_HOP ("invalid nexthop address"), and
// next-hop-self towards a CE on 127/8 is one.
// What the peers hold is read through their own CLI; what we hold through
// ListVrfs / ListVrfPaths / WatchVrfRoutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import {
  BgpServiceClient,
  Family,
  LabelMode,
  MaxRoutesState,
  VrfLimitEventType,
  VrfPathOrigin,
  type Path,
  type VrfConfig,
  type VrfPath,
  type WatchVrfRoutesResponse,
} from '../../services/common/gen/proto/l3vpn/v1/bgp.js';
import { eventually } from '../support/eventually.js';
import { normaliseGobgpRib, requirePeers, startGobgp, type GobgpPeer, type VpnRoute, type VpnRouteSpec } from '../peers/index.js';
import { TableType, bgpRawClient, startTestBgp, type StartedBgp } from './support.js';

const AS = 65000;
const US = '127.0.23.1';
const PE = '127.0.23.2';
const CE = '127.0.23.3';
const CE_AS = 65101;
const CE2 = '127.0.23.4';
const CE2_AS = 65102;
const skip = requirePeers('gobgp');

function vrfConfig(name: string, rd: string, imports: string[], exports: string[], extra: Partial<VrfConfig> = {}): VrfConfig {
  return { name, rd, importRouteTargets: imports, exportRouteTargets: exports, labelMode: LabelMode.LABEL_MODE_PER_VRF, label: 500, ipv6Label: 0, owner: '', ...extra };
}

function unicastPath(prefix: string, nextHop = '', extra: Partial<Path> = {}): Path {
  return {
    family: prefix.includes(':') ? Family.FAMILY_IPV6_UNICAST : Family.FAMILY_IPV4_UNICAST,
    rd: '',
    prefix,
    labels: [],
    nextHop,
    routeTargets: [],
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
    ...extra,
  };
}

/** Routes the remote PE originates: RD per route, RTs chosen per case. */
const R = {
  red1: { family: 'vpnv4', rd: '65000:11', prefix: '10.1.0.0/16', label: 1001, routeTargets: ['65000:100'], nextHop: '198.51.100.11' },
  blue1: { family: 'vpnv4', rd: '65000:12', prefix: '10.2.0.0/16', label: 1002, routeTargets: ['65000:201', '65000:999'], nextHop: '198.51.100.12' },
  both: { family: 'vpnv4', rd: '65000:13', prefix: '10.3.0.0/16', label: 1003, routeTargets: ['65000:100', '65000:200'], nextHop: '198.51.100.13' },
  stray: { family: 'vpnv4', rd: '65000:14', prefix: '10.4.0.0/16', label: 1004, routeTargets: ['65000:999'], nextHop: '198.51.100.14' },
  blue6: { family: 'vpnv6', rd: '65000:15', prefix: '2001:db8:15::/48', label: 1005, routeTargets: ['65000:200'], nextHop: '2001:db8:ffff::15' },
  spoke2: { family: 'vpnv4', rd: '65000:31', prefix: '10.31.0.0/16', label: 1031, routeTargets: ['65000:301'], nextHop: '198.51.100.31' },
} satisfies Record<string, VpnRouteSpec>;

const limited = [1, 2, 3].map(
  (i): VpnRouteSpec => ({ family: 'vpnv4', rd: `65000:5${i}`, prefix: `10.5${i}.0.0/16`, label: 1050 + i, routeTargets: ['65000:500'], nextHop: `198.51.100.5${i}` }),
);

/** A WatchVrfRoutes stream with everything it delivered. */
class Watch {
  readonly messages: WatchVrfRoutesResponse[] = [];
  readonly stream: ClientReadableStream<WatchVrfRoutesResponse>;
  constructor(raw: InstanceType<typeof BgpServiceClient>, vrf = '') {
    this.stream = raw.watchVrfRoutes({ vrf });
    this.stream.on('data', (m: WatchVrfRoutesResponse) => this.messages.push(m));
    this.stream.on('error', () => undefined);
  }
  /** Route changes as "vrf prefix -> source|withdrawn", in messages [from, to). */
  changes(from = 0, to = this.messages.length): string[] {
    return this.messages.slice(from, to).flatMap((m) =>
      m.event?.$case === 'routes' ? m.event.value.changes.map((c) => `${c.vrf} ${c.prefix} ${c.best ? c.best.rd : 'withdrawn'}`) : [],
    );
  }
  limits(): { type: VrfLimitEventType; prefix: string }[] {
    return this.messages.flatMap((m) => (m.event?.$case === 'limit' ? [{ type: m.event.value.type, prefix: m.event.value.prefix }] : []));
  }
  get snapshotDoneAt(): number {
    return this.messages.findIndex((m) => m.event?.$case === 'snapshotDone');
  }
  async waitFor<T>(probe: () => T | undefined, what: string, ms = 10_000): Promise<T> {
    return eventually(() => `watch: ${what}; got ${JSON.stringify(this.changes())}`, async () => probe(), { timeoutMs: ms, intervalMs: 20 });
  }
  close(): void {
    this.stream.cancel();
  }
}

test('VRFs through the gRPC API against GoBGP', { skip, timeout: 120_000 }, async (t) => {
  let bgp: StartedBgp | undefined;
  let pe: GobgpPeer | undefined;
  let ce: GobgpPeer | undefined;
  let ce2: StartedBgp | undefined;
  let raw: InstanceType<typeof BgpServiceClient> | undefined;
  t.after(async () => {
    raw?.close();
    await Promise.all([pe?.stop(), ce?.stop(), ce2?.stop()]);
    await bgp?.stop();
  });
  bgp = await startTestBgp({ BGP_AS: String(AS), BGP_ROUTER_ID: '10.255.23.1', BGP_LISTEN_ADDRESS: US, BGP_PORT: '179' }, [
    { address: PE, 'remote-as': AS, families: ['ipv4-unicast', 'vpn-ipv4', 'vpn-ipv6'], 'connect-retry-time': 2 },
    { address: CE, 'remote-as': CE_AS, families: ['ipv4-unicast'], 'connect-retry-time': 2, vrf: 'red' },
    { address: CE2, 'remote-as': CE2_AS, families: ['ipv4-unicast'], 'connect-retry-time': 2, vrf: 'red' },
  ]);
  ce2 = await startTestBgp({ BGP_AS: String(CE2_AS), BGP_ROUTER_ID: '10.255.23.4', BGP_LISTEN_ADDRESS: CE2, BGP_PORT: '179' }, [
    { address: US, 'remote-as': AS, families: ['ipv4-unicast'], 'connect-retry-time': 1 },
  ]);
  const theCe2 = ce2;
  const us = bgp;
  raw = bgpRawClient(`127.0.0.1:${us.svc.grpcPort}`);
  const streams = raw;
  const client = us.client;
  pe = await startGobgp({
    name: 'gobgp-vrf-pe',
    routerId: '10.255.23.2',
    address: PE,
    localAs: AS,
    neighbors: [{ address: US, remoteAs: AS, families: ['ipv4-unicast', 'vpnv4', 'vpnv6'] }],
  });
  ce = await startGobgp({
    name: 'gobgp-vrf-ce',
    routerId: '10.255.23.3',
    address: CE,
    localAs: CE_AS,
    neighbors: [{ address: US, remoteAs: AS, families: ['ipv4-unicast'] }],
    ipv4Routes: [{ prefix: '192.168.50.0/24', nextHop: CE }],
  });
  const thePe = pe;
  const theCe = ce;
  await Promise.all([thePe.waitEstablished(US, 20_000), theCe.waitEstablished(US, 20_000)]);

  const vrfPaths = (vrf: string, allPaths = false) =>
    new Promise<VrfPath[]>((resolve, reject) => {
      const out: VrfPath[] = [];
      const s = streams.listVrfPaths({ vrf, family: Family.FAMILY_UNSPECIFIED, prefix: '', allPaths });
      s.on('data', (r: { paths: VrfPath[] }) => out.push(...r.paths));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  const prefixes = async (vrf: string) => (await vrfPaths(vrf)).map((p) => p.prefix).sort();
  const waitPrefixes = (vrf: string, want: string[], ms = 15_000) =>
    eventually(
      () => `VRF ${vrf} never held exactly ${want.join(', ')}`,
      async () => {
        const got = await prefixes(vrf);
        return JSON.stringify(got) === JSON.stringify([...want].sort()) ? got : undefined;
      },
      { timeoutMs: ms, intervalMs: 50 },
    );
  const peVpn = (family: 'vpnv4' | 'vpnv6', until: (rs: VpnRoute[]) => boolean) => thePe.waitVpnRoutes(family, until, 15_000);
  const ceRib = async () =>
    (await theCe2.listPath(Family.FAMILY_IPV4_UNICAST, TableType.TABLE_TYPE_ADJ_IN, US)).map((p) => ({
      prefix: p.prefix,
      nextHop: p.nextHop,
      asPath: p.asPath.flatMap((seg) => seg.asns),
      routeTargets: p.routeTargets,
    }));
  const find = (rs: VpnRoute[], rd: string, prefix: string) => rs.find((r) => r.rd === rd && r.prefix === prefix);

  await t.test('bad definitions are refused naming the field; duplicates and taken RDs are ALREADY_EXISTS', async () => {
    const code = async (p: Promise<unknown>, want: status, field?: string) => {
      await assert.rejects(p, (err: { code: number; details: string }) => {
        assert.equal(err.code, want, err.details);
        if (field) assert.match(err.details, new RegExp(`^${field.replace('.', '\\.')}:`));
        return true;
      });
    };
    await code(client.addVrf({ vrf: vrfConfig('x', 'nonsense', [], []) }), status.INVALID_ARGUMENT, 'rd');
    await code(client.addVrf({ vrf: vrfConfig('x', '65000:9', ['65000:x'], []) }), status.INVALID_ARGUMENT, 'import_route_targets');
    await code(client.addVrf({ vrf: vrfConfig('x', '65000:9', [], [], { label: 3 }) }), status.INVALID_ARGUMENT, 'label');
    await code(client.addVrf({ vrf: vrfConfig('x', '65000:9', [], [], { labelMode: LabelMode.LABEL_MODE_PER_PREFIX, labelBlock: { first: 9, last: 99 } }) }), status.INVALID_ARGUMENT, 'label_block');
    await code(client.addVrf({ vrf: vrfConfig('x', '65000:9', [], [], { nextHop: '2001:db8::1' }) }), status.INVALID_ARGUMENT, 'next_hop');
    await code(client.addVrf({ vrf: vrfConfig('x', '65000:9', [], [], { nextHop: 'pe1' }) }), status.INVALID_ARGUMENT, 'next_hop');
    await code(client.addVrf({ vrf: vrfConfig('x', '65000:9', [], [], { maxRoutes: { limit: 0, warningPercent: 0, warningOnly: false } }) }), status.INVALID_ARGUMENT, 'max_routes.limit');
    await code(client.addVrf({ vrf: vrfConfig('', '65000:9', [], []) }), status.INVALID_ARGUMENT, 'name');
    await code(client.updateVrf({ vrf: vrfConfig('nope', '65000:9', [], []) }), status.NOT_FOUND);
    await code(client.deleteVrf({ name: 'nope', owner: '' }), status.NOT_FOUND);
    await code(client.addVrfPath({ vrf: 'nope', path: unicastPath('10.0.0.0/8') }), status.NOT_FOUND);
    // A stream ends with its status too, at once (not by the caller's deadline).
    const listing = (vrf: string) =>
      new Promise<void>((resolve, reject) => {
        const s = streams.listVrfPaths({ vrf, family: Family.FAMILY_UNSPECIFIED, prefix: '', allPaths: true }, { deadline: Date.now() + 3000 });
        s.on('data', () => undefined);
        s.on('end', resolve);
        s.on('error', reject);
      });
    await code(listing('nope'), status.NOT_FOUND);
    await code(listing(''), status.INVALID_ARGUMENT, 'vrf');
    await client.addVrf({ vrf: vrfConfig('red', '65000:1', ['65000:100'], ['65000:100']) });
    await code(client.addVrf({ vrf: vrfConfig('red', '65000:2', [], []) }), status.ALREADY_EXISTS);
    await code(client.addVrf({ vrf: vrfConfig('other', '65000:1', [], []) }), status.ALREADY_EXISTS, 'rd');
    await client.addVrf({
      vrf: vrfConfig('blue', '65000:2', ['65000:200', '65000:201'], ['65000:200'], { labelMode: LabelMode.LABEL_MODE_PER_PREFIX, label: 0, labelBlock: { first: 7000, last: 7099 } }),
    });
    await code(client.updateVrf({ vrf: vrfConfig('blue', '65000:1', [], []) }), status.ALREADY_EXISTS, 'rd');
    const { vrfs } = await client.listVrfs({ name: '', owner: '', nameSuffix: '' });
    assert.deepEqual(vrfs.map((v) => v.config!.name).sort(), ['blue', 'red']);
  });

  await t.test('VPN routes import exactly into the VRFs with a matching import RT; a route matching none is nowhere', async () => {
    for (const r of Object.values(R)) if (r !== R.spoke2) await thePe.addVpnRoute(r);
    await waitPrefixes('red', ['10.1.0.0/16', '10.3.0.0/16', '192.168.50.0/24']);
    await waitPrefixes('blue', ['10.2.0.0/16', '10.3.0.0/16', '2001:db8:15::/48']);
    const red1 = (await vrfPaths('red')).find((p) => p.prefix === '10.1.0.0/16')!;
    assert.deepEqual(
      { origin: red1.origin, label: red1.label, nextHop: red1.nextHop, rd: red1.rd, source: red1.source, best: red1.best, family: red1.family },
      { origin: VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED, label: 1001, nextHop: '198.51.100.11', rd: '65000:11', source: PE, best: true, family: Family.FAMILY_IPV4_UNICAST },
    );
    const blue6 = (await vrfPaths('blue')).find((p) => p.prefix === '2001:db8:15::/48')!;
    assert.equal(blue6.family, Family.FAMILY_IPV6_UNICAST);
    assert.equal(blue6.label, 1005);
    // The stray route was received (Adj-RIB-In) but lives in no VRF and not in the global unicast table.
    const adjIn = await us.listPath(Family.FAMILY_VPN_IPV4, TableType.TABLE_TYPE_ADJ_IN, PE);
    assert.ok(adjIn.some((p) => p.prefix === R.stray.prefix), 'stray received');
    for (const v of ['red', 'blue']) assert.ok(!(await prefixes(v)).includes(R.stray.prefix), `stray not in ${v}`);
    const globalUnicast = await us.listPath(Family.FAMILY_IPV4_UNICAST, TableType.TABLE_TYPE_LOCAL);
    assert.ok(!globalUnicast.some((p) => p.prefix === R.stray.prefix || p.prefix === R.red1.prefix), 'nothing leaks into global unicast');
    const { vrfs } = await client.listVrfs({ name: 'blue', owner: '', nameSuffix: '' });
    const st = vrfs[0]!.status!;
    assert.equal(st.totalPrefixes, 3);
    assert.deepEqual(
      st.routes.map((r) => [r.family, r.prefixes]),
      [
        [Family.FAMILY_IPV4_UNICAST, 2],
        [Family.FAMILY_IPV6_UNICAST, 1],
      ],
    );
  });

  await t.test("AddVrfPath's route reaches the peer as a VPN route with our RD, export RTs and label", async () => {
    const r = await client.addVrfPath({ vrf: 'red', path: unicastPath('172.16.1.0/24', '203.0.113.2', { med: 7 }) });
    assert.equal(r.installed, true);
    assert.deepEqual([r.exported!.rd, r.exported!.labels, r.exported!.routeTargets], ['65000:1', [500], ['65000:100']]);
    const b = await client.addVrfPath({ vrf: 'blue', path: unicastPath('172.16.2.0/24', '203.0.113.3') });
    const blueLabel = b.exported!.labels[0]!;
    assert.ok(blueLabel >= 7000 && blueLabel <= 7099, `per-prefix label ${blueLabel} from the block`);
    const routes = await peVpn('vpnv4', (rs) => !!find(rs, '65000:1', '172.16.1.0/24') && !!find(rs, '65000:2', '172.16.2.0/24'));
    const red = find(routes, '65000:1', '172.16.1.0/24')!;
    assert.deepEqual(
      { labels: red.labels, nextHop: red.nextHop, routeTargets: red.routeTargets, med: red.med },
      { labels: [500], nextHop: US, routeTargets: ['65000:100'], med: 7 },
    );
    assert.deepEqual(find(routes, '65000:2', '172.16.2.0/24')!.labels, [blueLabel]);
    // The VRF holds the original once (it does not import its own export back); blue does not see red's RT.
    const own = (await vrfPaths('red', true)).filter((p) => p.prefix === '172.16.1.0/24');
    assert.deepEqual(
      own.map((p) => [p.origin, p.label, p.nextHop, p.rd]),
      [[VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL, 500, '203.0.113.2', '65000:1']],
    );
    assert.ok(!(await prefixes('blue')).includes('172.16.1.0/24'));
  });

  await t.test('PE-CE: the CE route enters red and is exported; the CE is sent red as plain IPv4 unicast, eBGP style', async () => {
    const ceRoute = (await vrfPaths('red')).find((p) => p.prefix === '192.168.50.0/24')!;
    assert.deepEqual([ceRoute.origin, ceRoute.source, ceRoute.nextHop, ceRoute.label], [VrfPathOrigin.VRF_PATH_ORIGIN_CE, CE, CE, 500]);
    const routes = await peVpn('vpnv4', (rs) => !!find(rs, '65000:1', '192.168.50.0/24'));
    const exported = find(routes, '65000:1', '192.168.50.0/24')!;
    assert.deepEqual([exported.labels, exported.routeTargets, exported.asPath], [[500], ['65000:100'], [CE_AS]]);
    // Not in the global unicast tables: the PE peer's IPv4 RIB never gets it.
    const peIpv4 = normaliseGobgpRib(await thePe.cli(['-j', 'global', 'rib', '-a', 'ipv4']));
    assert.ok(!peIpv4.some((r) => r.prefix === '192.168.50.0/24'), 'CE route leaked into global IPv4 unicast');
    const rib = await eventually(
      () => "CE never got red's routes",
      async () => {
        const rs = await ceRib();
        return rs.some((r) => r.prefix === '10.1.0.0/16') && rs.some((r) => r.prefix === '172.16.1.0/24') ? rs : undefined;
      },
      15_000,
    );
    const r1 = rib.find((r) => r.prefix === '10.1.0.0/16')!;
    assert.deepEqual([r1.nextHop, r1.asPath, r1.routeTargets], [US, [AS], []]);
    assert.ok(!rib.some((r) => r.prefix === R.blue1.prefix || r.prefix === R.stray.prefix), 'only red reaches the CE');
    // The GoBGP CE's own route comes to the other CE, with both ASes in the path.
    assert.deepEqual(rib.find((r) => r.prefix === '192.168.50.0/24')?.asPath, [AS, CE_AS]);
  });

  await t.test('UpdateVrf changing import RTs imports and withdraws exactly the difference (watch stream)', async () => {
    const w = new Watch(streams, 'red');
    try {
      await w.waitFor(() => (w.snapshotDoneAt >= 0 ? true : undefined), 'snapshot done');
      const snapshot = w.changes().sort();
      assert.deepEqual(snapshot, ['red 10.1.0.0/16 65000:11', 'red 10.3.0.0/16 65000:13', 'red 172.16.1.0/24 65000:1', 'red 192.168.50.0/24 65000:1']);
      const mark = w.messages.length;
      const r = await client.updateVrf({ vrf: vrfConfig('red', '65000:1', ['65000:201'], ['65000:100']) });
      assert.deepEqual([r.imported, r.withdrawn], [1, 2]);
      await w.waitFor(() => (w.changes(mark).length >= 3 ? true : undefined), 'three changes');
      await waitPrefixes('red', ['10.2.0.0/16', '172.16.1.0/24', '192.168.50.0/24']);
      // The CE follows: the withdrawn routes leave it, the new one arrives.
      await eventually(
        () => 'CE did not follow the import change',
        async () => {
          const rs = await ceRib();
          return rs.some((x) => x.prefix === '10.2.0.0/16') && !rs.some((x) => x.prefix === '10.1.0.0/16') ? true : undefined;
        },
        15_000,
      );
      // And back: adding 65000:100 again (keeping 201) imports only red1 and both.
      const mark2 = w.messages.length;
      const back = await client.updateVrf({ vrf: vrfConfig('red', '65000:1', ['65000:100', '65000:201'], ['65000:100']) });
      assert.deepEqual([back.imported, back.withdrawn], [2, 0]);
      await w.waitFor(() => (w.changes(mark2).length >= 2 ? true : undefined), 'two changes');
      // The stream is in order: once a later change shows, every event of the
      // earlier one has come, so each change's events can be checked exactly.
      assert.deepEqual(w.changes(mark, mark2).sort(), ['red 10.1.0.0/16 withdrawn', 'red 10.2.0.0/16 65000:12', 'red 10.3.0.0/16 withdrawn']);
      // A marker after the second: 65000:201 dropped and taken back (10.2.0.0/16 goes and comes).
      const mark3 = w.messages.length;
      await client.updateVrf({ vrf: vrfConfig('red', '65000:1', ['65000:100'], ['65000:100']) });
      await w.waitFor(() => (w.changes(mark3).includes('red 10.2.0.0/16 withdrawn') ? true : undefined), 'the marker');
      assert.deepEqual(w.changes(mark2, mark3).sort(), ['red 10.1.0.0/16 65000:11', 'red 10.3.0.0/16 65000:13']);
      await client.updateVrf({ vrf: vrfConfig('red', '65000:1', ['65000:100', '65000:201'], ['65000:100']) });
      await waitPrefixes('red', ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '172.16.1.0/24', '192.168.50.0/24']);
    } finally {
      w.close();
    }
  });

  await t.test('UpdateVrf changing the RD withdraws the old VPN routes and announces them under the new one', async () => {
    await client.updateVrf({ vrf: vrfConfig('red', '65000:21', ['65000:100', '65000:201'], ['65000:100']) });
    const routes = await peVpn('vpnv4', (rs) => !!find(rs, '65000:21', '172.16.1.0/24') && !find(rs, '65000:1', '172.16.1.0/24') && !find(rs, '65000:1', '192.168.50.0/24'));
    assert.ok(find(routes, '65000:21', '192.168.50.0/24'), 'the CE route moved to the new RD too');
  });

  await t.test('hub-and-spoke and extranet come from route-target choices alone', async () => {
    // Spokes export RT-spoke (301) and import RT-hub (300); the hub the reverse.
    await client.addVrf({ vrf: vrfConfig('hub', '65000:300', ['65000:301'], ['65000:300'], { label: 530 }) });
    await client.addVrf({ vrf: vrfConfig('spoke1', '65000:301', ['65000:300'], ['65000:301'], { label: 531 }) });
    await client.addVrfPath({ vrf: 'hub', path: unicastPath('10.30.0.0/16') });
    await client.addVrfPath({ vrf: 'spoke1', path: unicastPath('10.32.0.0/16') });
    await thePe.addVpnRoute(R.spoke2);
    await waitPrefixes('hub', ['10.30.0.0/16', '10.31.0.0/16', '10.32.0.0/16']);
    await waitPrefixes('spoke1', ['10.30.0.0/16', '10.32.0.0/16']);
    const routes = await peVpn('vpnv4', (rs) => !!find(rs, '65000:301', '10.32.0.0/16') && !!find(rs, '65000:300', '10.30.0.0/16'));
    assert.deepEqual(find(routes, '65000:301', '10.32.0.0/16')!.routeTargets, ['65000:301']);
    // Extranet: a shared-services VRF exported with 65000:400, imported by blue on top of its own RTs.
    await client.addVrf({ vrf: vrfConfig('shared', '65000:400', [], ['65000:400'], { label: 540 }) });
    await client.addVrfPath({ vrf: 'shared', path: unicastPath('10.40.0.0/16') });
    await client.updateVrf({
      vrf: vrfConfig('blue', '65000:2', ['65000:200', '65000:201', '65000:400'], ['65000:200'], { labelMode: LabelMode.LABEL_MODE_PER_PREFIX, label: 0, labelBlock: { first: 7000, last: 7099 } }),
    });
    await waitPrefixes('blue', ['10.2.0.0/16', '10.3.0.0/16', '10.40.0.0/16', '172.16.2.0/24', '2001:db8:15::/48']);
    assert.ok(!(await prefixes('red')).includes('10.40.0.0/16'));
    assert.ok(!(await prefixes('hub')).includes('10.40.0.0/16'));
    const shared = (await vrfPaths('blue')).find((p) => p.prefix === '10.40.0.0/16')!;
    assert.deepEqual([shared.origin, shared.rd, shared.label], [VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED, '65000:400', 540]);
  });

  await t.test('a maximum-routes breach is reported on the stream and in ListVrfs, and healed when room frees up', async () => {
    const w = new Watch(streams, 'small');
    try {
      await client.addVrf({ vrf: vrfConfig('small', '65000:500', ['65000:500'], [], { label: 550, maxRoutes: { limit: 2, warningPercent: 50, warningOnly: false } }) });
      for (const r of limited) await thePe.addVpnRoute(r);
      await w.waitFor(() => (w.limits().some((l) => l.type === VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_ROUTE_REFUSED) ? true : undefined), 'route refused');
      const types = w.limits().map((l) => l.type);
      assert.ok(types.includes(VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_WARNING), 'warning');
      assert.ok(types.includes(VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_EXCEEDED), 'exceeded');
      const refused = w.limits().find((l) => l.type === VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_ROUTE_REFUSED)!.prefix;
      const st = (await client.listVrfs({ name: 'small', owner: '', nameSuffix: '' })).vrfs[0]!.status!;
      assert.deepEqual(
        [st.totalPrefixes, st.heldBack, st.maxRoutesState, st.maxRoutesWarnings, st.maxRoutesExceeded, st.routesRefused],
        [2, 1, MaxRoutesState.MAX_ROUTES_STATE_EXCEEDED, 1, 1, 1],
      );
      assert.ok(!(await prefixes('small')).includes(refused));
      // One of the installed ones goes: the held-back one is admitted.
      const gone = limited.find((r) => r.prefix !== refused)!;
      await thePe.deleteVpnRoute(gone);
      await w.waitFor(() => (w.limits().some((l) => l.type === VrfLimitEventType.VRF_LIMIT_EVENT_TYPE_ROUTE_ADMITTED) ? true : undefined), 'route admitted');
      await waitPrefixes('small', limited.filter((r) => r !== gone).map((r) => r.prefix));
      const after = (await client.listVrfs({ name: 'small', owner: '', nameSuffix: '' })).vrfs[0]!.status!;
      assert.deepEqual([after.heldBack, after.maxRoutesState], [0, MaxRoutesState.MAX_ROUTES_STATE_WARNING]);
    } finally {
      w.close();
    }
  });

  await t.test('WatchVrfRoutes starts with a snapshot, so a consumer that reconnects resyncs', async () => {
    const first = new Watch(streams);
    await first.waitFor(() => (first.snapshotDoneAt >= 0 ? true : undefined), 'snapshot done');
    const before = first.changes().sort();
    assert.ok(before.includes('hub 10.31.0.0/16 65000:31') && before.includes('blue 10.40.0.0/16 65000:400'));
    first.close();
    // Changes while disconnected.
    await client.deleteVrfPath({ vrf: 'shared', family: Family.FAMILY_IPV4_UNICAST, prefix: '10.40.0.0/16' });
    await client.addVrfPath({ vrf: 'hub', path: unicastPath('10.33.0.0/16') });
    await client.deleteVrf({ name: 'small', owner: '' });
    const again = new Watch(streams);
    try {
      await again.waitFor(() => (again.snapshotDoneAt >= 0 ? true : undefined), 'snapshot done');
      const now = again.changes().sort();
      assert.ok(!now.some((c) => c.startsWith('blue 10.40.0.0/16')), 'deleted route gone from the snapshot');
      assert.ok(now.includes('hub 10.33.0.0/16 65000:300') && now.includes('spoke1 10.33.0.0/16 65000:300'));
      assert.ok(!now.some((c) => c.startsWith('small ')));
      // The snapshot equals the tables.
      const tables: string[] = [];
      for (const v of (await client.listVrfs({ name: '', owner: '', nameSuffix: '' })).vrfs) for (const p of await vrfPaths(v.config!.name)) tables.push(`${p.vrf} ${p.prefix} ${p.rd}`);
      assert.deepEqual(now, tables.sort());
      // And it goes on with live changes after the marker.
      const mark = again.messages.length;
      await client.deleteVrfPath({ vrf: 'hub', family: Family.FAMILY_IPV4_UNICAST, prefix: '10.33.0.0/16' });
      await again.waitFor(() => (again.changes(mark).length >= 2 ? true : undefined), 'live withdrawals');
      assert.deepEqual(again.changes(mark).sort(), ['hub 10.33.0.0/16 withdrawn', 'spoke1 10.33.0.0/16 withdrawn']);
    } finally {
      again.close();
    }
  });

  await t.test('DeleteVrf withdraws its exports from the peer', async () => {
    await client.deleteVrf({ name: 'hub', owner: '' });
    await peVpn('vpnv4', (rs) => !find(rs, '65000:300', '10.30.0.0/16'));
    await waitPrefixes('spoke1', ['10.32.0.0/16']);
  });

  await t.test('one speaker for many PEs: each VRF exports with its PE as next hop and its paths\' own labels; VRFs of different PEs import each other', async () => {
    const code = async (p: Promise<unknown>, field: string) =>
      assert.rejects(p, (err: { code: number; details: string }) => err.code === status.INVALID_ARGUMENT && err.details.startsWith(`${field}:`));
    // PE1's VRF has per-CE labels from the labels service and no block: every path brings its label.
    await client.addVrf({ vrf: vrfConfig('acme@pe1', '65000:601', ['65000:600'], ['65000:600'], { labelMode: LabelMode.LABEL_MODE_PER_CE, label: 0, nextHop: '198.51.100.61' }) });
    await client.addVrf({ vrf: vrfConfig('acme@pe2', '65000:602', ['65000:600'], ['65000:600'], { label: 620, nextHop: '198.51.100.62' }) });
    await code(client.addVrfPath({ vrf: 'acme@pe1', path: unicastPath('10.61.9.0/24') }), 'label');
    await code(client.addVrfPath({ vrf: 'acme@pe1', path: unicastPath('10.61.9.0/24'), label: 3 }), 'label');
    await client.addVrfPath({ vrf: 'acme@pe1', path: unicastPath('10.61.0.0/24'), label: 6101 });
    await client.addVrfPath({ vrf: 'acme@pe1', path: unicastPath('2001:db8:61::/48'), label: 6102 });
    await client.addVrfPath({ vrf: 'acme@pe2', path: unicastPath('10.62.0.0/24') });
    await client.addVrfPath({ vrf: 'acme@pe2', path: unicastPath('10.62.1.0/24'), label: 6201 });
    const v4 = await peVpn('vpnv4', (rs) => !!find(rs, '65000:601', '10.61.0.0/24') && !!find(rs, '65000:602', '10.62.1.0/24') && !!find(rs, '65000:602', '10.62.0.0/24'));
    assert.deepEqual(
      [find(v4, '65000:601', '10.61.0.0/24'), find(v4, '65000:602', '10.62.0.0/24'), find(v4, '65000:602', '10.62.1.0/24')].map((r) => [r!.labels, r!.nextHop, r!.routeTargets]),
      [
        [[6101], '198.51.100.61', ['65000:600']],
        [[620], '198.51.100.62', ['65000:600']],
        [[6201], '198.51.100.62', ['65000:600']],
      ],
    );
    // RFC 4659 §3.2.1.1: a VPN-IPv6 route from an IPv4 PE carries its IPv4-mapped address.
    // (GoBGP prints an IPv4-mapped address dotted, as Go's net.IP does; our Loc-RIB shows the form it is sent in.)
    const v6 = await peVpn('vpnv6', (rs) => !!find(rs, '65000:601', '2001:db8:61::/48'));
    assert.deepEqual([find(v6, '65000:601', '2001:db8:61::/48')!.labels, find(v6, '65000:601', '2001:db8:61::/48')!.nextHop], [[6102], '198.51.100.61']);
    const ours = (await us.listPath(Family.FAMILY_VPN_IPV6, TableType.TABLE_TYPE_LOCAL)).find((p) => p.rd === '65000:601' && p.prefix === '2001:db8:61::/48');
    assert.equal(ours?.nextHop, '::ffff:198.51.100.61');
    // Each imports the other's routes with the other PE as next hop, and holds its own once.
    await waitPrefixes('acme@pe1', ['10.61.0.0/24', '10.62.0.0/24', '10.62.1.0/24', '2001:db8:61::/48']);
    await waitPrefixes('acme@pe2', ['10.61.0.0/24', '10.62.0.0/24', '10.62.1.0/24', '2001:db8:61::/48']);
    const view = (p: VrfPath) => [p.prefix, p.origin, p.label, p.nextHop, p.rd];
    assert.deepEqual((await vrfPaths('acme@pe1', true)).map(view).sort(), [
      ['10.61.0.0/24', VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL, 6101, '', '65000:601'],
      ['10.62.0.0/24', VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED, 620, '198.51.100.62', '65000:602'],
      ['10.62.1.0/24', VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED, 6201, '198.51.100.62', '65000:602'],
      ['2001:db8:61::/48', VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL, 6102, '', '65000:601'],
    ]);
    assert.deepEqual(
      (await vrfPaths('acme@pe2', true)).filter((p) => p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED).map(view).sort(),
      [
        ['10.61.0.0/24', VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED, 6101, '198.51.100.61', '65000:601'],
        ['2001:db8:61::/48', VrfPathOrigin.VRF_PATH_ORIGIN_IMPORTED, 6102, '::ffff:198.51.100.61', '65000:601'],
      ],
    );
    // A new next hop re-announces every export; the importing VRF follows.
    const r = await client.updateVrf({ vrf: vrfConfig('acme@pe2', '65000:602', ['65000:600'], ['65000:600'], { label: 620, nextHop: '198.51.100.72' }) });
    assert.equal(r.vrf!.config!.nextHop, '198.51.100.72');
    await peVpn('vpnv4', (rs) => find(rs, '65000:602', '10.62.0.0/24')?.nextHop === '198.51.100.72' && find(rs, '65000:602', '10.62.1.0/24')?.labels[0] === 6201);
    await eventually(
      () => 'acme@pe1 kept the old next hop',
      async () => ((await vrfPaths('acme@pe1')).find((p) => p.prefix === '10.62.0.0/24')?.nextHop === '198.51.100.72' ? true : undefined),
      10_000,
    );
  });

  await t.test('ChangeVrfPaths: a bad entry is refused by its index and applies nothing; the good batch deletes, then adds, in one call', async () => {
    const code = async (p: Promise<unknown>, field: string) =>
      assert.rejects(p, (err: { code: number; details: string }) => err.code === status.INVALID_ARGUMENT && err.details.startsWith(`${field}:`));
    const add = (prefix: string, label: number) => ({ path: unicastPath(prefix), label });
    await code(client.changeVrfPaths({ vrf: 'acme@pe1', add: [add('10.63.0.0/24', 6301), add('10.63.1.0/24', 3)], delete: [] }), 'add[1].label');
    await code(client.changeVrfPaths({ vrf: 'acme@pe1', add: [add('10.63.0.0/24', 6301), { path: unicastPath('10.63.300.0/24'), label: 6302 }], delete: [] }), 'add[1].path.prefix');
    await code(client.changeVrfPaths({ vrf: 'acme@pe1', add: [add('10.63.0.0/24', 6301)], delete: [{ family: Family.FAMILY_IPV6_UNICAST, prefix: '10.61.0.0/24' }] }), 'delete[0].prefix');
    await code(client.changeVrfPaths({ vrf: 'acme@pe1', add: [{ path: unicastPath('10.63.2.0/24') }], delete: [] }), 'add[0].label');
    const local = async () => (await vrfPaths('acme@pe1', true)).filter((p) => p.origin === VrfPathOrigin.VRF_PATH_ORIGIN_LOCAL).map((p) => [p.prefix, p.label]).sort();
    assert.deepEqual(await local(), [['10.61.0.0/24', 6101], ['2001:db8:61::/48', 6102]], 'a refused batch changed nothing');
    const batch = Array.from({ length: 300 }, (_, i) => add(`10.64.${i >> 8}.${i & 255}/32`, 6400 + i));
    const r = await client.changeVrfPaths({ vrf: 'acme@pe1', add: [add('10.61.0.0/24', 6111), ...batch], delete: [{ family: Family.FAMILY_IPV6_UNICAST, prefix: '2001:db8:61::/48' }, { family: Family.FAMILY_IPV4_UNICAST, prefix: '10.65.0.0/24' }] });
    assert.deepEqual([r.installed, r.heldBack, r.deleted], [301, 0, 1]);
    const v4 = await peVpn('vpnv4', (rs) => find(rs, '65000:601', '10.61.0.0/24')?.labels[0] === 6111 && rs.filter((x) => x.rd === '65000:601' && x.prefix.startsWith('10.64.')).length === 300);
    assert.equal(find(v4, '65000:601', '10.64.1.43/32')?.labels[0], 6400 + 299);
    await peVpn('vpnv6', (rs) => !find(rs, '65000:601', '2001:db8:61::/48'));
    await code(client.changeVrfPaths({ vrf: '', add: [], delete: [] }), 'vrf');
    await assert.rejects(client.changeVrfPaths({ vrf: 'nope', add: [], delete: [] }), (err: { code: number }) => err.code === status.NOT_FOUND);
  });
});
