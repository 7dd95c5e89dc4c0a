import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology } from './topology.js';
import { screenInventory } from './inventory-screen.js';
import type { Inventory, InventoryNode } from './types.js';

const srgb = { base: 16000, size: 8000 };
const node = (id: string, n: number, extra: Partial<InventoryNode> = {}): InventoryNode => ({
  id,
  role: 'PE',
  routerId: `192.0.2.${n}`,
  srgb,
  nodeSidIndex: n,
  transport: 'sr',
  ...extra,
});
const link = (a: string, b: string, itf = 'eth0') => ({ a: { node: a, interface: itf }, b: { node: b, interface: itf }, metric: 10 });

test('a node whose loopback or router id cannot be parsed is left out with the reason, and its links with it', () => {
  const inventory: Inventory = {
    nodes: [node('pe1', 1), node('bad', 2, { loopback: 'fe80::1%eth0' }), node('worse', 3, { routerId: 'garbage' }), node('pe2', 4)],
    links: [link('pe1', 'pe2'), link('pe1', 'bad', 'eth1')],
  };
  assert.throws(() => buildTopology(inventory), /is not an IPv4 or IPv6 address/);
  const { inventory: usable, rejected } = screenInventory(inventory, ['pe1-pe2', 'pe1-bad']);
  assert.deepEqual(usable.nodes.map((n) => n.id), ['pe1', 'pe2']);
  assert.deepEqual(usable.links, [inventory.links[0]]);
  assert.deepEqual(rejected, [
    { kind: 'node', id: 'bad', reason: "loopback 'fe80::1%eth0' is not an IPv4 or IPv6 address" },
    { kind: 'node', id: 'worse', reason: 'routerId: must be an IPv4 address' },
    { kind: 'link', id: 'pe1-bad', reason: "node 'bad' is left out: loopback 'fe80::1%eth0' is not an IPv4 or IPv6 address", becauseOf: 'bad' },
  ]);
  assert.equal(buildTopology(usable).nodes.length, 2, 'what is left is an inventory the topology accepts');
});

test('conflicts leave out the later node in id order, whatever the input order', () => {
  const nodes = [node('pe2', 1, { nodeSidIndex: 7 }), node('pe1', 2, { nodeSidIndex: 7 }), node('pe3', 3, { routerId: '192.0.2.2' })];
  for (const order of [nodes, [...nodes].reverse()]) {
    const { rejected } = screenInventory({ nodes: order, links: [] });
    assert.deepEqual(
      rejected.map((r) => [r.id, r.reason]),
      [
        ['pe2', "node SID index 7 is also node 'pe1''s"],
        ['pe3', "address 192.0.2.2 is also node 'pe1''s"],
      ].sort((a, b) => order.findIndex((n) => n.id === a[0]) - order.findIndex((n) => n.id === b[0])),
    );
  }
});

test('a node SID index outside the SRGB leaves out the node that cannot translate it, not every other', () => {
  const { inventory, rejected } = screenInventory({
    nodes: [node('pe1', 1), node('pe2', 2, { nodeSidIndex: 500 }), node('small', 3, { srgb: { base: 16000, size: 100 } }), node('self', 4, { nodeSidIndex: 150, srgb: { base: 16000, size: 100 } })],
    links: [],
  });
  assert.deepEqual(inventory.nodes.map((n) => n.id), ['pe1', 'pe2']);
  assert.deepEqual(rejected.map((r) => [r.id, r.reason]), [
    ['small', "its SRGB (size 100) cannot hold node SID index 500 of 'pe2'"],
    ['self', 'node SID index 150 is outside its own SRGB (size 100)'],
  ]);
});

test('a bad link is left out alone, and so is the second link on one interface', () => {
  const { inventory, rejected } = screenInventory(
    {
      nodes: [node('pe1', 1), node('pe2', 2), node('pe3', 3)],
      links: [link('pe1', 'pe2'), { ...link('pe2', 'pe3', 'eth1'), metric: 0 }, link('pe1', 'pe3'), { a: { node: 'pe2', interface: 'eth2', address: 'x/31' }, b: { node: 'pe3', interface: 'eth2' }, metric: 1 }],
    },
    ['a', 'b', 'c', 'd'],
  );
  assert.deepEqual(inventory.links.map((l) => `${l.a.node}-${l.b.node}`), ['pe1-pe2']);
  assert.deepEqual(rejected.map((r) => r.id), ['b', 'c', 'd']);
  assert.match(rejected[0]!.reason, /integer from 1/);
  assert.equal(rejected[1]!.reason, "interface 'eth0' of 'pe1' is on another link");
  assert.match(rejected[2]!.reason, /x\/31/);
});
