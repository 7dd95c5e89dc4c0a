// The packet tests' desired state, shared by the ovs and linux drivers' tests.
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';

const SRGB = { base: 16000, size: 8000 };

/** Two VPNs with the same customer prefixes across PE1 -> P -> PE2: red per-VRF labels, blue per-CE. */
export function twoVpnNetwork(options: { bluePe1Vlan?: number } = {}): DesiredStateInput {
  const site = (id: string, pe: string, iface: string, n: number, extra: object = {}) => ({
    id,
    pe,
    interface: iface,
    peAddress: `192.168.${n}.1/30`,
    ceAddress: `192.168.${n}.2`,
    staticPrefixes: [`10.${n}.0.0/16`],
    ...extra,
  });
  return {
    inventory: {
      nodes: [
        { id: 'PE1', role: 'PE', routerId: '10.255.0.1', srgb: SRGB, nodeSidIndex: 1, transport: 'sr' },
        { id: 'P', role: 'P', routerId: '10.255.0.11', srgb: SRGB, nodeSidIndex: 11, transport: 'sr' },
        { id: 'PE2', role: 'PE', routerId: '10.255.0.2', srgb: SRGB, nodeSidIndex: 2, transport: 'sr' },
      ],
      links: [
        { a: { node: 'PE1', interface: 'core0', address: '10.0.0.0/31' }, b: { node: 'P', interface: 'core0', address: '10.0.0.1/31' }, metric: 10 },
        { a: { node: 'P', interface: 'core1', address: '10.0.1.0/31' }, b: { node: 'PE2', interface: 'core0', address: '10.0.1.1/31' }, metric: 10 },
      ],
    },
    vpns: [
      {
        id: 'red',
        labelMode: 'per-vrf',
        vrfs: [
          { pe: 'PE1', name: 'red', tableId: 1001, rd: '65000:1', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 100 },
          { pe: 'PE2', name: 'red', tableId: 1001, rd: '65000:2', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 200 },
        ],
        sites: [site('red-a', 'PE1', 'red0', 1), site('red-b', 'PE2', 'red0', 2)],
      },
      {
        id: 'blue',
        labelMode: 'per-ce',
        vrfs: [
          { pe: 'PE1', name: 'blue', tableId: 1002, rd: '65000:11', importRouteTargets: ['65000:200'], exportRouteTargets: ['65000:200'], vrfLabel: 101 },
          { pe: 'PE2', name: 'blue', tableId: 1002, rd: '65000:12', importRouteTargets: ['65000:200'], exportRouteTargets: ['65000:200'], vrfLabel: 201 },
        ],
        sites: [site('blue-a', 'PE1', 'blu0', 1, { ceLabel: 110, ...(options.bluePe1Vlan ? { vlan: options.bluePe1Vlan } : {}) }), site('blue-b', 'PE2', 'blu0', 2, { ceLabel: 210 })],
      },
    ],
  };
}
