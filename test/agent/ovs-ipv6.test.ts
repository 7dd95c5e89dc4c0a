// 6VPE with real packets through Open vSwitch (RFC 4659: VPN-IPv6 over the
// IPv4 MPLS core): the two-VPN lab of ovs-packets.test.ts, PE1 -> P -> PE2,
// with IPv6 on the CE links. red's sites are dual stack (IPv4 and IPv6 on
// one attachment) under per-VRF labels, one per address family (OpenFlow
// cannot see the IP version under a label: the IPv6 label pops to IPv6);
// blue's are IPv6 only, use the same IPv6 addresses as red's and per-CE
// labels. The CEs find their gateway by
// neighbour discovery, answered by the PEs' flows; the PEs find the CEs by
// Neighbor Solicitations the agent sends and learn them from the
// Advertisements. Names: l3ov-6* namespaces, l3ov6* bridges and veths.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesiredStates } from '../../services/common/desired-state/index.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import { Agent } from '../../services/agent/agent.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { neighborSolicitation } from '../../services/agent/drivers/ovs/neighbours.js';
import { parseAddress } from '../../services/common/desired-state/prefix.js';
import { waitUntil } from '../../services/lab/processes.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import { skipOrFail } from '../support/tools.js';
import { labMissing, type LabSpec, PacketLab } from './ovs-harness.js';
import { twoVpnNetwork } from './two-vpn-network.js';

const v6 = (n: number, loopback: number) => ({ address: `2001:db8:${n}::2/64`, gateway: `2001:db8:${n}::1`, loopback: `2001:db8:a${n}::${loopback}` });

const SPEC: LabSpec = {
  nodes: [
    { id: 'PE1', bridge: 'l3ov6b1', portPrefix: 'l3ov61', interfaces: ['core0', 'red0', 'blu0'] },
    { id: 'P', bridge: 'l3ov6bp', portPrefix: 'l3ov6p', interfaces: ['core0', 'core1'] },
    { id: 'PE2', bridge: 'l3ov6b2', portPrefix: 'l3ov62', interfaces: ['core0', 'red0', 'blu0'] },
  ],
  core: [
    ['l3ov61core0', 'l3ov6pcore0'],
    ['l3ov6pcore1', 'l3ov62core0'],
  ],
  ces: [
    { ns: 'l3ov-61r', port: 'l3ov61red0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.1', ipv6: v6(1, 1) },
    { ns: 'l3ov-62r', port: 'l3ov62red0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.1', ipv6: v6(2, 1) },
    { ns: 'l3ov-61b', port: 'l3ov61blu0', address: '192.168.1.2/30', gateway: '192.168.1.1', loopback: '10.1.0.2', ipv6: v6(1, 2) },
    { ns: 'l3ov-62b', port: 'l3ov62blu0', address: '192.168.2.2/30', gateway: '192.168.2.1', loopback: '10.2.0.2', ipv6: v6(2, 2) },
  ],
};

/**
 * twoVpnNetwork's topology with IPv6 on every site: red per-VRF, dual stack,
 * with an IPv6 label beside the VRF label on each PE (`redIpv6Label: false`:
 * the VRF label alone, which OVS cannot pop to IPv6); blue per-CE without a
 * per-VRF label (a connected subnet is reached by its CE's label), IPv6 only
 * with red's IPv6 prefixes.
 */
function input({ redIpv6Label = true } = {}): DesiredStateInput {
  const net = twoVpnNetwork();
  const site = (id: string, pe: string, iface: string, n: number, family: 4 | 6, ceLabel?: number) => ({
    id,
    pe,
    interface: iface,
    peAddress: family === 4 ? `192.168.${n}.1/30` : `2001:db8:${n}::1/64`,
    ceAddress: family === 4 ? `192.168.${n}.2` : `2001:db8:${n}::2`,
    staticPrefixes: [family === 4 ? `10.${n}.0.0/16` : `2001:db8:a${n}::/48`],
    ...(ceLabel === undefined ? {} : { ceLabel }),
  });
  const [red, blue] = net.vpns as [DesiredStateInput['vpns'][number], DesiredStateInput['vpns'][number]];
  const perCe = (v: DesiredStateInput['vpns'][number]) => ({ ...v, labelMode: 'per-ce' as const, vrfs: v.vrfs.map(({ vrfLabel: _, ...vrf }) => vrf) });
  return {
    ...net,
    vpns: [
      {
        ...red,
        // PE1: 100 and 102, PE2: 200 and 202.
        vrfs: red.vrfs.map((v) => (redIpv6Label ? { ...v, vrfLabelIpv6: v.vrfLabel! + 2 } : v)),
        sites: [site('red-a', 'PE1', 'red0', 1, 4), site('red-a:v6', 'PE1', 'red0', 1, 6), site('red-b', 'PE2', 'red0', 2, 4), site('red-b:v6', 'PE2', 'red0', 2, 6)],
      },
      { ...perCe(blue), sites: [site('blue-a', 'PE1', 'blu0', 1, 6, 110), site('blue-b', 'PE2', 'blu0', 2, 6, 210)] },
    ],
  };
}

const skip = skipOrFail(labMissing());
let lab: PacketLab;

before(async () => {
  if (!skip) lab = await PacketLab.start(SPEC);
});

after(async () => {
  await lab?.stop();
});

/** The CE's neighbour entry for its gateway, as `ip -6 neigh` prints it. */
const gatewayEntry = (ns: string, gateway: string) => lab.inNs(ns, 'ip', '-6', 'neigh', 'show', gateway, 'dev', 'eth0').trim();
/** The MAC of an OVS port as the switch reports it (the PE's MAC on that attachment). */
const portMac = (bridge: string, port: string) => new RegExp(`\\(${port}\\): addr:([0-9a-f:]{17})`).exec(lab.ovs.ofctl('show', bridge))![1]!;

/** A Neighbor Solicitation from red CE1 for its gateway, with the given hop limit. */
function solicitation(ceMac: string, hopLimit: number): Uint8Array {
  const mac = Uint8Array.from(ceMac.split(':').map((x) => parseInt(x, 16)));
  const frame = neighborSolicitation(mac, 0, parseAddress('2001:db8:1::2')!.bytes, parseAddress('2001:db8:1::1')!.bytes);
  frame[14 + 7] = hopLimit; // not in the checksum
  return frame;
}

/** Sends a raw Ethernet frame out of the namespace's eth0. */
function sendFrame(ns: string, frame: Uint8Array): void {
  const py = 'import socket,sys; s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("eth0", 0)); s.send(bytes.fromhex(sys.argv[1]))';
  lab.inNs(ns, 'python3', '-c', py, Buffer.from(frame).toString('hex'));
}

test('6VPE: IPv6 CE to CE over [transport, VPN] labels on an IPv4 core, ND answered and learnt by the PEs, dual stack, two VPNs with the same IPv6 prefixes never leak', { skip }, async () => {
  const net = input();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const drivers: OvsDriver[] = [];
  try {
    for (const n of SPEC.nodes) {
      const driver = await new OvsDriver({ target: lab.target(n), portPrefix: n.portPrefix }).connect();
      drivers.push(driver);
      const agent = new Agent({ node: n.id, driver });
      const r = await agent.applySnapshot(states.get(n.id)!.state);
      assert.deepEqual([r.failures, agent.report().failures], [0, []], n.id);
    }

    // The CEs and PEs find each other by neighbour discovery first (a few hundred ms on a loaded machine).
    await waitUntil('red CE1 reaching red CE2 over IPv6', () => lab.ping('l3ov-61r', '2001:db8:2::2', 1), 15_000, 100);
    await waitUntil('blue CE1 reaching blue CE2', () => lab.ping('l3ov-61b', '2001:db8:2::2', 1), 15_000, 100);
    // red, dual stack: IPv6 to the remote CE's link address and to a prefix behind it, both ways ...
    assert.ok(lab.ping('l3ov-61r', '2001:db8:2::2'), 'red CE1 -> 2001:db8:2::2 (red CE2, connected)');
    assert.ok(lab.ping('l3ov-61r', '2001:db8:a2::1'), 'red CE1 -> 2001:db8:a2::1 (behind red CE2)');
    assert.ok(lab.ping('l3ov-62r', '2001:db8:a1::1'), 'red CE2 -> 2001:db8:a1::1 (behind red CE1)');
    // ... and IPv4 on the same attachments.
    assert.ok(lab.ping('l3ov-61r', '10.2.0.1'), 'red CE1 -> 10.2.0.1 over IPv4, same site');
    assert.ok(lab.ping('l3ov-62r', '192.168.1.2'), 'red CE2 -> 192.168.1.2 over IPv4, same site');
    // blue, per-CE labels, IPv6 only.
    assert.ok(lab.ping('l3ov-61b', '2001:db8:a2::2'), 'blue CE1 -> 2001:db8:a2::2 (behind blue CE2)');
    assert.ok(lab.ping('l3ov-62b', '2001:db8:1::2'), 'blue CE2 -> 2001:db8:1::2 (blue CE1, connected)');
    // Isolation: the other VPN's CE behind the same prefix is never reached.
    assert.equal(lab.ping('l3ov-61r', '2001:db8:a2::2'), false, 'red CE1 must not reach blue CE2');
    assert.equal(lab.ping('l3ov-61b', '2001:db8:a2::1'), false, 'blue CE1 must not reach red CE2');
    assert.equal(lab.ping('l3ov-61b', '10.2.0.2'), false, 'blue has no IPv4');

    // The CE forgets its gateway and solicits it again: the PE's Advertisement carries the port's MAC in
    // a Target Link-Layer Address option (an incomplete entry takes it from nowhere else), the Router and
    // Solicited flags (router, REACHABLE), hop limit 255 and a right checksum (Linux drops it otherwise).
    lab.inNs('l3ov-61r', 'ip', '-6', 'neigh', 'flush', 'dev', 'eth0');
    assert.ok(lab.ping('l3ov-61r', '2001:db8:a2::1', 1), 'red CE1 -> 2001:db8:a2::1 after a flush of its neighbours');
    const entry = gatewayEntry('l3ov-61r', '2001:db8:1::1');
    assert.match(entry, new RegExp(`^2001:db8:1::1 lladdr ${portMac('l3ov6b1', 'l3ov61red0')} router REACHABLE$`), `${entry} | ${lab.inNs('l3ov-61r', 'ip', 'neigh')} | ${lab.ovs.ofctl('show', 'l3ov6b1')} | ${lab.ovs.dumpFlows('l3ov6b1', 'table=0').join('\n')}`);

    // RFC 4861 §7.1.1: a solicitation with a hop limit other than 255 is not answered (nor learnt from).
    const answered = () => {
      const flows = lab.ovs.ofctl('dump-flows', 'l3ov6b1', 'table=0,icmp6,in_port=2,icmp_type=135').split('\n');
      const responder = flows.filter((f) => f.includes('priority=110') && f.includes('nd_target=2001:db8:1::1'));
      assert.equal(responder.length, 1, flows.join('\n'));
      return Number(/n_packets=(\d+)/.exec(responder[0]!)![1]);
    };
    const ceMac = lab.inNs('l3ov-61r', 'cat', '/sys/class/net/eth0/address').trim();
    const before = answered();
    sendFrame('l3ov-61r', solicitation(ceMac, 254));
    sendFrame('l3ov-61r', solicitation(ceMac, 255));
    await waitUntil('the hop limit 255 solicitation answered', () => answered() > before, 5000, 50);
    assert.equal(answered(), before + 1, 'only the hop limit 255 solicitation');

    // Label operations: P popped the transport labels (PHP) of IPv6 packets as of IPv4 ones ...
    assert.ok(lab.packets('l3ov6bp', 'table=1,mpls,mpls_label=16002,mpls_bos=0') >= 6, 'P popped the transport label of PE2');
    assert.ok(lab.packets('l3ov6bp', 'table=1,mpls,mpls_label=16001,mpls_bos=0') >= 6, 'P popped the transport label of PE1');
    // ... and PE2 popped red's IPv6 label to IPv6 (its VRF label to IPv4) and looked the packets up in red, and the per-CE labels to the CEs.
    const popped = (label: number) => lab.ovs.dumpFlows('l3ov6b2', `table=1,mpls,mpls_label=${label},mpls_bos=1`).join('\n');
    assert.match(popped(202), /actions=pop_mpls:0x86dd,write_metadata:0x3e9,goto_table:2/);
    assert.match(popped(200), /actions=pop_mpls:0x0800,write_metadata:0x3e9,goto_table:2/);
    assert.ok(lab.packets('l3ov6b2', 'table=1,mpls,mpls_label=202,mpls_bos=1') >= 6, 'PE2 popped red IPv6 per-VRF label 202');
    assert.ok(lab.packets('l3ov6b2', 'table=1,mpls,mpls_label=200,mpls_bos=1') >= 2, 'PE2 popped red IPv4 per-VRF label 200');
    assert.ok(lab.packets('l3ov6b2', 'table=1,mpls,mpls_label=210,mpls_bos=1') >= 3, 'PE2 popped blue per-CE label 210');
    assert.ok(lab.packets('l3ov6b1', 'table=2,ipv6,metadata=0x3e9,ipv6_dst=2001:db8:a2::/48') >= 3, 'PE1 pushed red labels onto IPv6');

    // A restarted agent finds every flow as it installs it: nothing to repair.
    const again = await new OvsDriver({ target: lab.target(SPEC.nodes[0]!), portPrefix: 'l3ov61' }).connect();
    drivers.push(again);
    const r = await new Agent({ node: 'PE1', driver: again }).applySnapshot(states.get('PE1')!.state);
    assert.deepEqual([r.failures, again.flowModsSent], [0, 0], 'resync of an IPv6 pipeline');
  } finally {
    for (const d of drivers) await d.close();
  }
});

test('6VPE: red without an IPv6 label (its VRF label pops to IPv4 on OVS): each PE refuses red\u2019s IPv6 routes with the reason, never silently; IPv4 and blue\u2019s per-CE IPv6 still flow', { skip }, async () => {
  const net = input({ redIpv6Label: false });
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const drivers: OvsDriver[] = [];
  try {
    for (const [i, n] of SPEC.nodes.entries()) {
      const driver = await new OvsDriver({ target: lab.target(n), portPrefix: n.portPrefix }).connect();
      drivers.push(driver);
      const agent = new Agent({ node: n.id, driver });
      await agent.applySnapshot(states.get(n.id)!.state);
      const refused = agent.report().failures.map((f) => [f.key?.key?.$case === 'vrfRoute' ? `${f.key.key.value.vrf} ${f.key.key.value.prefix}` : '', f.reason] as const);
      if (n.id === 'P') {
        assert.deepEqual(refused, []);
        continue;
      }
      // PE1 (i 0) refuses 2001:db8:1::/64 and 2001:db8:a1::/48 under label 100; PE2 those of site 2 under 200.
      const k = i === 0 ? 1 : 2;
      assert.deepEqual(refused.map(([key]) => key).sort(), [`red 2001:db8:${k}::/64`, `red 2001:db8:a${k}::/48`], n.id);
      for (const [, reason] of refused) assert.match(reason, new RegExp(`under label ${k}00, popped to a lookup .*pops to IPv4 on OVS.*needs an IPv6 label`));
      assert.equal(lab.ovs.dumpFlows(n.bridge, `table=2,ipv6,metadata=0x3e9,ipv6_dst=2001:db8:a${k}::/48`).length, 0, 'a refused route has no flow');
    }
    await waitUntil('red CE1 reaching red CE2 over IPv4', () => lab.ping('l3ov-61r', '10.2.0.1', 1), 15_000, 100);
    await waitUntil('blue CE1 reaching blue CE2', () => lab.ping('l3ov-61b', '2001:db8:a2::2', 1), 15_000, 100);
    assert.equal(lab.ping('l3ov-61r', '2001:db8:a2::1'), false, 'red IPv6 under the VRF label does not flow: hence the refusal');
  } finally {
    for (const d of drivers) await d.close();
  }
});
