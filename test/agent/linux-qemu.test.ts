// The linux driver against a real kernel with VRF and MPLS routing: Debian's
// kernel in a QEMU VM (software emulation) booted from an initramfs the test
// builds (test/support/qemu-vm.ts). One VM serves both parts:
//   - driver tests in a network namespace of the VM (l3lx-drv): what is
//     applied reads back exactly, drift is repaired, foreign objects are left
//     alone, a refused entry carries the kernel's reason;
//   - real packets: PE1 in the VM's root namespace, P and PE2 in namespaces,
//     CEs in namespaces, each node programmed by its own agent + linux
//     driver; PE1's core link is a virtio NIC through the host (UDP) that
//     QEMU records to a pcap, which tshark reads to check the label stacks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DriftKind, type NodeDesiredState, type RemotePeNextHop, type VrfRoute } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates, diffDesiredState } from '../../services/common/desired-state/index.js';
import { fixtureInput } from '../../services/common/desired-state/fixture.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import { Agent } from '../../services/agent/agent.js';
import { LinuxDriver } from '../../services/agent/drivers/linux/driver.js';
import { NetnsRunner } from '../../services/agent/drivers/linux/runner.js';
import { QemuVm, vmMissing } from '../support/qemu-vm.js';
import { oneRouteDelta } from '../../services/agent/synthetic-state.js';
import { twoVpnNetwork } from './two-vpn-network.js';
import { requireTool, skipOrFail } from '../support/tools.js';
import { waitUntil } from '../../services/lab/processes.js';

const skip = skipOrFail(vmMissing());
const work = mkdtempSync(join(tmpdir(), 'l3lx-'));
const pcap = join(work, 'pe1-core0.pcap');
// Two virtio NICs joined through the host by UDP on 127.0.26.1 (PE1 core0 <-> P core0).
const port = 26_000 + (process.pid % 1000) * 2;
let vm: QemuVm | undefined;

before(async () => {
  if (skip) return;
  vm = await QemuVm.boot({
    memoryMiB: 512,
    nics: [
      { netdev: `socket,udp=127.0.26.1:${port + 1},localaddr=127.0.26.1:${port}`, mac: '02:00:00:26:00:01', pcap },
      { netdev: `socket,udp=127.0.26.1:${port},localaddr=127.0.26.1:${port + 1}`, mac: '02:00:00:26:00:02' },
    ],
  });
});

after(async () => {
  await vm?.stop();
  rmSync(work, { recursive: true, force: true });
});

// ---- driver tests (fixture PE1 in namespace l3lx-drv) ----

function pe1(): NodeDesiredState {
  const input = fixtureInput();
  return computeDesiredStates(input, simulateSelectedRoutes(input), { generation: 1 }).get('PE1')!.state;
}

/** A fresh namespace holding PE1's interfaces: cust0 (VLANs 100, 200 get made by the driver) and core0 towards 10.0.0.1. */
async function driverNode(ns: string): Promise<{ runner: NetnsRunner; driver: LinuxDriver }> {
  await vm!.sh(`ip netns add ${ns}
    ip -n ${ns} link set lo up
    ip -n ${ns} link add cust0 type veth peer name cust0-ce
    ip -n ${ns} link add core0 type veth peer name core0-p
    for d in cust0 cust0-ce core0 core0-p; do ip -n ${ns} link set $d up; done
    ip -n ${ns} addr add 10.0.0.0/31 dev core0
    ip -n ${ns} addr add 10.0.0.1/31 dev core0-p`);
  const runner = new NetnsRunner(vm!, ns);
  return { runner, driver: await new LinuxDriver({ runner }).prepare() };
}

const inNs = (ns: string, script: string) => vm!.sh(script, ns);

test('linux: the agent installs PE1 as VRF devices, VRF routes with MPLS encap and MPLS routes; it reads back as applied', { skip }, async () => {
  const { driver } = await driverNode('l3lx-drv1');
  const agent = new Agent({ node: 'PE1', driver });
  const state = pe1();
  const r = await agent.applySnapshot(state);
  assert.deepEqual([r.failures, agent.report().failures], [0, []]);

  const links = await inNs('l3lx-drv1', 'ip -d link show');
  assert.match(links, /l3v-red: <NOARP,MASTER,UP,LOWER_UP>[^\n]*\n[^\n]*\n\s+vrf table 1001 /);
  assert.match(links, /cust0\.100@cust0: [^\n]*master l3v-red/);
  assert.match(links, /cust0\.200@cust0: [^\n]*master l3v-blue/);
  const red = await inNs('l3lx-drv1', 'ip route show table 1001 proto 76');
  assert.match(red, /^10\.2\.0\.0\/16 {2}encap mpls {2}16002\/200 via 10\.0\.0\.1 dev core0 $/m);
  assert.match(red, /^10\.1\.0\.0\/16 via 192\.168\.1\.2 dev cust0\.100 $/m);
  const addrs = await inNs('l3lx-drv1', 'ip -br addr show dev cust0.200');
  assert.match(addrs, /192\.168\.1\.1\/30 2001:db8:1::1\/64/);
  const lfib = await inNs('l3lx-drv1', 'ip -f mpls route show proto 76');
  assert.match(lfib, /^100 dev l3v-red $/m);
  assert.match(lfib, /^111 via inet6 2001:db8:1::2 dev cust0\.200 $/m);
  assert.match(lfib, /^16011 via inet 10\.0\.0\.1 dev core0 $/m);
  assert.equal((await inNs('l3lx-drv1', 'sysctl -n net.mpls.conf.core0.input')).trim(), '1');
  // Installed routes and labels: one per entry, nothing else.
  const count = async (cmd: string) => (await inNs('l3lx-drv1', cmd)).split('\n').filter(Boolean).length;
  assert.equal((await count('ip -4 route show table all proto 76')) + (await count('ip -6 route show table all proto 76')), state.vrfRoutes.length);
  assert.equal(await count('ip -f mpls route show proto 76'), state.lfibEntries.length);
  // Reading back gives exactly the desired state: nothing to do.
  assert.equal((await agent.reconcile()).changes, 0);
});

test('linux: routes deleted, changed or added by hand are repaired; routes, labels and devices of others are left alone', { skip }, async () => {
  const ns = 'l3lx-drv2';
  const { driver } = await driverNode(ns);
  const agent = new Agent({ node: 'PE1', driver });
  await agent.applySnapshot(pe1());
  const before = await inNs(ns, 'ip route show table 1001 proto 76; ip -f mpls route show proto 76');
  await inNs(
    ns,
    [
      'ip route del 10.2.0.0/16 table 1001',
      'ip -f mpls route replace 100 dev l3v-blue proto 76',
      'ip route add 172.16.5.0/24 via 192.168.1.2 dev cust0.100 table 1001 proto 76',
      // someone else's: another protocol in the VRF's table, another label, a VRF device not named l3v-
      'ip route add 172.16.9.0/24 via 192.168.1.2 dev cust0.100 table 1001 proto static',
      'ip -f mpls route add 900 dev lo proto static',
      'ip link add other type vrf table 3000',
    ].join('; '),
  );
  const r = await agent.reconcile('periodic');
  const drift = r.drift.map((d) => [d.key?.key?.$case, d.kind, d.repaired]).sort();
  assert.deepEqual(
    drift,
    [
      ['inLabel', DriftKind.DRIFT_KIND_MODIFIED, true],
      ['vrfRoute', DriftKind.DRIFT_KIND_MISSING, true],
      ['vrfRoute', DriftKind.DRIFT_KIND_UNEXPECTED, true],
    ].sort(),
  );
  assert.equal(await inNs(ns, 'ip route show table 1001 proto 76; ip -f mpls route show proto 76'), before);
  assert.match(await inNs(ns, 'ip route show table 1001 proto static'), /172\.16\.9\.0\/24/);
  assert.match(await inNs(ns, 'ip -f mpls route show'), /^900 dev lo proto static/m);
  assert.match(await inNs(ns, 'ip link show other'), /other:/);
  assert.equal((await agent.reconcile()).changes, 0);

  // A VRF device deleted by hand comes back with its interfaces and routes.
  await inNs(ns, 'ip link del l3v-red');
  const again = await agent.reconcile('periodic');
  assert.ok(again.drift.some((d) => d.key?.key?.$case === 'vrf' && d.kind === DriftKind.DRIFT_KIND_MISSING));
  assert.equal(await inNs(ns, 'ip route show table 1001 proto 76; ip -f mpls route show proto 76'), before);
  assert.equal((await agent.reconcile()).changes, 0);
});

test('linux ECMP: a route with ECMP members is one kernel multipath route, a label stack per remote PE; it reads back as applied; one path put in by hand is drift, repaired', { skip }, async () => {
  const ns = 'l3lx-drv5';
  const { driver } = await driverNode(ns);
  const agent = new Agent({ node: 'PE1', driver });
  const input = fixtureInput();
  const routes = simulateSelectedRoutes(input);
  routes.set('PE1', [
    ...(routes.get('PE1') ?? []),
    { vrf: 'red', prefix: '10.9.0.0/16', nextHop: '10.255.0.2', label: 200, rd: '65000:2' },
    { vrf: 'red', prefix: '10.9.0.0/16', nextHop: '10.255.0.3', label: 300, rd: '65000:3', multipath: true },
  ]);
  const state = computeDesiredStates(input, routes, { generation: 1 }).get('PE1')!.state;
  assert.equal(state.vrfRoutes.find((r) => r.prefix === '10.9.0.0/16')?.multipath.length, 1);
  const r = await agent.applySnapshot(state);
  assert.deepEqual([r.failures, agent.report().failures], [0, []]);
  // PE2 and PE3 both behind P1 (core0): two next hops that differ by their label stacks.
  const shown = await inNs(ns, 'ip route show table 1001 proto 76 10.9.0.0/16');
  assert.match(shown, /nexthop\s+encap mpls\s+16002\/200\s+via 10\.0\.0\.1 dev core0 weight 1/);
  assert.match(shown, /nexthop\s+encap mpls\s+16003\/300\s+via 10\.0\.0\.1 dev core0 weight 1/);
  assert.equal((await inNs(ns, 'sysctl -n net.ipv4.fib_multipath_hash_policy')).trim(), '1');
  assert.equal((await agent.reconcile()).changes, 0, 'the multipath route reads back as applied');
  await inNs(ns, 'ip route replace 10.9.0.0/16 encap mpls 16002/200 via 10.0.0.1 dev core0 table 1001 proto 76');
  const fixed = await agent.reconcile('periodic');
  assert.deepEqual(fixed.drift.map((d) => [d.key?.key?.$case, d.kind, d.repaired]), [['vrfRoute', DriftKind.DRIFT_KIND_MODIFIED, true]]);
  assert.equal(await inNs(ns, 'ip route show table 1001 proto 76 10.9.0.0/16'), shown);
  assert.equal((await agent.reconcile()).changes, 0);
});

test('linux: an entry the kernel refuses fails with the kernel’s reason; the rest of the batch is installed', { skip }, async () => {
  const ns = 'l3lx-drv3';
  const { driver } = await driverNode(ns);
  const agent = new Agent({ node: 'PE1', driver });
  const state = pe1();
  const broken = state.vrfRoutes.map((r) =>
    r.vrf === 'red' && r.prefix === '10.3.0.0/16' ? { ...r, nextHop: { $case: 'remote' as const, value: { ...(r.nextHop!.value as RemotePeNextHop), outInterface: 'core9' } } } : r,
  );
  await agent.applySnapshot({ ...state, vrfRoutes: broken });
  const failures = agent.report().failures;
  assert.equal(failures.length, 1, JSON.stringify(failures));
  assert.equal(failures[0]!.key?.key?.$case, 'vrfRoute');
  assert.match(failures[0]!.reason, /Cannot find device "core9"/);
  assert.match(failures[0]!.reason, /route replace 10\.3\.0\.0\/16 encap mpls/);
  const installed = (await inNs(ns, 'ip -4 route show table all proto 76; ip -6 route show table all proto 76')).split('\n').filter(Boolean);
  assert.equal(installed.length, state.vrfRoutes.length - 1);
});

test('linux: a one-route delta writes one kernel route; a renumbered VRF moves its routes and label to the new table', { skip }, async () => {
  const ns = 'l3lx-drv4';
  const { driver } = await driverNode(ns);
  const agent = new Agent({ node: 'PE1', driver });
  const s1 = pe1();
  await agent.applySnapshot(s1);
  const old = s1.vrfRoutes.find((r) => r.vrf === 'red' && r.prefix === '10.3.0.0/16')!;
  const moved: VrfRoute = { ...old, nextHop: { $case: 'remote', value: { ...(old.nextHop!.value as RemotePeNextHop), labels: [16003, 333] } } };
  const sent = driver.linesSent;
  const outcome = await agent.applyDelta(oneRouteDelta('PE1', 1, old, moved));
  assert.equal(outcome, 'applied');
  assert.equal(driver.linesSent - sent, 1);
  assert.match(await inNs(ns, 'ip route show table 1001 10.3.0.0/16'), /encap mpls {2}16003\/333 via 10\.0\.0\.1 dev core0/);

  const s2 = agent.desiredState()!;
  const s3: NodeDesiredState = { ...s2, generation: 3, vrfs: s2.vrfs.map((v) => (v.name === 'red' ? { ...v, tableId: 2001 } : v)) };
  assert.equal(await agent.applyDelta(diffDesiredState(s2, s3)), 'applied');
  assert.equal((await inNs(ns, 'ip route show table 1001 proto 76')).trim(), '');
  assert.match(await inNs(ns, 'ip route show table 2001 proto 76'), /10\.2\.0\.0\/16 {2}encap mpls {2}16002\/200/);
  assert.match(await inNs(ns, 'ip -d link show l3v-red'), /vrf table 2001/);
  assert.match(await inNs(ns, 'ip -d link show cust0.100'), /master l3v-red/);
  assert.equal((await agent.reconcile()).changes, 0);
});

// ---- real packets: CE -> PE1 (VM root ns) -> P -> PE2 -> CE ----


/**
 * Blue's PE1 site is on VLAN 100: the driver makes the 802.1Q subinterface.
 * Every site is dual stack (6VPE, RFC 4659: the IPv6 routes ride the IPv4
 * core): red with per-VRF labels, one per address family (its IPv6 label
 * is 2 above its VRF label: the kernel pops either family into the VRF
 * device), blue with per-CE labels, the same IPv6 prefixes in both VPNs.
 */
function network(): DesiredStateInput {
  const net = twoVpnNetwork({ bluePe1Vlan: 100 });
  const v6 = (site: DesiredStateInput['vpns'][number]['sites'][number], n: number, ceLabel?: number) => ({
    ...site,
    id: `${site.id}:v6`,
    peAddress: `2001:db8:${n}::1/64`,
    ceAddress: `2001:db8:${n}::2`,
    staticPrefixes: [`2001:db8:a${n}::/48`],
    ...(ceLabel === undefined ? {} : { ceLabel }),
  });
  const [red, blue] = net.vpns as [DesiredStateInput['vpns'][number], DesiredStateInput['vpns'][number]];
  return {
    ...net,
    vpns: [
      { ...red, vrfs: red.vrfs.map((v) => ({ ...v, vrfLabelIpv6: v.vrfLabel! + 2 })), sites: [...red.sites, v6(red.sites[0]!, 1), v6(red.sites[1]!, 2)] },
      { ...blue, sites: [...blue.sites, v6(blue.sites[0]!, 1, 112), v6(blue.sites[1]!, 2, 212)] },
    ],
  };
}

const CES = [
  { ns: 'l3lx-ce1r', pe: '', port: 'red0', n: 1, loopback: '10.1.0.1', loopback6: '2001:db8:a1::1', vlan: 0 },
  { ns: 'l3lx-ce1b', pe: '', port: 'blu0', n: 1, loopback: '10.1.0.2', loopback6: '2001:db8:a1::2', vlan: 100 },
  { ns: 'l3lx-ce2r', pe: 'l3lx-pe2', port: 'red0', n: 2, loopback: '10.2.0.1', loopback6: '2001:db8:a2::1', vlan: 0 },
  { ns: 'l3lx-ce2b', pe: 'l3lx-pe2', port: 'blu0', n: 2, loopback: '10.2.0.2', loopback6: '2001:db8:a2::2', vlan: 0 },
];

async function buildTopology(): Promise<void> {
  const lines = [
    'ip link set eth0 name core0',
    'ip link set core0 up',
    'ip addr add 10.0.0.0/31 dev core0',
    'ip netns add l3lx-p',
    'ip netns add l3lx-pe2',
    'ip link set eth1 netns l3lx-p',
    'ip -n l3lx-p link set eth1 name core0',
    'ip -n l3lx-p addr add 10.0.0.1/31 dev core0',
    'ip -n l3lx-p link add core1 type veth peer name core0 netns l3lx-pe2',
    'ip -n l3lx-p addr add 10.0.1.0/31 dev core1',
    'ip -n l3lx-pe2 addr add 10.0.1.1/31 dev core0',
    'for d in lo core0 core1; do ip -n l3lx-p link set $d up; done',
    'for d in lo core0; do ip -n l3lx-pe2 link set $d up; done',
  ];
  for (const c of CES) {
    const pe = c.pe ? `-n ${c.pe} ` : '';
    const dev = c.vlan ? `eth0.${c.vlan}` : 'eth0';
    lines.push(
      `ip netns add ${c.ns}`,
      `ip ${pe}link add ${c.port} type veth peer name eth0 netns ${c.ns}`,
      `ip ${pe}link set ${c.port} up`,
      `ip -n ${c.ns} link set lo up`,
      `ip -n ${c.ns} link set eth0 up`,
      ...(c.vlan ? [`ip -n ${c.ns} link add link eth0 name ${dev} type vlan id ${c.vlan}`, `ip -n ${c.ns} link set ${dev} up`] : []),
      `ip -n ${c.ns} addr add 192.168.${c.n}.2/30 dev ${dev}`,
      `ip -n ${c.ns} addr add ${c.loopback}/32 dev lo`,
      `ip -n ${c.ns} route add default via 192.168.${c.n}.1 src 192.168.${c.n}.2`,
      `ip -n ${c.ns} -6 addr add 2001:db8:${c.n}::2/64 dev ${dev} nodad`,
      `ip -n ${c.ns} -6 addr add ${c.loopback6}/128 dev lo nodad`,
      `ip -n ${c.ns} -6 route add default via 2001:db8:${c.n}::1`,
    );
  }
  await vm!.sh(lines.join('\n'));
}

const ping = async (ns: string, to: string, from?: string): Promise<boolean> =>
  (await vm!.run(['ip', 'netns', 'exec', ns, 'ping', '-c', '2', '-W', '2', ...(from ? ['-I', from] : []), to])).code === 0;

/** The label stacks and IPv6 destinations of the IPv6 packets over MPLS on PE1's core link. */
function labelStacks6(): string[] {
  const out = execFileSync('tshark', ['-n', '-r', pcap, '-Y', 'mpls && ipv6', '-T', 'fields', '-e', 'mpls.label', '-e', 'ipv6.dst'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

function labelStacks(): string[] {
  const out = execFileSync('tshark', ['-n', '-r', pcap, '-Y', 'mpls', '-T', 'fields', '-e', 'mpls.label', '-e', 'ip.dst'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

const tsharkMissing = requireTool('tshark', 'tshark');

test('linux packets: CE to CE through kernel VRFs and MPLS, PE1 -> P -> PE2, [transport, VPN] labels on the wire, IPv4 and IPv6 (6VPE); VPNs with the same addresses stay apart', { skip: skip || tsharkMissing }, async () => {
  await buildTopology();
  const net = network();
  const states = computeDesiredStates(net, simulateSelectedRoutes(net), { generation: 1 });
  const nodes = [
    { id: 'PE1', runner: vm! as QemuVm | NetnsRunner },
    { id: 'P', runner: new NetnsRunner(vm!, 'l3lx-p') },
    { id: 'PE2', runner: new NetnsRunner(vm!, 'l3lx-pe2') },
  ];
  for (const n of nodes) {
    const driver = await new LinuxDriver({ runner: n.runner }).prepare();
    const agent = new Agent({ node: n.id, driver });
    const r = await agent.applySnapshot(states.get(n.id)!.state);
    assert.deepEqual([r.failures, agent.report().failures], [0, []], n.id);
  }
  assert.ok(await ping('l3lx-ce1r', '192.168.2.2'), 'red CE1 -> red CE2 (connected subnet)');
  assert.ok(await ping('l3lx-ce1r', '10.2.0.1', '10.1.0.1'), 'red CE1 -> 10.2.0.1 (red CE2 loopback)');
  assert.equal(await ping('l3lx-ce1r', '10.2.0.2', '10.1.0.1'), false, 'red CE1 must not reach blue CE2');
  assert.ok(await ping('l3lx-ce1b', '10.2.0.2', '10.1.0.2'), 'blue CE1 (VLAN 100) -> blue CE2');
  assert.equal(await ping('l3lx-ce1b', '10.2.0.1', '10.1.0.2'), false, 'blue CE1 must not reach red CE2');

  // On PE1's core link: PE1 pushes [P's SID for PE2, PE2's VPN label]; what comes back carries PE1's VPN label
  // alone, as P popped the transport label by PHP. PE2 has no entry for its own SID, so the pings prove P's PHP
  // towards PE2 as well.
  const stacks = labelStacks();
  const seen = (labels: string, dst: string) => stacks.some((l) => l === `${labels}\t${dst}`);
  const all = stacks.join('\n');
  assert.ok(seen('16002,200', '10.2.0.1'), `red: [16002, 200] towards PE2\n${all}`);
  assert.ok(seen('16002,210', '10.2.0.2'), `blue: [16002, per-CE 210] towards PE2\n${all}`);
  assert.ok(seen('100', '10.1.0.1'), `red replies: [100] (per-VRF label of PE1)\n${all}`);
  assert.ok(seen('110', '10.1.0.2'), `blue replies: [110] (per-CE label of PE1)\n${all}`);
  assert.ok(!stacks.some((l) => l.startsWith('16001')), `P pops PE1's SID before PE1\n${all}`);

  // 6VPE: IPv6 between the CEs over the same IPv4 core. The PEs' IPv6 addresses come up after duplicate address
  // detection (a second or more on an emulated CPU), so the first exchange is waited for.
  await waitUntil('red CE1 reaching red CE2 over IPv6', () => ping('l3lx-ce1r', '2001:db8:2::2'), 60_000, 500);
  assert.ok(await ping('l3lx-ce1r', '2001:db8:a2::1', '2001:db8:a1::1'), 'red CE1 -> 2001:db8:a2::1 (behind red CE2) over IPv6');
  await waitUntil('blue CE1 reaching blue CE2 over IPv6', () => ping('l3lx-ce1b', '2001:db8:a2::2', '2001:db8:a1::2'), 60_000, 500);
  assert.equal(await ping('l3lx-ce1r', '2001:db8:a2::2', '2001:db8:a1::1'), false, 'red CE1 must not reach blue CE2 over IPv6');
  assert.equal(await ping('l3lx-ce1b', '2001:db8:a2::1', '2001:db8:a1::2'), false, 'blue CE1 must not reach red CE2 over IPv6');
  const stacks6 = labelStacks6();
  const all6 = stacks6.join('\n');
  const seen6 = (labels: string, dst: string) => stacks6.some((l) => l === `${labels}\t${dst}`);
  assert.ok(seen6('16002,202', '2001:db8:a2::1'), `red IPv6: [16002, 202 (PE2's IPv6 label of red)] towards PE2 on the IPv4 core\n${all6}`);
  assert.ok(seen6('16002,212', '2001:db8:a2::2'), `blue IPv6: [16002, per-CE 212] towards PE2\n${all6}`);
  assert.ok(seen6('102', '2001:db8:a1::1'), `red IPv6 replies: [102], PE1's IPv6 label of red\n${all6}`);
});
