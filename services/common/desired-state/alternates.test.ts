import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alternate, protectsInterface } from './alternates.js';
import { buildTopology, type Topology } from './topology.js';
import type { InventoryLink, InventoryNode } from './types.js';

// Each node has its own SRGB base (16000 + 1000 x index), so a label names whose SRGB it is in.
const node = (id: string, i: number, sid = true): InventoryNode => ({
  id,
  role: 'P',
  routerId: `10.255.0.${i}`,
  srgb: { base: 16000 + 1000 * i, size: 100 },
  ...(sid ? { nodeSidIndex: i } : {}),
  transport: 'sr',
});
const link = (a: string, b: string, metric: number): InventoryLink => ({ a: { node: a, interface: `${a}-${b}` }, b: { node: b, interface: `${b}-${a}` }, metric });

/** The backup of `from` towards `to`, in names: [backup neighbour, out interface, labels, PQ node, node-protecting]. */
function backup(t: Topology, from: string, to: string) {
  const alt = alternate(t, t.byId.get(from)!, t.byId.get(to)!);
  return alt && [t.nodes[alt.adjacency.neighbor]!.id, alt.adjacency.localInterface, alt.labels, alt.repair?.id, alt.nodeProtecting];
}

// The lab's ring: PE1 -10- P1 -10- PE2 preferred, PE1 -20- P2 -20- PE2 the other way.
const ring = () =>
  buildTopology({
    nodes: [node('PE1', 1), node('PE2', 2), node('P1', 11), node('P2', 12)],
    links: [link('PE1', 'P1', 10), link('P1', 'PE2', 10), link('PE1', 'P2', 20), link('P2', 'PE2', 20)],
  });

test('ring: the PE next to the failure has a node-protecting LFA, the P next to it only a remote LFA through the far P', () => {
  const t = ring();
  // PE1 -> PE2 (primary P1): P2 reaches PE2 in 20 < 20 + 20 without PE1, and without P1 (20 < 30 + 10).
  assert.deepEqual(backup(t, 'PE1', 'PE2'), ['P2', 'PE1-P2', [28002], undefined, true]);
  // PE1 -> P1 (primary the link itself): P2 goes back through PE1 (30 = 20 + 10), but PE2 does not: remote LFA? No need:
  // P2's own path to P1 is via PE1; PE2 (a PQ node) is reached from P2 in 20 < 20 + 40 and reaches P1 in 10 < 40 + 10.
  assert.deepEqual(backup(t, 'PE1', 'P1'), ['P2', 'PE1-P2', [28002, 18011], 'PE2', false]);
  // P1 -> PE1 (primary the link itself): PE2's path to PE1 ties over P1 (20 = 10 + 10): no LFA.
  // Remote LFA: P2 is in PE2's P-space (20 < 10 + 30) and in PE1's Q-space (20 < 30 + 10):
  // out to PE2 under [PE2's label of P2, P2's label of PE1]. The primary neighbour is the destination: link protection only.
  assert.deepEqual(backup(t, 'P1', 'PE1'), ['PE2', 'P1-PE2', [18012, 28001], 'P2', false]);
  assert.deepEqual(backup(t, 'P1', 'PE2'), ['PE1', 'P1-PE1', [17012, 28002], 'P2', false]);
  // P2 -> PE2: PE1's path to PE2 is over P1, not P2: a plain LFA, popping nothing (PE1 is not PE2).
  assert.deepEqual(backup(t, 'P2', 'PE2'), ['PE1', 'P2-PE1', [17002], undefined, false]);
});

// A square of equal metrics:  A - B
//                             |   |
//                             C - D
const square = (sids = true) =>
  buildTopology({
    nodes: [node('A', 1), node('B', 2), node('C', 3), node('D', 4, sids)],
    links: [link('A', 'B', 1), link('B', 'D', 1), link('A', 'C', 1), link('C', 'D', 1)],
  });

test('square: across the diagonal an LFA protects the node; to a neighbour only a remote LFA exists, and none without the PQ node\'s SID', () => {
  const t = square();
  // A -> D over B (tie by id); C reaches D in 1 < 1 + 2 and avoids B (1 < 2 + 1).
  assert.deepEqual(backup(t, 'A', 'D'), ['C', 'A-C', [19004], undefined, true]);
  // A -> B directly: C's shortest path to B ties over A (2 = 1 + 1): no LFA. D is the PQ node.
  assert.deepEqual(backup(t, 'A', 'B'), ['C', 'A-C', [19004, 20002], 'D', false]);
  // Without D's node SID there is no repair tunnel: no backup.
  assert.equal(backup(square(false), 'A', 'B'), undefined);
  // A line has no other way at all.
  const line = buildTopology({ nodes: [node('A', 1), node('B', 2), node('C', 3)], links: [link('A', 'B', 1), link('B', 'C', 1)] });
  assert.equal(backup(line, 'A', 'C'), undefined);
  // No node SID at the destination, no label to send with: no backup.
  assert.equal(backup(square(false), 'A', 'D'), undefined);
});

test('a node-protecting alternate is preferred to a link-protecting one, a cheaper one among equals; the primary link is never its own backup', () => {
  // S -1- E -1- D primary; N1 hangs on S and E (link protection only), N2 on S and D (node protection).
  const links = [link('S', 'E', 1), link('E', 'D', 1), link('S', 'N1', 1), link('N1', 'E', 1), link('S', 'N2', 1), link('N2', 'D', 2)];
  const t = buildTopology({ nodes: [node('S', 1), node('E', 2), node('D', 3), node('N1', 4), node('N2', 5)], links });
  assert.deepEqual(backup(t, 'S', 'D'), ['N2', 'S-N2', [21003], undefined, true]);
  // Without N2, N1 (through E) is the backup: loop-free, but not node-protecting.
  const noN2 = buildTopology({ nodes: [node('S', 1), node('E', 2), node('D', 3), node('N1', 4)], links: links.slice(0, 4) });
  assert.deepEqual(backup(noN2, 'S', 'D'), ['N1', 'S-N1', [20003], undefined, false]);
  // A parallel link to the primary neighbour protects the link, not the node; the cheaper of two node-protecting ones wins.
  const parallel = buildTopology({
    nodes: [node('S', 1), node('E', 2), node('D', 3), node('N1', 4), node('N2', 5)],
    links: [link('S', 'E', 1), { ...link('S', 'E', 1), a: { node: 'S', interface: 'S-E2' }, b: { node: 'E', interface: 'E-S2' } }, link('E', 'D', 1)],
  });
  assert.deepEqual(backup(parallel, 'S', 'D'), ['E', 'S-E2', [18003], undefined, false]);
  assert.equal(backup(parallel, 'S', 'N1'), undefined, 'unreachable: no primary, no backup');
  const twoWays = buildTopology({
    nodes: [node('S', 1), node('E', 2), node('D', 3), node('N1', 4), node('N2', 5)],
    links: [link('S', 'E', 1), link('E', 'D', 1), link('S', 'N1', 1), link('N1', 'D', 3), link('S', 'N2', 1), link('N2', 'D', 2)],
  });
  assert.deepEqual(backup(twoWays, 'S', 'D'), ['N2', 'S-N2', [21003], undefined, true]);
});

test('a node protects an interface when everything it sends out of it on a node SID has a backup', async () => {
  const { computeDesiredStates } = await import('./compute.js');
  const { fixtureInput } = await import('./fixture.js');
  const input = fixtureInput();
  const pe1 = (i: typeof input) => computeDesiredStates(i, new Map(), { generation: 1 }).get('PE1')!.state;
  // The fixture is a tree: nothing is protected.
  assert.equal(protectsInterface(pe1(input), 'core0'), false);
  // With PE1 - PE3 direct, what leaves over it (PE3's SID and path) is backed up over P1, and what leaves over core0 over PE3 (D(PE3,x) < 5 + D(PE1,x)).
  const direct = { ...input, inventory: { ...input.inventory, links: [...input.inventory.links, { a: { node: 'PE1', interface: 'core9', address: '10.0.9.0/31' }, b: { node: 'PE3', interface: 'core9', address: '10.0.9.1/31' }, metric: 5 }] } };
  assert.equal(protectsInterface(pe1(direct), 'core9'), true);
  assert.equal(protectsInterface(pe1(direct), 'core0'), true);
  // PE2 (behind P2) still has a single way out.
  assert.equal(protectsInterface(computeDesiredStates(direct, new Map(), { generation: 1 }).get('PE2')!.state, 'core0'), false);
  assert.equal(protectsInterface(pe1(direct), 'cust0'), true, 'no node SID goes out of a CE port');
});
