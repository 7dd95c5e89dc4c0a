// Backup next hops computed in advance, for fast reroute at the point of
// local repair: what node S does with a packet for destination D the
// moment the link to its primary next hop E fails, before the controller
// has recomputed anything. Pure; distances are the topology's.
//
// 1. A loop-free alternate (RFC 5286 §3.5): a neighbour N, over another
//    link than the primary one, with D(N,D) < D(N,S) + D(S,D) (inequality
//    1), so N's own shortest path to D never comes back through S. It is
//    node-protecting when also D(N,D) < D(N,E) + D(E,D) (inequality 3):
//    it avoids E, not only the link to E. Preferred: node-protecting, then
//    the lowest metric through N, then the adjacency order (neighbour id,
//    interface) of the primary's tie-break.
// 2. When no neighbour qualifies (a ring, where the far end of a cut link
//    sees none), a remote LFA (RFC 7490 §5.2), with segment routing as the
//    repair tunnel: a node Y (the PQ node) with a node SID that some
//    neighbour N reaches without passing through S (extended P-space:
//    D(N,Y) < D(N,S) + D(S,Y)) and that reaches D without passing through S
//    (Q-space, taken per destination: D(Y,D) < D(Y,S) + D(S,D)). The packet
//    goes to N under [N's label of Y, Y's label of D]. Node protection is
//    the same two inequalities with E in place of S. Preferred like LFAs,
//    then by Y's id.
// 3. Otherwise no backup: the controller's recomputation repairs.
import type { NodeDesiredState } from '../gen/proto/l3vpn/v1/agent.js';
import type { Adjacency, Topology, TopologyNode } from './topology.js';

export interface Alternate {
  /** The adjacency of S towards the backup neighbour N. */
  readonly adjacency: Adjacency;
  /** The PQ node of a remote LFA; undefined for a plain LFA. */
  readonly repair: TopologyNode | undefined;
  readonly nodeProtecting: boolean;
  /** Metric S -> N (-> Y) -> D. */
  readonly metric: number;
  /** The stack that replaces S's label of D, outermost first; empty: pop (N is D). */
  readonly labels: readonly number[];
}

const better = (a: Alternate, b: Alternate | undefined): boolean =>
  !b || (a.nodeProtecting !== b.nodeProtecting ? a.nodeProtecting : a.metric < b.metric);

/** The backup of `from` towards `to`'s node SID, or undefined when there is no primary path, no node SID or no alternate. */
export function alternate(topo: Topology, from: TopologyNode, to: TopologyNode): Alternate | undefined {
  if (to.sidIndex === undefined) return undefined;
  const primary = topo.nextHop(from, to);
  if (!primary) return undefined;
  const e = topo.nodes[primary.adjacency.neighbor]!;
  const d = (x: TopologyNode, y: TopologyNode) => topo.distance(x, y);
  const others = topo.adjacencies[from.index]!.filter((adj) => adj !== primary.adjacency);
  const dSD = primary.metric;

  let best: Alternate | undefined;
  for (const adj of others) {
    const n = topo.nodes[adj.neighbor]!;
    const dND = d(n, to);
    if (!(dND < d(n, from) + dSD)) continue;
    const candidate: Alternate = {
      adjacency: adj,
      repair: undefined,
      nodeProtecting: dND < d(n, e) + d(e, to),
      metric: adj.metric + dND,
      labels: n === to ? [] : [topo.sidLabel(n, to)],
    };
    if (better(candidate, best)) best = candidate;
  }
  if (best) return best;

  // Remote LFA: PQ nodes in node-id order (topology order), each through the first neighbour that reaches it.
  for (const y of topo.nodes) {
    if (y === from || y === to || y.transport !== 'sr' || y.sidIndex === undefined) continue;
    const dYD = d(y, to);
    if (!(dYD < d(y, from) + dSD)) continue; // not in Q-space
    for (const adj of others) {
      const n = topo.nodes[adj.neighbor]!;
      const dNY = d(n, y);
      if (!(dNY < d(n, from) + d(from, y))) continue; // not in N's P-space
      const candidate: Alternate = {
        adjacency: adj,
        repair: y,
        nodeProtecting: dYD < d(y, e) + d(e, to) && dNY < d(n, e) + d(e, y),
        metric: adj.metric + dNY + dYD,
        labels: [...(n === y ? [] : [topo.sidLabel(n, y)]), topo.sidLabel(y, to)],
      };
      if (better(candidate, best)) best = candidate;
    }
  }
  return best;
}

/**
 * Whether a node's state has a backup for everything it sends out of
 * `itf` on a node SID (LFIB swap and pop, transport paths): when that link
 * fails, its own switch repairs all of it locally, so it may delay taking
 * the controller's new state (RFC 8333) without losing traffic.
 */
export function protectsInterface(state: NodeDesiredState, itf: string): boolean {
  for (const e of state.lfibEntries) {
    const a = e.action;
    if ((a?.$case === 'swap' || a?.$case === 'pop') && a.value.outInterface === itf && !a.value.backup) return false;
  }
  return state.transportPaths.every((p) => p.outInterface !== itf || p.backup !== undefined);
}
