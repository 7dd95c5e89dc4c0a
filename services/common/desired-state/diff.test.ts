import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeKind, type DesiredStateChange, type DesiredStateDelta, NodeDesiredState } from '../gen/proto/l3vpn/v1/agent.js';
import { computeDesiredStates, computeNodeDesiredState, prepareNetwork } from './compute.js';
import { applyChange, applyDelta, danglingReferences, diffDesiredState, stateTables, summarizeDelta } from './diff.js';
import { fixtureInput } from './fixture.js';
import { simulateSelectedRoutes } from '../../../test/support/simulated-routes.js';
import type { DesiredStateInput } from './types.js';

function states(input: DesiredStateInput, generation: number): Map<string, NodeDesiredState> {
  const all = computeDesiredStates(input, simulateSelectedRoutes(input), { generation });
  return new Map([...all].map(([id, r]) => [id, r.state]));
}

/** The step of the safe order a change belongs to (see DesiredStateDelta). */
function phase(c: DesiredStateChange): number {
  const e = (c.entry ?? c.previous)!.entry!;
  const del = c.kind === ChangeKind.CHANGE_KIND_DELETE;
  const transportLabel = e.$case === 'lfibEntry' && (e.value.action?.$case === 'swap' || e.value.action?.$case === 'pop');
  switch (e.$case) {
    case 'vrf':
      return del ? 11 : c.previous && c.entry && c.entry.entry?.$case === 'vrf' && c.previous.entry?.$case === 'vrf' && c.entry.entry.value.interfaces.length < c.previous.entry.value.interfaces.length ? 10 : 1;
    case 'transportPath':
      return del ? 9 : 2;
    case 'lfibEntry':
      return del ? (transportLabel ? 8 : 7) : transportLabel ? 3 : 4;
    case 'vrfRoute':
      return del ? 6 : 5;
  }
}

/** Applies a delta step by step: nothing ever dangles, the phases never go back, the end is `after`. */
function checkDelta(before: NodeDesiredState | undefined, after: NodeDesiredState): DesiredStateDelta {
  const delta = diffDesiredState(before, after);
  const empty = NodeDesiredState.fromPartial({ node: after.node, role: after.role, transport: after.transport });
  const tables = stateTables(before ?? empty);
  let last = 0;
  for (const c of delta.changes) {
    applyChange(tables, c);
    assert.deepEqual(danglingReferences(tables), [], `after ${JSON.stringify(c)}`);
    const p = phase(c);
    assert.ok(p >= last, `phase ${p} after ${last}: ${JSON.stringify(c)}`);
    last = p;
  }
  const applied = applyDelta(before ?? empty, delta);
  assert.deepEqual(Buffer.from(NodeDesiredState.encode(applied).finish()), Buffer.from(NodeDesiredState.encode(after).finish()));
  return delta;
}

test('equal states differ in nothing', () => {
  const a = states(fixtureInput(), 1);
  const b = states(fixtureInput(), 2);
  for (const [id, s] of a) {
    const d = diffDesiredState(s, b.get(id)!);
    assert.deepEqual(d.changes, [], id);
    assert.equal(d.fromGeneration, 1);
    assert.equal(d.generation, 2);
    assert.equal(d.transport, undefined);
  }
});

test('from nothing: VRFs, then transport, then labels, then routes', () => {
  const pe1 = states(fixtureInput(), 1).get('PE1')!;
  const d = checkDelta(undefined, pe1);
  const order = d.changes.map((c) => {
    const e = c.entry!.entry!;
    return e.$case === 'lfibEntry' ? `lfib:${e.value.owner}` : e.$case;
  });
  assert.deepEqual(order.slice(0, 6), ['vrf', 'vrf', 'transportPath', 'transportPath', 'lfib:sid:PE2', 'lfib:sid:PE3']);
  assert.equal(order.indexOf('vrfRoute'), order.lastIndexOf('lfib:ce:blue:blue-a6') + 1);
  assert.deepEqual(summarizeDelta(d).byKind.vrfRoute, { added: pe1.vrfRoutes.length, modified: 0, deleted: 0 });
  assert.ok(d.changes.every((c) => c.kind === ChangeKind.CHANGE_KIND_ADD));
});

test('removing a VPN: routes go before their labels, labels before the VRF', () => {
  const before = states(fixtureInput(), 1).get('PE1')!;
  const input = fixtureInput();
  const after = states({ ...input, vpns: input.vpns.filter((v) => v.id !== 'blue') }, 2).get('PE1')!;
  const d = checkDelta(before, after);
  const kinds = d.changes.map((c) => `${ChangeKind[c.kind].slice(12)} ${c.previous!.entry!.$case}`);
  assert.deepEqual(kinds, [
    ...Array(6).fill('DELETE vrfRoute'),
    'DELETE lfibEntry',
    'DELETE lfibEntry',
    'DELETE lfibEntry',
    'DELETE vrf',
  ]);
});

test('a site moving to another VLAN: the new interface comes first, the old one leaves last', () => {
  const input = fixtureInput();
  const moved: DesiredStateInput = {
    ...input,
    vpns: input.vpns.map((v) => (v.id === 'red' ? { ...v, sites: v.sites.map((s) => (s.id === 'red-a' ? { ...s, vlan: 101 } : s)) } : v)),
  };
  const before = states(input, 1).get('PE1')!;
  const d = checkDelta(before, states(moved, 2).get('PE1')!);
  const vrfChanges = d.changes.filter((c) => c.entry?.entry?.$case === 'vrf');
  assert.equal(vrfChanges.length, 2);
  const ifs = (c: DesiredStateChange) => (c.entry!.entry!.value as { interfaces: { vlan: number }[] }).interfaces.map((i) => i.vlan);
  assert.deepEqual(ifs(vrfChanges[0]!), [100, 101]);
  assert.deepEqual(ifs(vrfChanges[1]!), [101]);
  assert.equal(d.changes.indexOf(vrfChanges[0]!), 0);
  assert.equal(d.changes.indexOf(vrfChanges[1]!), d.changes.length - 1);
});

test('a core link fails: paths move, labels are swapped in place, unreachable routes go', () => {
  const input = fixtureInput();
  const before = states(input, 1);
  // Without P1 - P2, PE2 is cut off from PE1 and PE3.
  const cut: DesiredStateInput = { ...input, inventory: { ...input.inventory, links: input.inventory.links.filter((l) => l.a.interface !== 'core1' || l.a.node !== 'P1') } };
  const after = states(cut, 2);
  for (const [id, s] of after) checkDelta(before.get(id)!, s);
  const pe1 = diffDesiredState(before.get('PE1')!, after.get('PE1')!);
  const s = summarizeDelta(pe1);
  assert.deepEqual(s.byKind.lfibEntry, { added: 0, modified: 0, deleted: 2 }); // SIDs of PE2 and P2
  assert.deepEqual(s.byKind.transportPath, { added: 0, modified: 0, deleted: 1 });
  assert.deepEqual(s.byKind.vrfRoute, { added: 0, modified: 0, deleted: 4 }); // red and blue: 10.2/16, 192.168.2/30
  // A longer but still working path modifies in place: make P1 - PE3 expensive and add PE1 - PE3 direct.
  const detour: DesiredStateInput = {
    ...input,
    inventory: {
      ...input.inventory,
      links: [...input.inventory.links, { a: { node: 'PE1', interface: 'core9', address: '10.0.9.0/31' }, b: { node: 'PE3', interface: 'core9', address: '10.0.9.1/31' }, metric: 50 }],
    },
  };
  const d2 = checkDelta(before.get('PE1')!, states(detour, 2).get('PE1')!);
  // 50 > 20: no path changes; the new link only becomes a backup (alternates.ts) of transport entries.
  assert.ok(d2.changes.length > 0);
  for (const c of d2.changes) {
    assert.equal(c.kind, ChangeKind.CHANGE_KIND_MODIFY);
    const e = c.entry!.entry!;
    assert.ok(e.$case === 'transportPath' || e.$case === 'lfibEntry', `only transport entries change: ${e.$case}`);
    const strip = (x: unknown) => JSON.stringify(x, (k, v) => (k === 'backup' ? undefined : v));
    assert.equal(strip(e.value), strip(c.previous!.entry!.value), 'only the backup changed');
  }
  assert.ok(
    d2.changes.some((c) => c.entry!.entry!.$case === 'transportPath' && c.entry!.entry!.value.remoteNode === 'PE3' && c.entry!.entry!.value.backup?.outInterface === 'core9'),
    'PE1 protects its path to PE3 over the new link',
  );
  const cheap: DesiredStateInput = { ...detour, inventory: { ...detour.inventory, links: detour.inventory.links.map((l) => (l.a.interface === 'core9' ? { ...l, metric: 5 } : l)) } };
  const d3 = checkDelta(before.get('PE1')!, states(cheap, 3).get('PE1')!);
  // The path to PE3 and its label move to the direct link, and the two routes over it; other transport entries may change backups only.
  const moved = d3.changes.filter((c) => {
    const e = c.entry!.entry!;
    return e.$case === 'vrfRoute' || (e.$case === 'transportPath' && e.value.remoteNode === 'PE3') || (e.$case === 'lfibEntry' && e.value.owner === 'sid:PE3');
  });
  assert.deepEqual(
    moved.map((c) => `${ChangeKind[c.kind].slice(12)} ${c.entry!.entry!.$case}`),
    ['MODIFY transportPath', 'MODIFY lfibEntry', 'MODIFY vrfRoute', 'MODIFY vrfRoute'],
  );
});

test('one route changed among many touches one entry', () => {
  const input = fixtureInput();
  const net = prepareNetwork(input);
  const routes = simulateSelectedRoutes(input).get('PE1')!;
  const many = [...routes];
  for (let i = 0; i < 2000; i++) many.push({ vrf: 'red', prefix: `10.${100 + (i >> 8)}.${i & 255}.0/24`, nextHop: '10.255.0.2', label: 200, rd: '65000:2' });
  const before = computeNodeDesiredState(net, 'PE1', many, { generation: 1 }).state;
  const changed = many.map((r) => (r.prefix === '10.105.7.0/24' ? { ...r, nextHop: '10.255.0.3', label: 300, rd: '65000:3' } : r));
  const after = computeNodeDesiredState(net, 'PE1', changed, { generation: 2 }).state;
  const d = checkDelta(before, after);
  assert.equal(d.changes.length, 1);
  assert.equal(d.changes[0]!.kind, ChangeKind.CHANGE_KIND_MODIFY);
  assert.deepEqual((d.changes[0]!.entry!.entry!.value as { nextHop: { value: { labels: number[] } } }).nextHop.value.labels, [16003, 300]);
});

test('transport settings changes ride on the delta', () => {
  const input = fixtureInput();
  const before = states(input, 1).get('PE1')!;
  const moved: DesiredStateInput = {
    ...input,
    inventory: { ...input.inventory, nodes: input.inventory.nodes.map((n) => (n.id === 'PE1' ? { ...n, srgb: { base: 30000, size: 8000 } } : n)) },
  };
  const d = checkDelta(before, states(moved, 2).get('PE1')!);
  assert.deepEqual(d.transport?.srgb, { base: 30000, size: 8000 });
  // Every SID entry of PE1 gets a new in-label: added before routes, old ones deleted after.
  const s = summarizeDelta(d);
  assert.deepEqual(s.byKind.lfibEntry, { added: 4, modified: 0, deleted: 4 });
});
