// Next-hop resolvers for the decision process (RFC 4271 §9.1.2: a route
// whose NEXT_HOP cannot be resolved is not eligible; §9.1.2.2 e: the
// interior cost to it breaks ties). The real one belongs to whoever knows
// the IGP or the transport (the inventory's shortest paths, an agent's
// report); these cover tests, a plain route reflector and static setups.
import type { DecisionPath, NextHopResolver } from './decision.js';

/** Every next hop reachable at cost 0: a route reflector that does not forward. */
export const REACHABLE: NextHopResolver = Object.freeze({ cost: () => 0 });

/**
 * Costs by next-hop address. Local paths and paths without a next hop
 * (next-hop-self) cost 0. An address not in the table costs `defaultCost`,
 * or is unreachable when `defaultCost` is undefined.
 */
export class StaticNextHopResolver implements NextHopResolver {
  private readonly costs = new Map<string, number>();

  constructor(private defaultCost: number | undefined = undefined) {}

  /** Sets (or, with undefined, removes) one address's cost. Returns whether it changed. */
  set(address: string, cost: number | undefined): boolean {
    const old = this.costs.get(address);
    if (cost === undefined) return this.costs.delete(address);
    this.costs.set(address, cost);
    return old !== cost;
  }

  setDefault(cost: number | undefined): void {
    this.defaultCost = cost;
  }

  cost(path: DecisionPath): number | undefined {
    const nh = path.nextHop;
    if (path.source === 'local' || nh === undefined) return 0;
    const c = this.costs.get(nh.address);
    return c === undefined ? this.defaultCost : c;
  }
}
