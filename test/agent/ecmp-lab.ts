// The ECMP packet lab (test/agent/ovs-ecmp.test.ts, bench/ecmp-distribution.ts):
// PE1 with red's route to 10.9.0.0/16 via PE2 (best) and PE3 (ECMP member),
// both directly attached; behind them two CE namespaces holding the same
// address 10.9.0.1 (one all-active site's two accesses), so which one
// received a packet says which egress PE carried it; CE1 sends the flows.
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import type { DesiredStateInput, SelectedVpnRoute } from '../../services/common/desired-state/types.js';
import type { NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import type { LabSpec, PacketLab } from './ovs-harness.js';

export const ECMP_SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3ecb1', portPrefix: 'l3ec1', interfaces: ['core0', 'core1', 'red0'] },
    { id: 'PE2', bridge: 'l3ecb2', portPrefix: 'l3ec2', interfaces: ['core0', 'red0'] },
    { id: 'PE3', bridge: 'l3ecb3', portPrefix: 'l3ec3', interfaces: ['core0', 'red0'] },
  ],
  core: [
    ['l3ec1core0', 'l3ec2core0'],
    ['l3ec1core1', 'l3ec3core0'],
  ],
  ces: [
    { ns: 'l3ec-ce1', port: 'l3ec1red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1' },
    { ns: 'l3ec-ce2', port: 'l3ec2red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.9.0.1' },
    { ns: 'l3ec-ce3', port: 'l3ec3red0', address: '192.168.3.2/30', gateway: '192.168.3.1', loopback: '10.9.0.1' },
  ],
};

const SRGB = { base: 16000, size: 8000 };
export const PREFIX = '10.9.0.0/16';

export function network(): DesiredStateInput {
  const site = (id: string, pe: string, n: number, statics: string[]) => ({ id, pe, interface: 'red0', peAddress: `192.168.${n}.1/30`, ceAddress: `192.168.${n}.2`, staticPrefixes: statics });
  return {
    inventory: {
      nodes: [
        { id: 'PE1', role: 'PE', routerId: '10.255.0.1', srgb: SRGB, nodeSidIndex: 1, transport: 'sr' },
        { id: 'PE2', role: 'PE', routerId: '10.255.0.2', srgb: SRGB, nodeSidIndex: 2, transport: 'sr' },
        { id: 'PE3', role: 'PE', routerId: '10.255.0.3', srgb: SRGB, nodeSidIndex: 3, transport: 'sr' },
      ],
      links: [
        { a: { node: 'PE1', interface: 'core0', address: '10.0.0.0/31' }, b: { node: 'PE2', interface: 'core0', address: '10.0.0.1/31' }, metric: 10 },
        { a: { node: 'PE1', interface: 'core1', address: '10.0.1.0/31' }, b: { node: 'PE3', interface: 'core0', address: '10.0.1.1/31' }, metric: 10 },
      ],
    },
    vpns: [
      {
        id: 'red',
        labelMode: 'per-vrf',
        vrfs: [
          { pe: 'PE1', name: 'red', tableId: 1001, rd: '65000:1', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 100 },
          { pe: 'PE2', name: 'red', tableId: 1001, rd: '65000:2', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 200 },
          { pe: 'PE3', name: 'red', tableId: 1001, rd: '65000:3', importRouteTargets: ['65000:100'], exportRouteTargets: ['65000:100'], vrfLabel: 300 },
        ],
        sites: [site('red-a', 'PE1', 1, ['10.1.0.0/16']), site('red-b', 'PE2', 2, [PREFIX]), site('red-c', 'PE3', 3, [PREFIX])],
      },
    ],
  };
}

/** Every node's state; PE1's route to the all-active prefix as the bgp service selects it: best via PE2, PE3 with it when `balanced`. */
export function states(balanced: boolean, generation: number): Map<string, NodeDesiredState> {
  const net = network();
  const routes = simulateSelectedRoutes(net);
  const pe1: SelectedVpnRoute[] = (routes.get('PE1') ?? []).filter((r) => r.prefix !== PREFIX);
  pe1.push({ vrf: 'red', prefix: PREFIX, nextHop: '10.255.0.2', label: 200, rd: '65000:2' });
  if (balanced) pe1.push({ vrf: 'red', prefix: PREFIX, nextHop: '10.255.0.3', label: 300, rd: '65000:3', multipath: true });
  routes.set('PE1', pe1);
  return new Map([...computeDesiredStates(net, routes, { generation })].map(([id, r]) => [id, r.state]));
}

/** Segments of a protocol the namespace received (/proc/net/snmp): UDP datagrams (delivered or to no socket), TCP segments. */
export function received(lab: PacketLab, ns: string, proto: 'Udp' | 'Tcp'): number {
  const lines = lab.inNs(ns, 'cat', '/proc/net/snmp').split('\n').filter((l) => l.startsWith(`${proto}:`));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/).map(Number);
  const at = (n: string) => values[names.indexOf(n)]!;
  return proto === 'Udp' ? at('InDatagrams') + at('NoPorts') : at('InSegs');
}

/** One datagram per flow from CE1 to 10.9.0.1:5001, each from its own source port: half from CE1's link address, half from its loopback. */
export function sendUdpFlows(lab: PacketLab, flows: number): void {
  run(lab, flows, `
      const s = dgram.createSocket('udp4');
      await new Promise((r) => s.bind({ address: i % 2 ? '10.1.0.1' : '192.168.1.2', port: 30000 + i }, r));
      await new Promise((r, j) => s.send('ecmp', 5001, '10.9.0.1', (e) => (e ? j(e) : r())));
      s.close();`);
}

/** One TCP connection attempt per flow from CE1's link address alone, each from its own source port: a SYN each, refused by the CE (RST). */
export function sendTcpFlows(lab: PacketLab, flows: number, firstPort = 40000): void {
  run(lab, flows, `
      await new Promise((r) => {
        const c = net.connect({ host: '10.9.0.1', port: 5001, localAddress: '192.168.1.2', localPort: ${firstPort} + i });
        c.on('error', r);
        c.on('connect', () => { c.destroy(); r(); });
      });`);
}

function run(lab: PacketLab, flows: number, body: string): void {
  const script = `
    const dgram = require('node:dgram');
    const net = require('node:net');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      for (let i = 0; i < ${flows}; i++) {
        ${body}
        await sleep(3);
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  lab.inNs('l3ec-ce1', process.execPath, '-e', script);
}
