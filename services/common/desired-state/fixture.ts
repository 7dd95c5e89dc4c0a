// Test fixture: PE1 - P1 - P2 - PE2, with PE3 attached to P1, all metric 10.
// P2 has its own SRGB (20000) so that swaps visibly change the label.
// Two VPNs with the same customer prefixes and attachment addresses:
// "red" (per-VRF labels) on PE1, PE2 and PE3; "blue" (per-CE labels, one
// dual-stack site) on PE1 and PE2.
import type { DesiredStateInput, Inventory, VpnIntent } from './types.js';

export const SRGB = { base: 16000, size: 8000 };
export const P2_SRGB = { base: 20000, size: 8000 };

export function fixtureInventory(): Inventory {
  return {
    nodes: [
      { id: 'PE1', role: 'PE', routerId: '10.255.0.1', srgb: SRGB, nodeSidIndex: 1, transport: 'sr' },
      { id: 'PE2', role: 'PE', routerId: '10.255.0.2', srgb: SRGB, nodeSidIndex: 2, transport: 'sr' },
      { id: 'PE3', role: 'PE', routerId: '10.255.0.3', srgb: SRGB, nodeSidIndex: 3, transport: 'sr' },
      { id: 'P1', role: 'P', routerId: '10.255.0.11', srgb: SRGB, nodeSidIndex: 11, transport: 'sr' },
      { id: 'P2', role: 'P', routerId: '10.255.0.12', srgb: P2_SRGB, nodeSidIndex: 12, transport: 'sr' },
    ],
    links: [
      { a: { node: 'PE1', interface: 'core0', address: '10.0.0.0/31' }, b: { node: 'P1', interface: 'core0', address: '10.0.0.1/31' }, metric: 10 },
      { a: { node: 'P1', interface: 'core1', address: '10.0.1.0/31' }, b: { node: 'P2', interface: 'core0', address: '10.0.1.1/31' }, metric: 10 },
      { a: { node: 'P2', interface: 'core1', address: '10.0.2.0/31' }, b: { node: 'PE2', interface: 'core0', address: '10.0.2.1/31' }, metric: 10 },
      { a: { node: 'PE3', interface: 'core0', address: '10.0.3.0/31' }, b: { node: 'P1', interface: 'core2', address: '10.0.3.1/31' }, metric: 10 },
    ],
  };
}

export function fixtureVpns(): VpnIntent[] {
  return [
    {
      id: 'red',
      labelMode: 'per-vrf',
      vrfs: [
        { pe: 'PE1', name: 'red', tableId: 1001, rd: '65000:1', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 100 },
        { pe: 'PE2', name: 'red', tableId: 1001, rd: '65000:2', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 200 },
        { pe: 'PE3', name: 'red', tableId: 1001, rd: '65000:3', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 300 },
      ],
      sites: [
        { id: 'red-a', pe: 'PE1', interface: 'cust0', vlan: 100, peAddress: '192.168.1.1/30', ceAddress: '192.168.1.2', staticPrefixes: ['10.1.0.0/16'] },
        { id: 'red-b', pe: 'PE2', interface: 'cust0', vlan: 100, peAddress: '192.168.2.1/30', ceAddress: '192.168.2.2', staticPrefixes: ['10.2.0.0/16'] },
        { id: 'red-c', pe: 'PE3', interface: 'cust0', vlan: 100, peAddress: '192.168.3.1/30', ceAddress: '192.168.3.2', staticPrefixes: ['10.3.0.0/16'] },
      ],
    },
    {
      id: 'blue',
      labelMode: 'per-ce',
      vrfs: [
        { pe: 'PE1', name: 'blue', tableId: 1002, rd: '65000:11', importRouteTargets: ['65000:200'], exportRouteTargets: ['65000:200'], vrfLabel: 101 },
        { pe: 'PE2', name: 'blue', tableId: 1002, rd: '65000:12', importRouteTargets: ['65000:200'], exportRouteTargets: ['65000:200'], vrfLabel: 201 },
      ],
      sites: [
        // The same addresses and prefixes as red's sites: VRFs keep them apart.
        { id: 'blue-a', pe: 'PE1', interface: 'cust0', vlan: 200, peAddress: '192.168.1.1/30', ceAddress: '192.168.1.2', staticPrefixes: ['10.1.0.0/16'], ceLabel: 110 },
        {
          id: 'blue-a6',
          pe: 'PE1',
          interface: 'cust0',
          vlan: 200,
          peAddress: '2001:db8:1::1/64',
          ceAddress: '2001:db8:1::2',
          staticPrefixes: ['2001:db8:100::/48'],
          ceLabel: 111,
        },
        { id: 'blue-b', pe: 'PE2', interface: 'cust0', vlan: 200, peAddress: '192.168.2.1/30', ceAddress: '192.168.2.2', staticPrefixes: ['10.2.0.0/16'], ceLabel: 210 },
      ],
    },
  ];
}

export function fixtureInput(): DesiredStateInput {
  return { inventory: fixtureInventory(), vpns: fixtureVpns() };
}
