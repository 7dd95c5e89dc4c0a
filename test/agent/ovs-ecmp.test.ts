// ECMP with real packets through Open vSwitch (issue 14, all-active
// multi-homing): PE1 has red's route to 10.9.0.0/16 via PE2 (best) and PE3
// (VrfRoute.multipath), both directly attached, so PE1's route is an
// OpenFlow select group whose two buckets push each PE's VPN label and go
// out of the port towards it (watched: a dead port's bucket is skipped by
// the switch itself). The site behind PE2 and PE3
// is one all-active site in the intent; here its two accesses are two CE
// namespaces holding the same address (10.9.0.1), so which one received a
// datagram says which egress PE carried it. CE1 sends UDP datagrams of many
// flows (source ports and addresses): both buckets and both CEs must see
// traffic and every datagram must arrive; with the member removed, every
// flow goes to PE2. The ECMP group changed by hand is drift the driver
// reports and repairs. Names: l3ec-* namespaces, l3ec* bridges and veths.
// Run under flock /tmp/l3vpn-net.lock.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import type { DesiredStateInput, SelectedVpnRoute } from '../../services/common/desired-state/types.js';
import { ChangeKind, type NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { Agent } from '../../services/agent/agent.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import { skipOrFail } from '../support/tools.js';
import { eventually } from '../support/eventually.js';
import { labMissing, type LabSpec, PacketLab } from './ovs-harness.js';

const SPEC: LabSpec = {
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
const PREFIX = '10.9.0.0/16';
const FLOWS = 240;

function network(): DesiredStateInput {
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
function states(balanced: boolean, generation: number): Map<string, NodeDesiredState> {
  const net = network();
  const routes = simulateSelectedRoutes(net);
  const pe1: SelectedVpnRoute[] = (routes.get('PE1') ?? []).filter((r) => r.prefix !== PREFIX);
  pe1.push({ vrf: 'red', prefix: PREFIX, nextHop: '10.255.0.2', label: 200, rd: '65000:2' });
  if (balanced) pe1.push({ vrf: 'red', prefix: PREFIX, nextHop: '10.255.0.3', label: 300, rd: '65000:3', multipath: true });
  routes.set('PE1', pe1);
  return new Map([...computeDesiredStates(net, routes, { generation })].map(([id, r]) => [id, r.state]));
}

const skip = skipOrFail(labMissing());
let lab: PacketLab;

before(async () => {
  if (!skip) lab = await PacketLab.start(SPEC);
});

after(async () => {
  await lab?.stop();
});

/** Segments of a protocol the namespace received (/proc/net/snmp): UDP datagrams (delivered or to no socket), TCP segments. */
function received(ns: string, proto: 'Udp' | 'Tcp'): number {
  const lines = lab.inNs(ns, 'cat', '/proc/net/snmp').split('\n').filter((l) => l.startsWith(`${proto}:`));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/).map(Number);
  const at = (n: string) => values[names.indexOf(n)]!;
  return proto === 'Udp' ? at('InDatagrams') + at('NoPorts') : at('InSegs');
}
const udpIn = (ns: string) => received(ns, 'Udp');

/** One datagram per flow from CE1 to 10.9.0.1:5001, each from its own source port: half from CE1's link address, half from its loopback. */
function sendFlows(): void {
  run(`
      const s = dgram.createSocket('udp4');
      await new Promise((r) => s.bind({ address: i % 2 ? '10.1.0.1' : '192.168.1.2', port: 30000 + i }, r));
      await new Promise((r, j) => s.send('ecmp', 5001, '10.9.0.1', (e) => (e ? j(e) : r())));
      s.close();`);
}

/** One TCP connection attempt per flow from CE1's link address alone, each from its own source port: a SYN each, refused by the CE (RST). */
function sendTcpFlows(): void {
  run(`
      await new Promise((r) => {
        const c = net.connect({ host: '10.9.0.1', port: 5001, localAddress: '192.168.1.2', localPort: 40000 + i });
        c.on('error', r);
        c.on('connect', () => { c.destroy(); r(); });
      });`);
}

function run(body: string): void {
  const script = `
    const dgram = require('node:dgram');
    const net = require('node:net');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      for (let i = 0; i < ${FLOWS}; i++) {
        ${body}
        await sleep(3);
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  lab.inNs('l3ec-ce1', process.execPath, '-e', script);
}

/** Packets per bucket of a bridge's group (ovs-ofctl dump-group-stats). */
function bucketPackets(bridge: string, group: number): number[] {
  const line = lab.ovs.ofctl('dump-group-stats', bridge).split('\n').find((l) => l.includes(`group_id=${group},`)) ?? '';
  return [...line.matchAll(/bucket\d+:packet_count=(\d+)/g)].map((m) => Number(m[1]));
}

function ecmpGroups(bridge: string): { id: number; text: string }[] {
  return lab.ovs
    .ofctl('dump-groups', bridge)
    .split('\n')
    .filter((l) => l.includes('type=select'))
    .map((l) => ({ id: Number(/group_id=(\d+)/.exec(l)![1]), text: l.trim() }));
}

test('ovs ECMP: flows from CE1 spread over both egress PEs through a select group, none lost; without the member every flow goes to PE2; a changed group is drift that is repaired', { skip }, async (t) => {
  const first = states(true, 1);
  const drivers = new Map<string, OvsDriver>();
  const agents = new Map<string, Agent>();
  try {
    for (const n of SPEC.nodes) {
      const driver = await new OvsDriver({ target: lab.target(n), portPrefix: n.portPrefix }).connect();
      drivers.set(n.id, driver);
      const agent = new Agent({ node: n.id, driver });
      agents.set(n.id, agent);
      const r = await agent.applySnapshot(first.get(n.id)!);
      assert.deepEqual([r.failures, agent.report().failures], [0, []], n.id);
    }
    const route = first.get('PE1')!.vrfRoutes.find((r) => r.prefix === PREFIX)!;
    assert.equal(route.multipath.length, 1, 'PE1 balances over PE2 and PE3');

    // One select group on PE1, a bucket per egress PE: PE2's VPN label then PE2's SID group, PE3's likewise.
    const groups = ecmpGroups('l3ecb1');
    assert.equal(groups.length, 1, JSON.stringify(groups));
    const group = groups[0]!.id;
    assert.match(groups[0]!.text, /type=select,bucket=(weight:1,)?watch_port:(\d+),actions=push_mpls:0x8847,set_field:200->mpls_label,output:\2,bucket=(weight:1,)?watch_port:(\d+),actions=push_mpls:0x8847,set_field:300->mpls_label,output:\4$/);
    assert.ok(group > 0xfffff, 'ECMP group ids never collide with node-SID groups (labels)');

    // Neighbours learnt everywhere (replies and the CEs' ARP): the egress PEs know their CEs before the flows start.
    for (const ns of ['l3ec-ce2', 'l3ec-ce3']) assert.ok(lab.ping(ns, '10.1.0.1'), `${ns} -> CE1`);
    assert.ok(lab.ping('l3ec-ce1', '192.168.2.2') && lab.ping('l3ec-ce1', '192.168.3.2'), 'CE1 -> both egress CEs');

    const before = [udpIn('l3ec-ce2'), udpIn('l3ec-ce3')];
    const bucketsBefore = bucketPackets('l3ecb1', group);
    sendFlows();
    const got = [udpIn('l3ec-ce2') - before[0]!, udpIn('l3ec-ce3') - before[1]!];
    // Both paths carry traffic, in a sane proportion, and every datagram arrived at one of the two CEs.
    assert.equal(got[0]! + got[1]!, FLOWS, `received ${got} of ${FLOWS}`);
    for (const n of got) assert.ok(n >= FLOWS * 0.2, `egress split ${got}`);
    // The switch's bucket counters (refreshed from the datapath about once a second) say the same.
    const buckets = () => bucketPackets('l3ecb1', group).map((n, i) => n - (bucketsBefore[i] ?? 0));
    await eventually('bucket counters caught up', () => buckets().reduce((a, b) => a + b, 0) >= FLOWS, { timeoutMs: 5000 });
    assert.deepEqual(buckets(), got, 'each bucket carried what its PE delivered');

    // One host's flows spread too: TCP flows from one address, by their ports. (Open vSwitch's default select
    // method, dp_hash over a symmetric L3/L4 hash, takes TCP and SCTP ports but not UDP ones: the UDP flows
    // above spread by their addresses.)
    const tcpBefore = [received('l3ec-ce2', 'Tcp'), received('l3ec-ce3', 'Tcp')];
    sendTcpFlows();
    const byPort = [received('l3ec-ce2', 'Tcp') - tcpBefore[0]!, received('l3ec-ce3', 'Tcp') - tcpBefore[1]!];
    assert.equal(byPort[0]! + byPort[1]!, FLOWS, `SYNs received ${byPort} of ${FLOWS}`);
    for (const n of byPort) assert.ok(n >= FLOWS * 0.2, `egress split of one source's TCP flows ${byPort}`);
    t.diagnostic(`egress split PE2/PE3: UDP from two addresses ${got.join('/')}, TCP from one address ${byPort.join('/')}`);

    // The driver reads its ECMP route back as installed: no drift.
    const d1 = drivers.get('PE1')!;
    const pe1State = first.get('PE1')!;
    const read = await d1.read(pe1State);
    assert.deepEqual(read.vrfRoutes.find((r) => r.prefix === PREFIX), route);
    // Someone removes a bucket by hand: the route reads as differing, and applying it again restores the group.
    lab.ovs.ofctl('mod-group', 'l3ecb1', groups[0]!.text.replace(/,bucket=(weight:1,)?watch_port:\d+,actions=push_mpls:0x8847,set_field:300.*$/, ''));
    assert.equal(ecmpGroups('l3ecb1')[0]!.text.includes('set_field:300'), false);
    const drifted = await d1.read(pe1State);
    assert.equal(drifted.vrfRoutes.find((r) => r.prefix === PREFIX)?.nextHop, undefined, 'the changed group is drift');
    assert.deepEqual(await d1.apply([{ kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'vrfRoute', value: route } }, previous: undefined }]), []);
    assert.equal(ecmpGroups('l3ecb1')[0]!.text, groups[0]!.text, 'the group is back as it was');
    assert.deepEqual((await d1.read(pe1State)).vrfRoutes.find((r) => r.prefix === PREFIX), route);

    // The member leaves (PE3's access down, its route withdrawn): the route is one next hop again, its group goes.
    const second = states(false, 2);
    const r2 = await agents.get('PE1')!.applySnapshot(second.get('PE1')!);
    assert.equal(r2.failures, 0);
    assert.deepEqual(ecmpGroups('l3ecb1'), [], 'no select group left');
    const again = [udpIn('l3ec-ce2'), udpIn('l3ec-ce3')];
    sendFlows();
    assert.deepEqual([udpIn('l3ec-ce2') - again[0]!, udpIn('l3ec-ce3') - again[1]!], [FLOWS, 0], 'every flow over PE2, none lost');
  } finally {
    for (const d of drivers.values()) await d.close();
  }
});
