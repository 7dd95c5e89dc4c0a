// The provider core as the controller sees it: validated nodes and links,
// and the shortest paths of the segment-routing domain.
//
// The SR domain is the nodes whose transport is 'sr' and the links between
// two of them; a node with 'external' transport runs its own LDP/SR, so SR
// paths never cross it. For every destination with a node SID the
// computation runs one Dijkstra (metrics are symmetric, so distances to a
// destination are distances from it) and every node then picks its next
// hop towards the destination among the neighbours on a shortest path.
// Ties are broken by the neighbour's node id, then by the local interface
// name (code-unit order), so the result never depends on input order. One
// next hop per destination: no ECMP.
import { canonicalAddress, compareStrings, parseAddress, parseInterfaceAddress } from './prefix.js';
import {
  DesiredStateError,
  MAX_LABEL,
  MAX_METRIC,
  MIN_UNRESERVED_LABEL,
  type Inventory,
  type InventoryNode,
} from './types.js';

export interface TopologyNode {
  readonly id: string;
  readonly index: number;
  readonly role: 'PE' | 'P';
  readonly routerId: string;
  readonly loopback: string;
  readonly srgbBase: number;
  readonly srgbSize: number;
  readonly sidIndex: number | undefined;
  readonly transport: 'sr' | 'external';
  /** Core-facing interface names, for conflict checks with sites. */
  readonly coreInterfaces: ReadonlySet<string>;
  /** Every inventory link of the node, up or down, by local interface. */
  readonly coreLinks: readonly TopologyCoreLink[];
}

/** One end's view of an inventory link. */
export interface TopologyCoreLink {
  readonly link: string;
  readonly localInterface: string;
  /** With its length; '' when unnumbered. */
  readonly localAddress: string;
  readonly neighbor: string;
  readonly neighborInterface: string;
  /** Without its length; '' when unnumbered. */
  readonly neighborAddress: string;
}

/** One direction of a link, seen from its local node. */
export interface Adjacency {
  readonly neighbor: number;
  readonly localInterface: string;
  /** The neighbour's address on the link (no length), or "" when unnumbered. */
  readonly neighborAddress: string;
  readonly metric: number;
}

export interface NextHop {
  readonly adjacency: Adjacency;
  /** Total metric to the destination. */
  readonly metric: number;
}

export interface Topology {
  readonly nodes: readonly TopologyNode[];
  readonly byId: ReadonlyMap<string, TopologyNode>;
  /** Canonical loopback and router-id addresses -> node. */
  readonly byAddress: ReadonlyMap<string, TopologyNode>;
  /** SR adjacencies of each node (by index), sorted by (neighbour id, local interface). */
  readonly adjacencies: readonly (readonly Adjacency[])[];
  /** The next hop from `from` towards `to` in the SR domain; undefined if unreachable, not SR, or the same node. */
  nextHop(from: TopologyNode, to: TopologyNode): NextHop | undefined;
  /** The label `at` uses for `dest`'s node SID: SRGB(at).base + index(dest). */
  sidLabel(at: TopologyNode, dest: TopologyNode): number;
  /** The shortest-path metric between two nodes in the SR domain; Infinity when unreachable (or either is not SR). */
  distance(from: TopologyNode, to: TopologyNode): number;
}

export function checkInteger(v: unknown, min: number, max: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new DesiredStateError(`must be an integer from ${min} to ${max}`, field);
  }
  return v;
}

function checkName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new DesiredStateError('must be a non-empty string', field);
  return v;
}

export function validateNode(n: InventoryNode, i: number): Omit<TopologyNode, 'index' | 'coreInterfaces' | 'coreLinks'> {
  const f = `inventory.nodes[${i}]`;
  const id = checkName(n.id, `${f}.id`);
  if (n.role !== 'PE' && n.role !== 'P') throw new DesiredStateError("must be 'PE' or 'P'", `${f}.role`);
  if (n.transport !== 'sr' && n.transport !== 'external') {
    throw new DesiredStateError("must be 'sr' or 'external'", `${f}.transport`);
  }
  const rid = parseAddress(n.routerId ?? '');
  if (!rid || rid.family !== 4) throw new DesiredStateError('must be an IPv4 address', `${f}.routerId`);
  const routerId = canonicalAddress(n.routerId);
  const loopback = n.loopback === undefined ? routerId : canonicalAddress(n.loopback, `${f}.loopback`);
  const srgbBase = checkInteger(n.srgb?.base, MIN_UNRESERVED_LABEL, MAX_LABEL, `${f}.srgb.base`);
  const srgbSize = checkInteger(n.srgb?.size, 1, MAX_LABEL - srgbBase + 1, `${f}.srgb.size`);
  const sidIndex = n.nodeSidIndex === undefined ? undefined : checkInteger(n.nodeSidIndex, 0, MAX_LABEL, `${f}.nodeSidIndex`);
  return { id, role: n.role, routerId, loopback, srgbBase, srgbSize, sidIndex, transport: n.transport };
}

/** A binary min-heap of (distance, node index). */
class Heap {
  private readonly d: number[] = [];
  private readonly v: number[] = [];
  get size(): number {
    return this.d.length;
  }
  push(dist: number, node: number): void {
    let i = this.d.length;
    this.d.push(dist);
    this.v.push(node);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.d[p]! <= dist) break;
      this.d[i] = this.d[p]!;
      this.v[i] = this.v[p]!;
      i = p;
    }
    this.d[i] = dist;
    this.v[i] = node;
  }
  pop(): [number, number] {
    const topD = this.d[0]!;
    const topV = this.v[0]!;
    const lastD = this.d.pop()!;
    const lastV = this.v.pop()!;
    const n = this.d.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.d[r]! < this.d[l]! ? r : l;
        if (this.d[c]! >= lastD) break;
        this.d[i] = this.d[c]!;
        this.v[i] = this.v[c]!;
        i = c;
      }
      this.d[i] = lastD;
      this.v[i] = lastV;
    }
    return [topD, topV];
  }
}

/** Validates the inventory and computes the SR domain's shortest paths. Throws DesiredStateError. */
export function buildTopology(inventory: Inventory): Topology {
  const raw = (inventory.nodes ?? []).map(validateNode);
  // Index nodes in id order so that everything derived is independent of input order.
  const order = raw.map((_, i) => i).sort((x, y) => compareStrings(raw[x]!.id, raw[y]!.id));
  const coreInterfaces = raw.map(() => new Set<string>());
  const coreLinks = raw.map((): TopologyCoreLink[] => []);
  const nodes: TopologyNode[] = order.map((src, index) => ({ ...raw[src]!, index, coreInterfaces: coreInterfaces[src]!, coreLinks: coreLinks[src]! }));
  const byId = new Map<string, TopologyNode>();
  const byAddress = new Map<string, TopologyNode>();
  const sids = new Map<number, TopologyNode>();
  for (const n of nodes) {
    if (byId.has(n.id)) throw new DesiredStateError(`duplicate node id '${n.id}'`, 'inventory.nodes');
    byId.set(n.id, n);
    for (const a of new Set([n.routerId, n.loopback])) {
      const other = byAddress.get(a);
      if (other) throw new DesiredStateError(`address ${a} of node '${n.id}' is also node '${other.id}''s`, 'inventory.nodes');
      byAddress.set(a, n);
    }
    if (n.sidIndex !== undefined && n.transport === 'sr') {
      const other = sids.get(n.sidIndex);
      if (other) throw new DesiredStateError(`node SID index ${n.sidIndex} of '${n.id}' is also '${other.id}''s`, 'inventory.nodes');
      sids.set(n.sidIndex, n);
    }
  }
  // A node SID index must fit every SR node's SRGB: any of them may have to translate it.
  for (const n of nodes) {
    if (n.transport !== 'sr') continue;
    for (const [index, dest] of sids) {
      if (index >= n.srgbSize) {
        throw new DesiredStateError(`node SID index ${index} of '${dest.id}' is outside the SRGB of '${n.id}' (size ${n.srgbSize})`, 'inventory.nodes');
      }
    }
  }

  const adjacencies: Adjacency[][] = nodes.map(() => []);
  (inventory.links ?? []).forEach((link, i) => {
    const f = `inventory.links[${i}]`;
    const metric = checkInteger(link.metric, 1, MAX_METRIC, `${f}.metric`);
    const ends = [link.a, link.b].map((end, k) => {
      const ef = `${f}.${k === 0 ? 'a' : 'b'}`;
      const node = byId.get(end?.node);
      if (!node) throw new DesiredStateError(`unknown node '${end?.node}'`, `${ef}.node`);
      const ifName = checkName(end.interface, `${ef}.interface`);
      const ifs = node.coreInterfaces as Set<string>;
      if (ifs.has(ifName)) throw new DesiredStateError(`interface '${ifName}' of '${node.id}' is on two links`, `${ef}.interface`);
      ifs.add(ifName);
      const withLength = end.address === undefined || end.address === '' ? '' : end.address;
      const address = withLength ? parseInterfaceAddress(withLength, `${ef}.address`).address : '';
      return { node, ifName, address, withLength };
    });
    const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]];
    if (a.node === b.node) throw new DesiredStateError('a link must join two different nodes', f);
    const id = link.id ?? `${a.node.id}:${a.ifName}-${b.node.id}:${b.ifName}`;
    for (const [x, y] of [[a, b], [b, a]] as const) {
      (x.node.coreLinks as TopologyCoreLink[]).push({
        link: id,
        localInterface: x.ifName,
        localAddress: x.withLength,
        neighbor: y.node.id,
        neighborInterface: y.ifName,
        neighborAddress: y.address,
      });
    }
    // Operationally down: watched (above) but not used by any path.
    if (link.down) return;
    if (a.node.transport !== 'sr' || b.node.transport !== 'sr') return;
    adjacencies[a.node.index]!.push({ neighbor: b.node.index, localInterface: a.ifName, neighborAddress: b.address, metric });
    adjacencies[b.node.index]!.push({ neighbor: a.node.index, localInterface: b.ifName, neighborAddress: a.address, metric });
  });
  for (const list of coreLinks) list.sort((x, y) => compareStrings(x.localInterface, y.localInterface));
  for (const list of adjacencies) {
    list.sort((x, y) => x.neighbor - y.neighbor || compareStrings(x.localInterface, y.localInterface));
  }

  // Distances to each SR destination, computed on first use.
  const distTo = new Map<number, Float64Array>();
  const distances = (dest: number): Float64Array => {
    let dist = distTo.get(dest);
    if (dist) return dist;
    dist = new Float64Array(nodes.length).fill(Infinity);
    dist[dest] = 0;
    const heap = new Heap();
    heap.push(0, dest);
    while (heap.size > 0) {
      const [d, u] = heap.pop();
      if (d > dist[u]!) continue;
      for (const adj of adjacencies[u]!) {
        const nd = d + adj.metric;
        if (nd < dist[adj.neighbor]!) {
          dist[adj.neighbor] = nd;
          heap.push(nd, adj.neighbor);
        }
      }
    }
    distTo.set(dest, dist);
    return dist;
  };

  return {
    nodes,
    byId,
    byAddress,
    adjacencies,
    nextHop(from, to) {
      if (from === to || from.transport !== 'sr' || to.transport !== 'sr') return undefined;
      const dist = distances(to.index);
      const total = dist[from.index]!;
      if (total === Infinity) return undefined;
      // Adjacencies are sorted by (neighbour id, interface): the first on a shortest path wins.
      for (const adj of adjacencies[from.index]!) {
        if (adj.metric + dist[adj.neighbor]! === total) return { adjacency: adj, metric: total };
      }
      return undefined;
    },
    distance(from, to) {
      if (from.transport !== 'sr' || to.transport !== 'sr') return Infinity;
      return distances(to.index)[from.index]!;
    },
    sidLabel(at, dest) {
      if (dest.sidIndex === undefined) throw new Error(`node '${dest.id}' has no node SID`);
      return at.srgbBase + dest.sidIndex;
    },
  };
}
