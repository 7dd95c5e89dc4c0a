// ECMP in the soft driver, end to end over the soft network: PE1's route to
// an all-active site's prefix has PE2 as best and PE3 as ECMP member; flows
// (5-tuples) spread over both egress PEs, each flow always on one, every
// packet delivered; the member removed, every flow goes to PE2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeKind, type NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates, diffDesiredState } from '../../common/desired-state/index.js';
import { fixtureInput } from '../../common/desired-state/fixture.js';
import type { DesiredStateInput, SelectedVpnRoute } from '../../common/desired-state/types.js';
import { simulateSelectedRoutes } from '../../../test/support/simulated-routes.js';
import { ecmpIndex, flowHash } from './ecmp.js';
import { SoftNetwork } from './soft-network.js';
import { SoftDriver } from './soft.js';

const PREFIX = '10.9.0.0/16';

/** The fixture with 10.9.0.0/16 behind red's sites on PE2 and PE3 (one all-active site's prefix, seen from PE1). */
function input(): DesiredStateInput {
  const base = fixtureInput();
  return {
    ...base,
    vpns: base.vpns.map((v) => (v.id !== 'red' ? v : { ...v, sites: v.sites.map((s) => (s.pe === 'PE1' ? s : { ...s, staticPrefixes: [...(s.staticPrefixes ?? []), PREFIX] })) })),
  };
}

function states(net: DesiredStateInput, withMember: boolean): Map<string, NodeDesiredState> {
  const routes = simulateSelectedRoutes(net);
  const pe1 = (routes.get('PE1') ?? []).filter((r) => r.prefix !== PREFIX);
  const best: SelectedVpnRoute = { vrf: 'red', prefix: PREFIX, nextHop: '10.255.0.2', label: 200, rd: '65000:2' };
  pe1.push(best);
  if (withMember) pe1.push({ vrf: 'red', prefix: PREFIX, nextHop: '10.255.0.3', label: 300, rd: '65000:3', multipath: true });
  routes.set('PE1', pe1);
  return new Map([...computeDesiredStates(net, routes, { generation: withMember ? 1 : 2 })].map(([n, r]) => [n, r.state]));
}

const flows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ interface: 'cust0', vlan: 100, destination: `10.9.${i % 7}.${1 + (i % 200)}`, source: `10.1.0.${1 + (i % 5)}`, protocol: 17, sourcePort: 20000 + i, destinationPort: 5001 }));

test('ecmp flow hash: deterministic, and hash-threshold spreads over the members', () => {
  const f = { destination: '10.9.0.1', source: '10.1.0.1', protocol: 6, sourcePort: 40000, destinationPort: 80 };
  assert.equal(flowHash(f), flowHash({ ...f }));
  assert.notEqual(flowHash(f), flowHash({ ...f, sourcePort: 40001 }));
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[ecmpIndex({ ...f, sourcePort: 10000 + i }, 3)]!++;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `3 members: ${counts}`);
  assert.equal(ecmpIndex(f, 1), 0);
});

test('soft ECMP: flows from PE1 spread over PE2 and PE3, none lost; without the member all go to PE2', async () => {
  const net = input();
  const first = states(net, true);
  const drivers = new Map<string, SoftDriver>();
  for (const [node, state] of first) {
    const d = new SoftDriver();
    assert.deepEqual(await d.apply(diffDesiredState(undefined, state).changes), [], node);
    drivers.set(node, d);
  }
  const soft = new SoftNetwork(drivers, net.inventory.links);
  const route = first.get('PE1')!.vrfRoutes.find((r) => r.prefix === PREFIX)!;
  assert.equal(route.multipath.length, 1);

  const egress = (list: ReturnType<typeof flows>) => {
    const count = new Map<string, number>();
    for (const p of list) {
      const t = soft.send('PE1', p);
      assert.equal(t.end.action, 'forward', JSON.stringify(t.end));
      // Delivered to red's CE of the egress PE, the VPN label popped there.
      assert.ok(t.end.action === 'forward' && t.end.vrf === 'red' && t.end.interface === 'cust0' && t.end.labels.length === 0, JSON.stringify(t.end));
      count.set(t.end.node, (count.get(t.end.node) ?? 0) + 1);
    }
    return count;
  };
  const list = flows(400);
  const spread = egress(list);
  assert.deepEqual([...spread.keys()].sort(), ['PE2', 'PE3']);
  for (const [pe, n] of spread) assert.ok(n > 120, `${pe} carried only ${n} of 400 flows`);
  // One flow, one path: the same 5-tuple again goes the same way.
  for (const p of list.slice(0, 50)) assert.equal(soft.send('PE1', p).end.node, soft.send('PE1', { ...p }).end.node);

  // The member leaves (PE3's access went down): one change, every flow to PE2.
  const second = states(net, false);
  const changes = diffDesiredState(first.get('PE1'), second.get('PE1')!).changes;
  assert.deepEqual(changes.map((c) => [c.kind, c.entry?.entry?.$case]), [[ChangeKind.CHANGE_KIND_MODIFY, 'vrfRoute']]);
  assert.deepEqual(await drivers.get('PE1')!.apply(changes), []);
  assert.deepEqual([...egress(list)], [['PE2', 400]]);
  // The driver reports what it holds: the new shape, so the agent sees no drift.
  assert.deepEqual((await drivers.get('PE1')!.read()).vrfRoutes.find((r) => r.prefix === PREFIX)?.multipath, []);
});

test('soft ECMP: members without a remote next hop, or with a reserved label, are refused', async () => {
  const d = new SoftDriver();
  const state = states(input(), true).get('PE1')!;
  assert.deepEqual(await d.apply(diffDesiredState(undefined, state).changes), []);
  const route = state.vrfRoutes.find((r) => r.prefix === PREFIX)!;
  const bad = { ...route, multipath: [{ ...route.multipath[0]!, labels: [16003, 3] }] };
  const f = await d.apply([{ kind: ChangeKind.CHANGE_KIND_MODIFY, entry: { entry: { $case: 'vrfRoute', value: bad } }, previous: undefined }]);
  assert.match(f[0]?.reason ?? '', /pushed label 3/);
});
