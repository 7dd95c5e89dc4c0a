// Soft-driver nodes joined by core links: follows a packet from node to
// node and records each hop's label stack, the way a capture on every core
// link would. For tests and the lab.
import type { Forwarding, Packet, SoftDriver } from './soft.js';

export interface LinkEndpoint {
  node: string;
  interface: string;
}

export interface Hop {
  node: string;
  /** The packet as it arrived. */
  arrived: Packet;
  decision: Forwarding;
}

export interface Trace {
  hops: Hop[];
  /** Where the packet ended: a non-core interface (a CE), a drop, or the node's own external transport. */
  end: Forwarding & { node: string };
}

const endKey = (e: LinkEndpoint) => `${e.node}\u0000${e.interface}`;

export class SoftNetwork {
  private readonly peers = new Map<string, LinkEndpoint>();

  constructor(
    private readonly nodes: ReadonlyMap<string, SoftDriver>,
    links: readonly { a: LinkEndpoint; b: LinkEndpoint }[],
  ) {
    for (const { a, b } of links) {
      this.peers.set(endKey(a), b);
      this.peers.set(endKey(b), a);
    }
  }

  /** Sends `packet` into `node` and follows it until it leaves the core or is dropped. */
  send(node: string, packet: Packet, maxHops = 64): Trace {
    const hops: Hop[] = [];
    let at = node;
    let p = packet;
    for (let i = 0; i < maxHops; i++) {
      const driver = this.nodes.get(at);
      if (!driver) return { hops, end: { node: at, action: 'drop', reason: `no node ${at}` } };
      const decision = driver.forward(p);
      hops.push({ node: at, arrived: p, decision });
      if (decision.action !== 'forward') return { hops, end: { ...decision, node: at } };
      const peer = this.peers.get(endKey({ node: at, interface: decision.interface }));
      if (!peer) return { hops, end: { ...decision, node: at } };
      at = peer.node;
      p = { interface: peer.interface, vlan: decision.vlan, labels: decision.labels, destination: p.destination };
    }
    return { hops, end: { node: at, action: 'drop', reason: `more than ${maxHops} hops (loop?)` } };
  }
}
