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
import { ChangeKind, type NodeDesiredState } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { Agent } from '../../services/agent/agent.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { skipOrFail } from '../support/tools.js';
import { eventually } from '../support/eventually.js';
import { labMissing, PacketLab } from './ovs-harness.js';
import { ECMP_SPEC as SPEC, PREFIX, received as receivedIn, sendTcpFlows as tcpFlows, sendUdpFlows, states } from './ecmp-lab.js';

const FLOWS = 240;


const skip = skipOrFail(labMissing());
let lab: PacketLab;

before(async () => {
  if (!skip) lab = await PacketLab.start(SPEC);
});

after(async () => {
  await lab?.stop();
});

const received = (ns: string, proto: 'Udp' | 'Tcp') => receivedIn(lab, ns, proto);
const udpIn = (ns: string) => received(ns, 'Udp');
const sendFlows = () => sendUdpFlows(lab, FLOWS);
const sendTcpFlows = () => tcpFlows(lab, FLOWS);


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
