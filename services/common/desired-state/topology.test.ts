import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology } from './topology.js';
import type { Inventory, InventoryNode } from './types.js';

const node = (id: string, i: number, transport: 'sr' | 'external' = 'sr'): InventoryNode => ({
  id,
  role: 'P',
  routerId: `10.255.0.${i}`,
  srgb: { base: 16000, size: 8000 },
  nodeSidIndex: i,
  transport,
});
const link = (a: string, ai: string, b: string, bi: string, metric: number) => ({
  a: { node: a, interface: ai, address: `10.${a.charCodeAt(0)}.${b.charCodeAt(0)}.0/31` },
  b: { node: b, interface: bi, address: `10.${a.charCodeAt(0)}.${b.charCodeAt(0)}.1/31` },
  metric,
});

// A square with a diagonal:  A --1-- B
//                            |       |
//                            1       1
//                            |       |
//                            C --1-- D      and A --5-- D
function square(extra: Inventory['links'] = []): Inventory {
  return {
    nodes: [node('D', 4), node('C', 3), node('B', 2), node('A', 1)],
    links: [link('C', 'c-d', 'D', 'd-c', 1), link('A', 'a-c', 'C', 'c-a', 1), link('A', 'a-b', 'B', 'b-a', 1), link('B', 'b-d', 'D', 'd-b', 1), link('A', 'a-d', 'D', 'd-a', 5), ...extra],
  };
}

test('shortest paths by IGP metric, equal costs decided by the lowest neighbour id then interface', () => {
  const t = buildTopology(square());
  const at = (id: string) => t.byId.get(id)!;
  const nh = (from: string, to: string) => {
    const h = t.nextHop(at(from), at(to));
    return h && [t.nodes[h.adjacency.neighbor]!.id, h.adjacency.localInterface, h.metric];
  };
  // A -> D: via B or C (2), not the direct link (5); B < C.
  assert.deepEqual(nh('A', 'D'), ['B', 'a-b', 2]);
  assert.deepEqual(nh('D', 'A'), ['B', 'd-b', 2]);
  assert.deepEqual(nh('A', 'B'), ['B', 'a-b', 1]);
  assert.equal(nh('A', 'A'), undefined);
  // Input order does not matter.
  const reversed = buildTopology({ nodes: [...square().nodes].reverse(), links: [...square().links].reverse() });
  const h = reversed.nextHop(reversed.byId.get('A')!, reversed.byId.get('D')!)!;
  assert.equal(h.adjacency.localInterface, 'a-b');
  // Parallel links: the lower interface name wins.
  const parallel = buildTopology(square([link('A', 'a-b0', 'B', 'b-a0', 1)]));
  assert.equal(parallel.nextHop(parallel.byId.get('A')!, parallel.byId.get('B')!)!.adjacency.localInterface, 'a-b');
  // A cheaper link changes the path.
  const cheap = buildTopology({ ...square(), links: square().links.map((l) => (l.a.interface === 'a-d' ? { ...l, metric: 1 } : l)) });
  assert.equal(cheap.nextHop(cheap.byId.get('A')!, cheap.byId.get('D')!)!.adjacency.localInterface, 'a-d');
});

test('SR paths never cross an external node; unreachable destinations have no next hop', () => {
  const inv = square();
  const t = buildTopology({ ...inv, nodes: inv.nodes.map((n) => (n.id === 'B' ? { ...n, transport: 'external' as const } : n)) });
  const at = (id: string) => t.byId.get(id)!;
  assert.equal(t.nextHop(at('A'), at('D'))!.adjacency.localInterface, 'a-c');
  assert.equal(t.nextHop(at('A'), at('B')), undefined);
  const island = buildTopology({ nodes: [node('A', 1), node('Z', 9)], links: [] });
  assert.equal(island.nextHop(island.byId.get('A')!, island.byId.get('Z')!), undefined);
  assert.equal(t.sidLabel(at('A'), at('D')), 16004);
});

test('inventory errors', () => {
  assert.throws(() => buildTopology({ nodes: [node('A', 1), node('A', 2)], links: [] }), /duplicate node id/);
  assert.throws(() => buildTopology({ nodes: [node('A', 1), { ...node('B', 2), routerId: '10.255.0.1' }], links: [] }), /also node 'A'/);
  assert.throws(() => buildTopology({ nodes: [node('A', 1)], links: [link('A', 'x', 'Q', 'y', 1)] }), /unknown node 'Q'/);
  assert.throws(() => buildTopology({ nodes: [node('A', 1), node('B', 2)], links: [link('A', 'x', 'B', 'y', 0)] }), /metric/);
  assert.throws(() => buildTopology({ nodes: [node('A', 1), node('B', 2)], links: [link('A', 'x', 'B', 'y', 1), link('A', 'x', 'B', 'z', 1)] }), /on two links/);
  assert.throws(() => buildTopology({ nodes: [{ ...node('A', 1), srgb: { base: 3, size: 10 } }], links: [] }), /srgb\.base/);
  assert.throws(() => buildTopology({ nodes: [{ ...node('A', 1), routerId: '2001:db8::1' }], links: [] }), /routerId/);
});
