// What to use where an allocation has not been made yet. The worker
// allocates first, so it never needs any (`none`); a dry run allocates
// nothing and stands in placeholders (plan.ts), reported as "new".
import type { Vpn, Vrf, VrfAllocation } from '../domain/node-intent.js';

export interface MissingValues {
  /** The VPN with route targets that are not allocated yet filled in. */
  vpn(vpn: Vpn): Vpn;
  /** The VRF's allocation, or one standing in for it. */
  vrf(vrf: Vrf, allocation: VrfAllocation | undefined): VrfAllocation | undefined;
  /** The node's labels with those of `wanted` owners it does not hold yet filled in. */
  labels(node: string, held: Map<string, number>, wanted: string[]): Map<string, number>;
}

export const none: MissingValues = {
  vpn: (vpn) => vpn,
  vrf: (_vrf, allocation) => allocation,
  labels: (_node, held) => held,
};
