import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneAccessSite } from '../domain/test-sites.js';
import type { NodeIntent, Site, Vpn, VrfIntent } from '../domain/node-intent.js';
import type { Meta } from '../intent/types.js';
import { cePeersOf } from './ce-peer-intent.js';
import { owners } from './owners.js';

const meta: Meta = { version: 1, status: { state: 'active' }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };

const vpn = (labelMode: Vpn['labelMode']): Vpn => ({
  id: 'red',
  customer: 'acme',
  topology: 'any-to-any',
  extranetImports: [],
  addressFamilies: ['ipv4', 'ipv6'],
  labelMode,
  maxRoutesPerVrf: 1000,
  routeTargets: { anyToAny: '65000:1' },
  ...meta,
});

const site = (extra: Partial<Site> = {}): Site =>
  oneAccessSite({
    id: 's1',
    vpn: 'red',
    node: 'pe1',
    interface: 'ce0',
    vlan: 10,
    ipv4: { peAddress: '10.1.1.1/30', ceAddress: '10.1.1.2' },
    ipv6: { peAddress: '2001:DB8:1::1/64', ceAddress: '2001:db8:1:0::2' },
    role: 'any-to-any',
    routing: { bgp: { peerAs: 65101 } },
    siteOfOrigin: '65000:7',
    ...meta,
    ...extra,
  });

function intent(v: Vpn, sites: Site[], labels: [string, number][] = [], allocated = true): NodeIntent {
  const vi: VrfIntent = {
    vrf: { id: 'red:pe1', vpn: 'red', node: 'pe1', routeDistinguisher: allocated ? '65000:1' : null },
    vpn: v,
    sites,
    allocation: allocated ? { tableId: 1000, rd: '65000:1', label: 24001, rdOwned: true, rdAdministrator: '65000' } : undefined,
    importRouteTargets: ['65000:1'],
    exportRouteTargets: ['65000:1'],
  };
  return { node: { id: "pe1" } as NodeIntent["node"], nodes: [], links: [], vrfs: [vi], labels: new Map(labels) };
}

test('one peer per CE address family, canonical addresses, with the site of origin and the VPN label of the mode', () => {
  const labels: [string, number][] = [
    [owners.ce('red', 's1', 4), 30001],
    [owners.ce('red', 's1', 6), 30002],
  ];
  const perCe = cePeersOf(intent(vpn('per-ce'), [site()], labels));
  assert.deepEqual(perCe, [
    { vpn: 'red', node: 'pe1', site: 's1', access: 's1', family: 4, ceAddress: '10.1.1.2', peAddress: '10.1.1.1', peerAs: 65101, siteOfOrigin: '65000:7', asOverride: false, allowasIn: 0, routeLabel: 30001 },
    { vpn: 'red', node: 'pe1', site: 's1', access: 's1', family: 6, ceAddress: '2001:db8:1::2', peAddress: '2001:db8:1::1', peerAs: 65101, siteOfOrigin: '65000:7', asOverride: false, allowasIn: 0, routeLabel: 30002 },
  ]);
  // Per-prefix: the CE's routes share its per-CE label; per-VRF: 0, the VRF's label.
  assert.deepEqual(cePeersOf(intent(vpn('per-prefix'), [site()], labels)).map((p) => p.routeLabel), [30001, 30002]);
  assert.deepEqual(cePeersOf(intent(vpn('per-vrf'), [site()], labels)).map((p) => p.routeLabel), [0, 0]);
});

test('the site options reach the peer; no routing.bgp or no RD yet: no peer', () => {
  const s = site({ ipv6: undefined, routing: { bgp: { peerAs: 65101, asOverride: true, allowasIn: 2, maxPrefix: { limit: 100, action: 'warning-only' } } } });
  const [p] = cePeersOf(intent(vpn('per-vrf'), [s]));
  assert.equal(p!.asOverride, true);
  assert.equal(p!.allowasIn, 2);
  assert.deepEqual(p!.maxPrefix, { limit: 100, action: 'warning-only' });
  assert.deepEqual(cePeersOf(intent(vpn('per-vrf'), [site({ routing: { static: [{ prefix: '10.9.0.0/16' }] } })])), []);
  assert.deepEqual(cePeersOf(intent(vpn('per-vrf'), [site()], [], false)), []);
});

test("a multi-homed site's access preference is its CE peer's LOCAL_PREF: single-active primary 200, backup 100; all-active 100 each; one access: none", () => {
  const two = (multihoming: 'single-active' | 'all-active', node: string): Site => {
    const one = site({ ipv6: undefined });
    const accesses = [
      { ...one.access, id: 'primary', node: 'pe1', priority: 200 },
      { ...one.access, id: 'backup', node: 'pe2' },
    ];
    const access = accesses.find((a) => a.node === node)!;
    return { ...one, multihoming, accesses, access, node };
  };
  const pref = (s: Site) => cePeersOf(intent(vpn('per-vrf'), [s])).map((p) => p.localPref);
  assert.deepEqual(pref(two('single-active', 'pe1')), [200]);
  assert.deepEqual(pref(two('single-active', 'pe2')), [100]);
  assert.deepEqual(pref(two('all-active', 'pe1')), [100]);
  assert.deepEqual(pref(site({ ipv6: undefined })), [undefined]);
});
