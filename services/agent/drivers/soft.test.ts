import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeKind, type DesiredStateChange, LookupFamily, type NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates, diffDesiredState } from '../../common/desired-state/index.js';
import { fixtureInput, fixtureVpns, SRGB } from '../../common/desired-state/fixture.js';
import { simulateSelectedRoutes } from '../../../test/support/simulated-routes.js';
import type { DesiredStateInput } from '../../common/desired-state/types.js';
import { SoftNetwork } from './soft-network.js';
import { SoftDriver } from './soft.js';

/** PE1 - P - PE2; P has its own SRGB so its labels differ from the PEs'. */
function chainInput(): DesiredStateInput {
  const P_SRGB = { base: 20000, size: 8000 };
  return {
    inventory: {
      nodes: [
        { id: 'PE1', role: 'PE', routerId: '10.255.0.1', srgb: SRGB, nodeSidIndex: 1, transport: 'sr' },
        { id: 'P', role: 'P', routerId: '10.255.0.11', srgb: P_SRGB, nodeSidIndex: 11, transport: 'sr' },
        { id: 'PE2', role: 'PE', routerId: '10.255.0.2', srgb: SRGB, nodeSidIndex: 2, transport: 'sr' },
      ],
      links: [
        { a: { node: 'PE1', interface: 'core0', address: '10.0.0.0/31' }, b: { node: 'P', interface: 'core0', address: '10.0.0.1/31' }, metric: 10 },
        { a: { node: 'P', interface: 'core1', address: '10.0.1.0/31' }, b: { node: 'PE2', interface: 'core0', address: '10.0.1.1/31' }, metric: 10 },
      ],
    },
    vpns: fixtureVpns().map((v) => ({ ...v, vrfs: v.vrfs.filter((x) => x.pe !== 'PE3'), sites: v.sites.filter((s) => s.pe !== 'PE3') })),
  };
}

async function build(input: DesiredStateInput): Promise<{ net: SoftNetwork; drivers: Map<string, SoftDriver>; states: Map<string, NodeDesiredState> }> {
  const computed = computeDesiredStates(input, simulateSelectedRoutes(input), { generation: 1 });
  const drivers = new Map<string, SoftDriver>();
  const states = new Map<string, NodeDesiredState>();
  for (const [node, { state }] of computed) {
    const d = new SoftDriver();
    assert.deepEqual(await d.apply(diffDesiredState(undefined, state).changes), [], node);
    drivers.set(node, d);
    states.set(node, state);
  }
  return { net: new SoftNetwork(drivers, input.inventory.links), drivers, states };
}

const stacks = (t: ReturnType<SoftNetwork['send']>) => t.hops.map((h) => [h.node, h.arrived.labels ?? []]);

test('soft chain PE1 -> P -> PE2: [transport, VPN] pushed, P pops (PHP), PE2 pops the VPN label into red', async () => {
  const { net } = await build(chainInput());
  const t = net.send('PE1', { interface: 'cust0', vlan: 100, destination: '10.2.3.4' });
  assert.deepEqual(stacks(t), [
    ['PE1', []],
    ['P', [20002, 200]],
    ['PE2', [200]],
  ]);
  assert.deepEqual(t.end, { node: 'PE2', action: 'forward', interface: 'cust0', vlan: 100, nextHop: '192.168.2.2', labels: [], vrf: 'red' });
  // And back: PE2 -> P -> PE1 with red's per-VRF label of PE1.
  const back = net.send('PE2', { interface: 'cust0', vlan: 100, destination: '10.1.0.9' });
  assert.deepEqual(stacks(back), [
    ['PE2', []],
    ['P', [20001, 100]],
    ['PE1', [100]],
  ]);
  assert.equal(back.end.action === 'forward' && back.end.nextHop, '192.168.1.2');
});

test('soft fixture PE1 -> P1 -> P2 -> PE2: P1 swaps into P2 SRGB, P2 pops, per-CE label goes straight to the CE', async () => {
  const { net } = await build(fixtureInput());
  const t = net.send('PE1', { interface: 'cust0', vlan: 200, destination: '10.2.0.1' });
  assert.deepEqual(stacks(t), [
    ['PE1', []],
    ['P1', [16002, 210]],
    ['P2', [20002, 210]],
    ['PE2', [210]],
  ]);
  assert.deepEqual(t.end, { node: 'PE2', action: 'forward', interface: 'cust0', vlan: 200, nextHop: '192.168.2.2', labels: [], vrf: 'blue' });
  // A connected subnet: delivered to the destination itself.
  const c = net.send('PE1', { interface: 'cust0', vlan: 100, destination: '192.168.3.2' });
  assert.equal(c.end.node, 'PE3');
  assert.deepEqual(c.end.action === 'forward' && [c.end.interface, c.end.vlan, c.end.nextHop], ['cust0', 100, '192.168.3.2']);
  // IPv6 in blue.
  const v6 = net.send('PE2', { interface: 'cust0', vlan: 200, destination: '2001:db8:100::1' });
  assert.deepEqual(stacks(v6).at(-1), ['PE1', [111]]);
  assert.deepEqual(v6.end.action === 'forward' && v6.end.nextHop, '2001:db8:1::2');
});

test('soft: two VPNs with the same prefixes never leak into each other', async () => {
  const { net } = await build(fixtureInput());
  for (const [vlan, vrf] of [
    [100, 'red'],
    [200, 'blue'],
  ] as const) {
    for (const dst of ['10.2.0.1', '192.168.2.2', '10.1.0.1']) {
      const t = net.send('PE1', { interface: 'cust0', vlan, destination: dst });
      // Whatever node it ends at, it leaves on the same VPN's attachment VLAN.
      assert.equal(t.end.action, 'forward', `${vrf} ${dst}: ${JSON.stringify(t.end)}`);
      if (t.end.action === 'forward') {
        assert.equal(t.end.vlan, vlan, `${vrf} ${dst}`);
        assert.equal(t.end.labels.length, 0);
      }
    }
  }
  // 10.3/16 is a red-only site (PE3): blue has no route to it.
  const blue = net.send('PE1', { interface: 'cust0', vlan: 200, destination: '10.3.0.1' });
  assert.deepEqual(blue.end, { node: 'PE1', action: 'drop', reason: 'no route to 10.3.0.1 in VRF blue' });
  const red = net.send('PE1', { interface: 'cust0', vlan: 100, destination: '10.3.0.1' });
  assert.equal(red.end.node, 'PE3');
});

test('soft: longest prefix wins, label stack rules of RFC 3032 are enforced', async () => {
  const { drivers } = await build(fixtureInput());
  const pe1 = drivers.get('PE1')!;
  const more: DesiredStateChange = {
    kind: ChangeKind.CHANGE_KIND_ADD,
    entry: {
      entry: {
        $case: 'vrfRoute',
        value: { vrf: 'red', prefix: '10.2.7.0/24', nextHop: { $case: 'local', value: { interface: 'cust0', vlan: 100, address: '192.168.1.2' } }, source: 2, multipath: [] },
      },
    },
    previous: undefined,
  };
  assert.deepEqual(await pe1.apply([more]), []);
  const f = pe1.forward({ interface: 'cust0', vlan: 100, destination: '10.2.7.1' });
  assert.deepEqual(f.action === 'forward' && f.interface, 'cust0');
  assert.equal(pe1.forward({ interface: 'cust0', vlan: 100, destination: '10.2.8.1' }).action === 'forward', true);
  // Per-VRF label not at the bottom, reserved label, unknown label.
  assert.match(JSON.stringify(pe1.forward({ interface: 'core0', labels: [100, 16002], destination: '10.1.0.1' })), /not at the bottom/);
  assert.match(JSON.stringify(pe1.forward({ interface: 'core0', labels: [3, 100], destination: '10.1.0.1' })), /reserved label 3/);
  assert.match(JSON.stringify(pe1.forward({ interface: 'core0', labels: [999], destination: '10.1.0.1' })), /no LFIB entry/);
  // A core interface is in no VRF: an unlabelled packet there is not a VPN packet.
  assert.match(JSON.stringify(pe1.forward({ interface: 'core0', destination: '10.1.0.1' })), /in no VRF/);
});

test('soft: refuses what a real data plane would, per change, without stopping the rest', async () => {
  const d = new SoftDriver();
  const changes: DesiredStateChange[] = [
    { kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'lfibEntry', value: { inLabel: 5, action: { $case: 'pop', value: { outInterface: 'x', nextHop: '', destinationNode: '' } }, owner: '' } } }, previous: undefined },
    { kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'lfibEntry', value: { inLabel: 17, action: { $case: 'popAndLookup', value: { vrf: 'nope', family: LookupFamily.LOOKUP_FAMILY_UNSPECIFIED } }, owner: '' } } }, previous: undefined },
    { kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'vrf', value: { name: 'a', tableId: 254, rd: '', importRouteTargets: [], exportRouteTargets: [], interfaces: [], vpn: '' } } }, previous: undefined },
    { kind: ChangeKind.CHANGE_KIND_ADD, entry: { entry: { $case: 'vrf', value: { name: 'b', tableId: 7, rd: '', importRouteTargets: [], exportRouteTargets: [], interfaces: [], vpn: '' } } }, previous: undefined },
  ];
  const failures = await d.apply(changes);
  assert.deepEqual(
    failures.map((f) => f.index),
    [0, 1, 2],
  );
  assert.match(failures[0]!.reason, /not a usable label/);
  assert.match(failures[1]!.reason, /no VRF nope/);
  assert.match(failures[2]!.reason, /reserved/);
  assert.deepEqual((await d.read()).vrfs.map((v) => v.name), ['b']);
});

test('soft: a VRF\u2019s IPv6 label pops IPv6 into the VRF, and an IPv4 packet under it is dropped (it would not parse)', async () => {
  const base = fixtureInput();
  const input = { ...base, vpns: base.vpns.map((v) => (v.id !== 'blue' ? v : { ...v, vrfs: v.vrfs.map((x) => (x.pe === 'PE1' ? { ...x, vrfLabelIpv6: 102 } : x)) })) };
  const { drivers } = await build(input);
  const pe1 = drivers.get('PE1')!;
  const v6 = pe1.forward({ interface: 'core0', labels: [102], destination: '2001:db8:1::7' });
  assert.deepEqual(v6.action === 'forward' && [v6.interface, v6.vlan, v6.vrf], ['cust0', 200, 'blue']);
  assert.match(JSON.stringify(pe1.forward({ interface: 'core0', labels: [102], destination: '192.168.1.2' })), /IPv4 packet under the IPv6 label 102/);
  // The VRF label without a family takes either.
  assert.equal(pe1.forward({ interface: 'core0', labels: [101], destination: '192.168.1.2' }).action, 'forward');
});
