// The ovs driver against a real, private Open vSwitch (userspace datapath):
// flows installed through the agent and read back with ovs-ofctl; flows
// deleted, changed or added by hand are repaired; flows of others are left
// alone; a one-route delta touches one flow; a restarted agent resyncs
// without changing anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DriftKind, type NodeDesiredState, type RemotePeNextHop, type VrfRoute } from '../../services/common/gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates, diffDesiredState } from '../../services/common/desired-state/index.js';
import { fixtureInput } from '../../services/common/desired-state/fixture.js';
import type { DesiredStateInput } from '../../services/common/desired-state/types.js';
import { simulateSelectedRoutes } from '../support/simulated-routes.js';
import { Agent } from '../../services/agent/agent.js';
import { oneRouteDelta } from '../../services/agent/synthetic-state.js';
import { OvsDriver } from '../../services/agent/drivers/ovs/driver.js';
import { baseFlows, DEFAULT_TABLES } from '../../services/agent/drivers/ovs/pipeline.js';
import { ovsMissing, PrivateOvs } from './ovs-harness.js';
import { skipOrFail } from '../support/tools.js';

const skip = skipOrFail(ovsMissing());
let ovs: PrivateOvs | undefined;

before(async () => {
  if (!skip) ovs = await PrivateOvs.start();
});
after(async () => {
  await ovs?.stop();
});

/** The input without blue's (per-CE) per-VRF label on PE1, so all of PE1 can be installed on OVS (blue's connected IPv6 subnet would need an IPv6 label). */
function withoutBlueVrfLabel(fixture: DesiredStateInput): DesiredStateInput {
  return { ...fixture, vpns: fixture.vpns.map((v) => (v.id !== 'blue' ? v : { ...v, vrfs: v.vrfs.map((x) => (x.pe === 'PE1' ? { ...x, vrfLabel: undefined } : x)) })) };
}

/** The fixture's PE1; `blueVrfLabel: false` leaves blue without its per-VRF label (withoutBlueVrfLabel). */
function pe1({ blueVrfLabel = false } = {}): NodeDesiredState {
  const fixture = fixtureInput();
  const input = blueVrfLabel ? fixture : withoutBlueVrfLabel(fixture);
  return computeDesiredStates(input, simulateSelectedRoutes(input), { generation: 1 }).get('PE1')!.state;
}

/** blue's connected IPv6 subnet on PE1: with blue's per-VRF label it is reached from the core under that label only. */
const BLUE_V6_CONNECTED = { vrf: 'blue', prefix: '2001:db8:1::/64' };

const ipv4Addresses = (s: NodeDesiredState) => s.vrfs.flatMap((v) => v.interfaces.flatMap((i) => i.addresses)).filter((a) => a.includes('.')).length;
const ipv6Addresses = (s: NodeDesiredState) => s.vrfs.flatMap((v) => v.interfaces.flatMap((i) => i.addresses)).filter((a) => a.includes(':')).length;
/** Flows of the CE attachments' addresses: two per IPv4 address (ARP), four per IPv6 address (ND: DAD drop, NS answered in two tables, NA learnt). */
const addressFlows = (s: NodeDesiredState) => 2 * ipv4Addresses(s) + 4 * ipv6Addresses(s);
const BASE_FLOWS = baseFlows(DEFAULT_TABLES).length;

test('ovs: the agent installs PE1 as flows: classifier per CE VLAN, [transport, VPN] pushes, PHP pop on bos=0, per-VRF pop and lookup', { skip }, async () => {
  const target = await ovs!.addBridge('pe1a', ['pe1a-cust0', 'pe1a-core0']);
  const driver = await new OvsDriver({ target, portPrefix: 'pe1a-' }).connect();
  try {
    const agent = new Agent({ node: 'PE1', driver });
    const state = pe1();
    const r = await agent.applySnapshot(state);
    assert.deepEqual([r.failures, agent.report().failures], [0, []]);
    const flows = ovs!.dumpFlows('pe1a');
    // One flow per route, per label, per CE attachment, those of the attachments' addresses, the driver's own (MPLS dispatch, link-scope IPv6 guards).
    assert.equal(flows.length, state.vrfRoutes.length + state.lfibEntries.length + 2 + addressFlows(state) + BASE_FLOWS);
    const has = (re: RegExp) => assert.ok(flows.some((f) => re.test(f)), `no flow like ${re}\n${flows.join('\n')}`);
    has(/priority=100,in_port=1,dl_vlan=100 actions=pop_vlan,write_metadata:0x3e9,goto_table:2/);
    // A remote route pushes [PE1's label of PE2, VPN label] and goes through that SID's fast-failover group.
    has(/table=2, priority=1016,ip,metadata=0x3e9,nw_dst=10\.2\.0\.0\/16 actions=push_mpls:0x8847,set_field:200->mpls_label,push_mpls:0x8847,set_field:16002->mpls_label,group:16002/);
    has(/table=2, priority=1016,ip,metadata=0x3ea,nw_dst=10\.2\.0\.0\/16 actions=push_mpls:0x8847,set_field:210->mpls_label/);
    has(/table=1, priority=100,mpls,mpls_label=16011,mpls_bos=0 actions=group:16011/);
    // One group per node SID, id = PE1's label of it: swap to P1's label (or PHP pop for P1 itself) and out of core0; the fixture's tree has no backups.
    const groups = ovs!.ofctl('dump-groups', 'pe1a');
    assert.match(groups, /group_id=16002,type=ff,bucket=watch_port:2,actions=set_field:16002->mpls_label,output:2\n/);
    assert.match(groups, /group_id=16011,type=ff,bucket=watch_port:2,actions=pop_mpls:0x8847,output:2\n/);
    assert.equal(groups.match(/group_id=/g)?.length, state.lfibEntries.filter((e) => e.owner.startsWith('sid:')).length);
    has(/table=1, priority=100,mpls,mpls_label=100,mpls_bos=1 actions=pop_mpls:0x0800,write_metadata:0x3e9,goto_table:2/);
    // An IPv6 per-CE label: popped to IPv6, the PE port's MAC, the tag, the CE's IPv6 address in xxreg0, then the neighbour table.
    has(/table=1, priority=100,mpls,mpls_label=111,mpls_bos=1 actions=pop_mpls:0x86dd,set_field:[0-9a-f:]{17}->eth_src,push_vlan:0x8100,set_field:4296->vlan_vid,set_field:0x20010db8000100000000000000000002->xxreg0,write_metadata:0x3ea,goto_table:3/);
    // A solicitation for the PE's IPv6 address (hop limit 255) becomes the advertisement; the nd table adds the target's MAC.
    has(/priority=110,icmp6,in_port=1,dl_vlan=200,nw_ttl=255,icmp_type=135,icmp_code=0,nd_target=2001:db8:1::1 actions=learn\(.*NXM_NX_XXREG0\[\]=NXM_NX_IPV6_SRC\[\].*set_field:136->icmpv6_type,set_field:3758096384->nd_reserved,set_field:2->nd_options_type,.*goto_table:4/);
    has(/table=4, priority=110,icmp6,in_port=1,dl_vlan=200,ipv6_src=2001:db8:1::1,nw_ttl=255,icmp_type=136,icmp_code=0 actions=set_field:[0-9a-f:]{17}->nd_tll,IN_PORT,write_metadata:0x3ea/);
    // ARP for the PE's address on red's attachment is answered in place, and teaches the neighbour table the CE's MAC.
    has(/priority=110,arp,in_port=1,dl_vlan=100,arp_tpa=192\.168\.1\.1,arp_op=1 actions=learn\(table=3,.*metadata=0x3e9,NXM_NX_REG0\[\]=NXM_OF_ARP_SPA\[\],load:NXM_OF_ETH_SRC\[\]->NXM_OF_ETH_DST\[\],output:NXM_OF_IN_PORT\[\]\),move:NXM_OF_ETH_SRC\[\]->NXM_OF_ETH_DST\[\],.*set_field:2->arp_op,.*IN_PORT/);
    // Towards a CE: the PE port's MAC, the tag, the next hop in reg0, then the neighbour table.
    has(/table=2, priority=1016,ip,metadata=0x3e9,nw_dst=10\.1\.0\.0\/16 actions=set_field:[0-9a-f:]{17}->eth_src,push_vlan:0x8100,set_field:4196->vlan_vid,set_field:0x\w+->reg0,goto_table:3/);
    // Reading back gives exactly the desired state: nothing to do.
    assert.equal((await agent.reconcile()).changes, 0);
  } finally {
    await driver.close();
    ovs!.deleteBridge('pe1a');
  }
});

test('ovs: a backup next hop is the second bucket of its SID\'s fast-failover group; a new primary modifies the group in place; groups of no entry go', { skip }, async () => {
  // PE1 - PE3 direct (metric 5): the old path over P1 becomes PE1's loop-free alternate towards PE3.
  const input = withoutBlueVrfLabel(fixtureInput());
  const direct = { ...input, inventory: { ...input.inventory, links: [...input.inventory.links, { a: { node: 'PE1', interface: 'core9', address: '10.0.9.0/31' }, b: { node: 'PE3', interface: 'core9', address: '10.0.9.1/31' }, metric: 5 }] } };
  const state = computeDesiredStates(direct, simulateSelectedRoutes(direct), { generation: 1 }).get('PE1')!.state;
  const target = await ovs!.addBridge('pe1g', ['pe1g-cust0', 'pe1g-core0', 'pe1g-core9']);
  const driver = await new OvsDriver({ target, portPrefix: 'pe1g-' }).connect();
  try {
    const agent = new Agent({ node: 'PE1', driver });
    assert.deepEqual((await agent.applySnapshot(state)).failures, 0);
    const group = () => ovs!.ofctl('dump-groups', 'pe1g').split('\n').find((l) => l.includes('group_id=16003,'))?.trim();
    // Primary: PHP pop out of core9 (port 3); backup: P1's label of PE3 out of core0 (port 2), in_port cleared for a hairpin.
    assert.equal(group(), 'group_id=16003,type=ff,bucket=watch_port:3,actions=pop_mpls:0x8847,output:3,bucket=watch_port:2,actions=set_field:16003->mpls_label,set_field:0->in_port,output:2');
    assert.equal((await agent.reconcile()).changes, 0, 'groups read back as installed');
    // The controller's new state after core9 failed: primary over P1, no backup. Same group id, modified; the route flows stay.
    const routes = ovs!.dumpFlows('pe1g', 'table=2');
    const after = computeDesiredStates(input, simulateSelectedRoutes(input), { generation: 2 }).get('PE1')!.state;
    assert.equal(await agent.applyDelta(diffDesiredState(state, after)), 'applied');
    assert.equal(group(), 'group_id=16003,type=ff,bucket=watch_port:2,actions=set_field:16003->mpls_label,output:2');
    assert.deepEqual(ovs!.dumpFlows('pe1g', 'table=2'), routes);
    // A group nobody's entry uses is removed by the next reconcile; one changed by hand is put back.
    ovs!.ofctl('add-group', 'pe1g', 'group_id=777,type=ff,bucket=watch_port:2,actions=output:2');
    ovs!.ofctl('mod-group', 'pe1g', 'group_id=16003,type=ff,bucket=watch_port:3,actions=output:3');
    await agent.reconcile();
    const groups = ovs!.ofctl('dump-groups', 'pe1g');
    assert.doesNotMatch(groups, /group_id=777,/);
    assert.equal(group(), 'group_id=16003,type=ff,bucket=watch_port:2,actions=set_field:16003->mpls_label,output:2');
    assert.equal((await agent.reconcile()).changes, 0);
  } finally {
    await driver.close();
    ovs!.deleteBridge('pe1g');
  }
});

test('ovs: flows deleted, changed or added by hand are repaired; flows of others are left alone', { skip }, async () => {
  const target = await ovs!.addBridge('pe1b', ['pe1b-cust0', 'pe1b-core0']);
  const driver = await new OvsDriver({ target, portPrefix: 'pe1b-' }).connect();
  try {
    const agent = new Agent({ node: 'PE1', driver });
    await agent.applySnapshot(pe1());
    const before = ovs!.dumpFlows('pe1b').sort();
    ovs!.ofctl('--strict', 'del-flows', 'pe1b', 'table=2,priority=1016,ip,metadata=0x3e9,nw_dst=10.2.0.0/16');
    ovs!.ofctl('--strict', 'mod-flows', 'pe1b', 'table=1,priority=100,mpls,mpls_label=100,mpls_bos=1,actions=drop');
    ovs!.ofctl('add-flow', 'pe1b', 'cookie=0x4c33000000000000,table=2,priority=1024,ip,metadata=0x3e9,nw_dst=172.16.5.0/24,actions=output:1');
    ovs!.ofctl('add-flow', 'pe1b', 'cookie=0x1234,table=40,priority=5,ip,actions=drop'); // someone else's
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
    const afterRepair = ovs!.dumpFlows('pe1b');
    assert.deepEqual(afterRepair.filter((f) => !f.includes('table=40')).sort(), before);
    assert.ok(afterRepair.some((f) => f.includes('cookie=0x1234') && f.includes('table=40')));
    assert.equal((await agent.reconcile()).changes, 0);
  } finally {
    await driver.close();
    ovs!.deleteBridge('pe1b');
  }
});

test('ovs: a one-route delta touches one flow; a restarted agent resyncs without touching the switch', { skip }, async () => {
  const target = await ovs!.addBridge('pe1c', ['pe1c-cust0', 'pe1c-core0']);
  const state = pe1();
  const driver = await new OvsDriver({ target, portPrefix: 'pe1c-' }).connect();
  const agent = new Agent({ node: 'PE1', driver });
  await agent.applySnapshot(state);
  const old = state.vrfRoutes.find((r) => r.vrf === 'red' && r.prefix === '10.3.0.0/16')!;
  const moved: VrfRoute = { ...old, nextHop: { $case: 'remote', value: { ...(old.nextHop!.value as RemotePeNextHop), labels: [16003, 333] } } };
  const sent = driver.flowModsSent;
  const outcome = await agent.applyDelta(oneRouteDelta('PE1', 1, old, moved));
  assert.equal(outcome, 'applied');
  assert.equal(driver.flowModsSent - sent, 1); // an ADD over the same match and priority replaces the flow
  const flows = ovs!.dumpFlows('pe1c', 'table=2,ip,metadata=0x3e9,nw_dst=10.3.0.0/16');
  assert.equal(flows.length, 1);
  assert.match(flows[0]!, /set_field:333->mpls_label,push_mpls:0x8847,set_field:16003->mpls_label,group:16003/);
  await driver.close();

  // The agent restarts (the switch keeps forwarding meanwhile); it learns the same state again.
  const before = ovs!.dumpFlows('pe1c');
  const driver2 = await new OvsDriver({ target, portPrefix: 'pe1c-' }).connect();
  try {
    const agent2 = new Agent({ node: 'PE1', driver: driver2 });
    const r = await agent2.applySnapshot(agent.desiredState()!);
    assert.deepEqual([r.changes, driver2.flowModsSent], [0, 0]);
    assert.deepEqual(ovs!.dumpFlows('pe1c'), before);
  } finally {
    await driver2.close();
    ovs!.deleteBridge('pe1c');
  }
});

test('ovs: an entry the switch cannot take fails with its reason; the rest of the batch is installed', { skip }, async () => {
  const target = await ovs!.addBridge('pe1d', ['pe1d-cust0', 'pe1d-core0']);
  const driver = await new OvsDriver({ target, portPrefix: 'pe1d-' }).connect();
  try {
    const agent = new Agent({ node: 'PE1', driver });
    const state = pe1();
    // PE1's entry of PE3's SID out of a port the bridge does not have: it fails, and so do the routes to PE3, which go through its group.
    const lfibEntries = state.lfibEntries.map((e) => (e.inLabel === 16003 && e.action?.$case === 'swap' ? { ...e, action: { ...e.action, value: { ...e.action.value, outInterface: 'core9' } } } : e));
    await agent.applySnapshot({ ...state, lfibEntries });
    const failures = agent.report().failures;
    const toPe3 = state.vrfRoutes.filter((r) => r.nextHop?.$case === 'remote' && r.nextHop.value.remotePe === 'PE3').length;
    assert.ok(toPe3 > 0);
    assert.equal(failures.length, 1 + toPe3);
    assert.ok(failures.some((f) => /no port core9/.test(f.reason)), JSON.stringify(failures));
    assert.ok(failures.filter((f) => /BAD_OUT_GROUP|code 9/.test(f.reason)).length === toPe3, JSON.stringify(failures));
    assert.equal(ovs!.dumpFlows('pe1d').length, state.vrfRoutes.length - toPe3 + state.lfibEntries.length - 1 + 2 + addressFlows(state) + BASE_FLOWS);
  } finally {
    await driver.close();
    ovs!.deleteBridge('pe1d');
  }
});

test('ovs: an IPv6 route only a label popped to a lookup would deliver is refused with the reason and not installed; the rest of its VRF is; the label gone, it is installed', { skip }, async () => {
  const target = await ovs!.addBridge('pe1f', ['pe1f-cust0', 'pe1f-core0']);
  const driver = await new OvsDriver({ target, portPrefix: 'pe1f-' }).connect();
  try {
    const agent = new Agent({ node: 'PE1', driver });
    const withLabel = pe1({ blueVrfLabel: true });
    const r = await agent.applySnapshot(withLabel);
    const failures = agent.report().failures;
    assert.deepEqual([r.failures, failures.map((f) => f.key?.key)], [1, [{ $case: 'vrfRoute', value: BLUE_V6_CONNECTED }]]);
    assert.match(failures[0]!.reason, /IPv6 2001:db8:1::\/64 of VRF blue .*label 101, popped to a lookup .*pops to IPv4 on OVS/);
    const flows = ovs!.dumpFlows('pe1f');
    assert.equal(flows.length, withLabel.vrfRoutes.length - 1 + withLabel.lfibEntries.length + 2 + addressFlows(withLabel) + BASE_FLOWS);
    assert.ok(!flows.some((f) => f.includes('ipv6_dst=2001:db8:1::/64')), flows.join('\n'));
    // blue's per-CE IPv6 route and its IPv4 connected subnet (under the same per-VRF label) are installed.
    assert.ok(flows.some((f) => /ipv6,metadata=0x3ea,ipv6_dst=2001:db8:100::\/48/.test(f)));
    assert.ok(flows.some((f) => /ip,metadata=0x3ea,nw_dst=192\.168\.1\.0\/30/.test(f)));
    // Still refused on every pass (a failure, not drift), and still nothing of it on the switch.
    const again = await agent.reconcile();
    assert.deepEqual([again.changes, again.failures, again.drift.length], [1, 1, 0]);

    // blue loses its per-VRF label: the next pass installs the route.
    const without = { ...pe1(), generation: 2 };
    assert.equal(await agent.applyDelta(diffDesiredState({ ...withLabel, generation: 1 }, without)), 'applied');
    await agent.reconcile();
    assert.deepEqual(agent.report().failures, []);
    assert.ok(ovs!.dumpFlows('pe1f').some((f) => f.includes('ipv6_dst=2001:db8:1::/64')));

    // And back: the pass after the label returns takes the route's flow away again.
    assert.equal(await agent.applyDelta(diffDesiredState(without, { ...withLabel, generation: 3 })), 'applied');
    await agent.reconcile();
    assert.deepEqual(agent.report().failures.map((f) => f.key?.key), [{ $case: 'vrfRoute', value: BLUE_V6_CONNECTED }]);
    assert.ok(!ovs!.dumpFlows('pe1f').some((f) => f.includes('ipv6_dst=2001:db8:1::/64')));
  } finally {
    await driver.close();
    ovs!.deleteBridge('pe1f');
  }
});

test('ovs: a VRF renumbered in place moves its routes and labels to the new metadata value', { skip }, async () => {
  const target = await ovs!.addBridge('pe1e', ['pe1e-cust0', 'pe1e-core0']);
  const driver = await new OvsDriver({ target, portPrefix: 'pe1e-' }).connect();
  try {
    const agent = new Agent({ node: 'PE1', driver });
    const s1 = pe1();
    await agent.applySnapshot(s1);
    const s2: NodeDesiredState = { ...s1, generation: 2, vrfs: s1.vrfs.map((v) => (v.name === 'red' ? { ...v, tableId: 2001 } : v)) };
    const delta = diffDesiredState(s1, s2);
    assert.equal(delta.changes.length, 1);
    assert.equal(await agent.applyDelta(delta), 'applied');
    const flows = ovs!.dumpFlows('pe1e');
    assert.equal(flows.filter((f) => f.includes('0x3e9')).length, 0, flows.join('\n')); // 1001
    assert.ok(flows.some((f) => /metadata=0x7d1,nw_dst=10\.2\.0\.0\/16/.test(f)));
    assert.ok(flows.some((f) => /mpls_label=100,mpls_bos=1 actions=pop_mpls:0x0800,write_metadata:0x7d1/.test(f)));
    assert.equal((await agent.reconcile()).changes, 0);
  } finally {
    await driver.close();
    ovs!.deleteBridge('pe1e');
  }
});
