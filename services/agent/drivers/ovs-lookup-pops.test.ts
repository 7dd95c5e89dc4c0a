import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LfibEntry, VrfRoute } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { LookupFamily, VrfRouteSource } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { LookupPops } from './ovs/lookup-pops.js';

const ce = (address: string) => ({ interface: 'cust0', vlan: 200, address });
const local = (vrf: string, prefix: string, address: string): VrfRoute => ({
  vrf,
  prefix,
  nextHop: { $case: 'local', value: ce(address) },
  source: address ? VrfRouteSource.VRF_ROUTE_SOURCE_STATIC : VrfRouteSource.VRF_ROUTE_SOURCE_CONNECTED,
  multipath: [],
});
const lookup = (inLabel: number, vrf: string): LfibEntry => ({ inLabel, action: { $case: 'popAndLookup', value: { vrf, family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }, owner: `vrf:${vrf}` });
const forward = (inLabel: number, vrf: string, address: string): LfibEntry => ({ inLabel, action: { $case: 'popAndForward', value: { vrf, nextHop: ce(address) } }, owner: `ce:${vrf}:x` });

test('ovs lookup pops: per-VRF label -> every local IPv6 route of the VRF is refused with the label and the reason; IPv4 and other VRFs are not', () => {
  const pops = new LookupPops();
  pops.reset([lookup(100, 'red'), lookup(101, 'blue')]);
  const why = pops.refusal(local('red', '2001:db8:a1::/48', '2001:db8:1::2'));
  assert.match(why ?? '', /IPv6 2001:db8:a1::\/48 of VRF red .*label 100.*pops to IPv4 on OVS/);
  assert.ok(pops.refusal(local('red', '2001:db8:1::/64', '')));
  assert.equal(pops.refusal(local('red', '10.1.0.0/16', '192.168.1.2')), undefined);
  assert.equal(pops.refusal(local('green', '2001:db8:1::/64', '')), undefined);
  // A remote route is the ingress side: pushed, not popped.
  const remote: VrfRoute = { vrf: 'red', prefix: '2001:db8:2::/64', nextHop: { $case: 'remote', value: { labels: [16002, 200], outInterface: 'core0', nextHop: '10.0.0.1', remotePeAddress: '10.255.0.2', remotePe: 'PE2', rd: '65000:2', externalTransport: false, localSidLabel: 0 } }, source: VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN, multipath: [] };
  assert.equal(pops.refusal(remote), undefined);
});

test('ovs lookup pops: per-CE labels deliver their CE\u2019s IPv6 routes; the connected IPv6 subnet only when the VRF has no label that pops to a lookup', () => {
  const pops = new LookupPops();
  pops.reset([forward(111, 'blue', '2001:db8:1::2'), lookup(101, 'blue')]);
  assert.equal(pops.refusal(local('blue', '2001:db8:100::/48', '2001:db8:1::2')), undefined);
  // Another CE's route (no label of its own) and the connected subnet are reached under the VRF label.
  assert.match(pops.refusal(local('blue', '2001:db8:200::/48', '2001:db8:1::3')) ?? '', /label 101/);
  assert.match(pops.refusal(local('blue', '2001:db8:1::/64', '')) ?? '', /label 101/);
  // The VRF label goes (a change to another action, then a delete): nothing pops to a lookup any more.
  pops.set({ inLabel: 101, action: { $case: 'swap', value: { outLabels: [17], outInterface: 'core0', nextHop: '10.0.0.1', destinationNode: 'P1' } }, owner: '' });
  assert.equal(pops.refusal(local('blue', '2001:db8:1::/64', '')), undefined);
  pops.set(lookup(101, 'blue'));
  pops.delete(101);
  assert.equal(pops.refusal(local('blue', '2001:db8:1::/64', '')), undefined);
  // A per-prefix label of a connected IPv6 subnet pops to an IPv6 lookup: delivered; one without its family would not be.
  pops.set({ inLabel: 130, action: { $case: 'popAndLookup', value: { vrf: 'blue', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }, owner: 'prefix:blue:2001:db8:1::/64' });
  assert.match(pops.refusal(local('blue', '2001:db8:1::/64', '')) ?? '', /label 130/);
  pops.set({ inLabel: 130, action: { $case: 'popAndLookup', value: { vrf: 'blue', family: LookupFamily.LOOKUP_FAMILY_IPV6 } }, owner: 'prefix:blue:2001:db8:1::/64' });
  assert.equal(pops.refusal(local('blue', '2001:db8:1::/64', '')), undefined);
});

test('ovs lookup pops: a VRF with an IPv6 label (per-VRF label per address family) has its IPv6 routes delivered; it gone, they are refused again', () => {
  const pops = new LookupPops();
  const ipv6Label: LfibEntry = { inLabel: 102, action: { $case: 'popAndLookup', value: { vrf: 'red', family: LookupFamily.LOOKUP_FAMILY_IPV6 } }, owner: 'vrf:red:ipv6' };
  pops.reset([lookup(100, 'red'), ipv6Label]);
  assert.equal(pops.refusal(local('red', '2001:db8:a1::/48', '2001:db8:1::2')), undefined);
  assert.equal(pops.refusal(local('red', '2001:db8:1::/64', '')), undefined);
  // Another VRF's IPv6 label delivers nothing of red's.
  pops.reset([lookup(100, 'red'), { ...ipv6Label, action: { $case: 'popAndLookup', value: { vrf: 'blue', family: LookupFamily.LOOKUP_FAMILY_IPV6 } } }]);
  assert.match(pops.refusal(local('red', '2001:db8:1::/64', '')) ?? '', /label 100/);
  pops.reset([lookup(100, 'red'), ipv6Label]);
  pops.delete(102);
  assert.match(pops.refusal(local('red', '2001:db8:1::/64', '')) ?? '', /label 100/);
});
