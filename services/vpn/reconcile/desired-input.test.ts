import { oneAccessSite } from '../domain/test-sites.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeNodeDesiredState, prepareNetwork } from '../../common/desired-state/index.js';
import { VrfRouteSource } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { LabelKind } from '../../common/gen/proto/l3vpn/v1/labels.js';
import type { Link, Node, NodeIntent, Site, Vpn, VrfIntent } from '../domain/node-intent.js';
import type { Meta } from '../intent/types.js';
import { DEFAULT_SRGB, desiredInput, exportingSites, NodeRejectedError, usableInventory, vrfIpv6Label, vrfLabelRequests } from './desired-input.js';
import { owners } from './owners.js';

const meta: Meta = { version: 1, status: { state: 'active' }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };

const node = (id: string, n: number, extra: Partial<Node> = {}): Node => ({
  id,
  name: id,
  role: 'PE',
  routerId: `10.255.0.${n}`,
  loopback: `10.255.0.${n}`,
  asNumber: 65000,
  transport: 'sr',
  nodeSidIndex: n,
  ...meta,
  ...extra,
});

const link = (id: string, a: string, b: string, n: number, extra: Partial<Link> = {}): Link => ({
  id,
  a: { node: a, interface: `core${n}a`, address: `10.0.${n}.0/31` },
  b: { node: b, interface: `core${n}b`, address: `10.0.${n}.1/31` },
  igpMetric: 10,
  operStatus: 'up',
  ...meta,
  ...extra,
});

const vpn = (id: string, extra: Partial<Vpn> = {}): Vpn => ({
  id,
  customer: 'acme',
  topology: 'any-to-any',
  extranetImports: [],
  addressFamilies: ['ipv4', 'ipv6'],
  labelMode: 'per-vrf',
  maxRoutesPerVrf: 1000,
  routeTargets: { anyToAny: '65000:1' },
  ...meta,
  ...extra,
});

const site = (id: string, extra: Partial<Site> = {}): Site =>
  oneAccessSite({
  id,
  vpn: 'blue',
  node: 'pe1',
  interface: 'ce0',
  ipv4: { peAddress: '10.1.0.1/30', ceAddress: '10.1.0.2' },
  role: 'any-to-any',
  ...meta,
  ...extra,
  });

function vrfIntent(v: Vpn, sites: Site[], allocated = true): VrfIntent {
  return {
    vrf: { id: `${v.id}:pe1`, vpn: v.id, node: 'pe1', routeDistinguisher: allocated ? '65000:100' : null },
    vpn: v,
    sites,
    allocation: allocated ? { tableId: 1000, rd: '65000:100', label: 24001, rdOwned: true, rdAdministrator: '65000' } : undefined,
    importRouteTargets: ['65000:1'],
    exportRouteTargets: ['65000:1'],
  };
}

function intentOf(vrfs: VrfIntent[], labels: [string, number][] = [], extra: Partial<NodeIntent> = {}): NodeIntent {
  const nodes = [node('pe1', 1), node('p1', 2, { role: 'P' }), node('pe2', 3)];
  return { node: nodes[0]!, nodes, links: [link('l1', 'pe1', 'p1', 1), link('l2', 'p1', 'pe2', 2)], vrfs, labels: new Map(labels), ...extra };
}

const ownersOf = (requests: { owner: string; kind: LabelKind }[]) => requests.map((r) => r.owner);

test('label requests: per-vrf asks for the VRF label, and an IPv6 label beside it once a site has IPv6 (a per-VRF label per address family)', () => {
  assert.deepEqual(vrfLabelRequests('blue', 'per-vrf', 'pe1', [site('s1'), site('s2')]), [{ owner: owners.vrf('blue', 'pe1'), kind: LabelKind.LABEL_KIND_VRF }]);
  const requests = vrfLabelRequests('blue', 'per-vrf', 'pe1', [site('s1'), site('s2', { ipv6: { peAddress: '2001:db8:1::1/64', ceAddress: '2001:db8:1::2' } })]);
  assert.deepEqual(requests, [
    { owner: owners.vrf('blue', 'pe1'), kind: LabelKind.LABEL_KIND_VRF },
    { owner: owners.vrfIpv6('blue', 'pe1'), kind: LabelKind.LABEL_KIND_VRF },
  ]);
  assert.equal(owners.vrfIpv6('blue', 'pe1'), 'vrf:blue:pe1:ipv6');
});

test('desired input: the VRF\u2019s IPv6 label as the node holds it goes with the VRF; none held, none given', () => {
  assert.deepEqual(vrfIpv6Label(intentOf([], [[owners.vrfIpv6('blue', 'pe1'), 3001]]), 'blue'), { vrfLabelIpv6: 3001 });
  assert.deepEqual(vrfIpv6Label(intentOf([], [[owners.vrf('blue', 'pe1'), 3000]]), 'blue'), {});
});

test('label requests: per-ce asks for one label per attachment, so a dual-stack site gets one per family', () => {
  const dual = site('s1', { ipv6: { peAddress: '2001:db8:1::1/64', ceAddress: '2001:db8:1::2' } });
  const requests = vrfLabelRequests('blue', 'per-ce', 'pe1', [dual, site('s2')]);
  // The VRF label carries the connected subnets in per-CE mode: the IPv6 ones under the VRF's IPv6 label.
  assert.deepEqual(ownersOf(requests), [owners.vrf('blue', 'pe1'), owners.vrfIpv6('blue', 'pe1'), owners.ce('blue', 's1', 4), owners.ce('blue', 's1', 6), owners.ce('blue', 's2', 4)]);
  assert.deepEqual(
    requests.slice(2).map((r) => r.kind),
    [LabelKind.LABEL_KIND_CE, LabelKind.LABEL_KIND_CE, LabelKind.LABEL_KIND_CE],
  );
});

test('label requests: per-prefix asks for the connected subnet and each static prefix, canonical, under the attachment of its family', () => {
  const s = site('s1', {
    ipv6: { peAddress: '2001:db8:1::1/64', ceAddress: '2001:db8:1::2' },
    routing: { static: [{ prefix: '192.168.7.0/24' }, { prefix: '2001:DB8:99:0::/48' }] },
  });
  const requests = vrfLabelRequests('blue', 'per-prefix', 'pe1', [s]);
  assert.deepEqual(ownersOf(requests), [
    owners.vrf('blue', 'pe1'),
    owners.prefix('blue', 'pe1', '10.1.0.0/30'),
    owners.prefix('blue', 'pe1', '192.168.7.0/24'),
    owners.prefix('blue', 'pe1', '2001:db8:1::/64'),
    owners.prefix('blue', 'pe1', '2001:db8:99::/48'),
  ]);
  assert.ok(requests.slice(1).every((r) => r.kind === LabelKind.LABEL_KIND_PREFIX));
});

test('label requests: a static prefix of a family the site has no attachment for or with host bits set, and an attachment that cannot be parsed, ask for nothing', () => {
  const s = site('s1', { routing: { static: [{ prefix: '2001:db8:99::/48' }, { prefix: '192.168.7.9/24' }] } });
  assert.deepEqual(ownersOf(vrfLabelRequests('blue', 'per-prefix', 'pe1', [s])), [owners.vrf('blue', 'pe1'), owners.prefix('blue', 'pe1', '10.1.0.0/30')]);
  const broken = site('s2', { ipv4: { peAddress: 'not-an-address', ceAddress: '10.1.0.2' } });
  assert.deepEqual(ownersOf(vrfLabelRequests('blue', 'per-ce', 'pe1', [broken])), [owners.vrf('blue', 'pe1')]);
});

test('desired input: a site becomes one attachment per family on its interface and VLAN, with the labels the node holds', () => {
  const v = vpn('blue', { labelMode: 'per-ce' });
  const dual = site('s1', { vlan: 100, ipv6: { peAddress: '2001:db8:1::1/64', ceAddress: '2001:db8:1::2' }, routing: { static: [{ prefix: '192.168.0.0/16' }] } });
  const input = desiredInput(intentOf([vrfIntent(v, [dual, site('s2', { interface: 'ce1', ipv4: { peAddress: '10.2.0.1/30', ceAddress: '10.2.0.2' } })])], [
    [owners.ce('blue', 's1', 4), 30001],
    [owners.ce('blue', 's1', 6), 30002],
  ]));
  assert.deepEqual(input.vpns[0]!.sites, [
    { id: 's1', pe: 'pe1', interface: 'ce0', vlan: 100, peAddress: '10.1.0.1/30', ceAddress: '10.1.0.2', staticPrefixes: ['192.168.0.0/16'], ceLabel: 30001 },
    { id: 's1:v6', pe: 'pe1', interface: 'ce0', vlan: 100, peAddress: '2001:db8:1::1/64', ceAddress: '2001:db8:1::2', staticPrefixes: [], ceLabel: 30002 },
    // Untagged, and no CE label held yet: none given.
    { id: 's2', pe: 'pe1', interface: 'ce1', vlan: 0, peAddress: '10.2.0.1/30', ceAddress: '10.2.0.2', staticPrefixes: [] },
  ]);
});

test('desired input: per-prefix labels go with the prefixes of their attachment', () => {
  const s = site('s1', { routing: { static: [{ prefix: '192.168.0.0/16' }] } });
  const input = desiredInput(intentOf([vrfIntent(vpn('blue', { labelMode: 'per-prefix' }), [s])], [
    [owners.prefix('blue', 'pe1', '10.1.0.0/30'), 40001],
    [owners.prefix('blue', 'pe1', '192.168.0.0/16'), 40002],
  ]));
  assert.deepEqual(input.vpns[0]!.sites[0]!.prefixLabels, { '10.1.0.0/30': 40001, '192.168.0.0/16': 40002 });
});

test('desired input: an allocated VRF carries its RD, table, label and route targets; one not allocated yet is left out', () => {
  const allocated = vrfIntent(vpn('blue'), [site('s1')]);
  allocated.importRouteTargets = ['65000:1', '65000:9'];
  const pending = vrfIntent(vpn('red'), [site('s2', { vpn: 'red' })], false);
  const input = desiredInput(intentOf([allocated, pending]));
  assert.deepEqual(input.vpns.map((v) => v.id), ['blue']);
  assert.equal(input.vpns[0]!.labelMode, 'per-vrf');
  assert.deepEqual(input.vpns[0]!.vrfs, [
    { pe: 'pe1', name: 'blue', tableId: 1000, rd: '65000:100', importRouteTargets: ['65000:1', '65000:9'], exportRouteTargets: ['65000:1'], vrfLabel: 24001 },
  ]);
});

test('desired input: static routes become VRF routes towards the CE, the attachment subnet a connected one', () => {
  const s = site('s1', { vlan: 10, routing: { static: [{ prefix: '192.168.7.0/24' }] } });
  const intent = intentOf([vrfIntent(vpn('blue'), [s])]);
  const { state } = computeNodeDesiredState(prepareNetwork(desiredInput(intent)), 'pe1', [], { generation: 1 });
  const routes = state.vrfRoutes.filter((r) => r.vrf === 'blue').map((r) => ({ prefix: r.prefix, source: r.source, nextHop: r.nextHop }));
  assert.deepEqual(
    routes.find((r) => r.prefix === '192.168.7.0/24'),
    { prefix: '192.168.7.0/24', source: VrfRouteSource.VRF_ROUTE_SOURCE_STATIC, nextHop: { $case: 'local', value: { interface: 'ce0', vlan: 10, address: '10.1.0.2' } } },
  );
  assert.equal(routes.find((r) => r.prefix === '10.1.0.0/30')?.source, VrfRouteSource.VRF_ROUTE_SOURCE_CONNECTED);
});

test('exporting sites: connected subnets and statics per site, with the CE and prefix labels the node holds', () => {
  const dual = site('s1', { ipv6: { peAddress: '2001:db8:1::1/64', ceAddress: '2001:db8:1::2' }, routing: { static: [{ prefix: '192.168.0.0/16' }] } });
  const labels = new Map([
    [owners.ce('blue', 's1', 6), 30002],
    [owners.prefix('blue', 'pe1', '192.168.0.0/16'), 40002],
  ]);
  assert.deepEqual(exportingSites('blue', 'pe1', [dual], labels), [
    { connected: ['10.1.0.0/30', '2001:db8:1::/64'], statics: ['192.168.0.0/16'], ceLabels: { 6: 30002 }, prefixLabels: { '192.168.0.0/16': 40002 } },
  ]);
});

test('usable inventory: SRGB defaults to the labels service\'s, a down link stays but is marked down', () => {
  const intent = intentOf([], [], {});
  intent.nodes[1] = node('p1', 2, { role: 'P', srgb: { base: 20000, size: 1000 } });
  intent.links[1] = link('l2', 'p1', 'pe2', 2, { operStatus: 'down' });
  const inventory = usableInventory(intent);
  assert.deepEqual(inventory.nodes.find((n) => n.id === 'pe1')!.srgb, DEFAULT_SRGB);
  assert.deepEqual(inventory.nodes.find((n) => n.id === 'p1')!.srgb, { base: 20000, size: 1000 });
  assert.equal(inventory.links.find((l) => l.id === 'l2')!.down, true);
  assert.equal(inventory.links.find((l) => l.id === 'l1')!.down, false);
});

test('usable inventory: a site of the node with an address or static prefix that cannot be used fails the node alone, with the reason', () => {
  const rejects = (s: Site, reason: RegExp) =>
    assert.throws(
      () => desiredInput(intentOf([vrfIntent(vpn('blue'), [site('s1'), s])])),
      (err: unknown) => err instanceof NodeRejectedError && err.node === 'pe1' && err.records.length === 1 && err.records[0]!.kind === 'site' && err.records[0]!.id === s.id && reason.test(err.message),
    );
  rejects(site('s8', { ipv4: { peAddress: '10.1.0.1/30', ceAddress: 'ten.one' } }), /CE address/);
  rejects(site('s9', { routing: { static: [{ prefix: '192.168.7.9/24' }] } }), /host bits/);
});

test('desired input: a site with routing.bgp gets its session on its VRF interface; per-prefix VPNs allocate its CE a label', () => {
  const s = site('s1', { vlan: 10, routing: { bgp: { peerAs: 65101 } } });
  const { state } = computeNodeDesiredState(prepareNetwork(desiredInput(intentOf([vrfIntent(vpn('blue'), [s, site('s2', { interface: 'ce1', ipv4: { peAddress: '10.2.0.1/30', ceAddress: '10.2.0.2' } })])]))), 'pe1', [], { generation: 1 });
  const itfs = state.vrfs.find((v) => v.name === 'blue')!.interfaces;
  assert.deepEqual(itfs.map((i) => [i.name, i.bgpSessions]), [
    ['ce0', [{ ceAddress: '10.1.0.2', peAddress: '10.1.0.1' }]],
    ['ce1', []],
  ]);
  const owners_ = (mode: 'per-prefix' | 'per-vrf') => vrfLabelRequests('blue', mode, 'pe1', [s]).map((r) => r.owner);
  assert.ok(owners_('per-prefix').includes(owners.ce('blue', 's1', 4)));
  assert.ok(!owners_('per-vrf').includes(owners.ce('blue', 's1', 4)));
  assert.ok(!vrfLabelRequests('blue', 'per-prefix', 'pe1', [site('s3')]).some((r) => r.owner === owners.ce('blue', 's3', 4)), 'no eBGP: no CE label in per-prefix mode');
});
