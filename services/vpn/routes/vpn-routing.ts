// The BGP side of a reconcile: define a node's VRFs, originate its sites'
// routes, and read back what BGP selected into its VRFs. Per node, because
// every managed PE is its own VPN speaker.
//
// TODO(issue 5, bgp VRF RPCs): a `BgpVpnRouting` over BgpService. The VRF
// RPCs (AddVrf/UpdateVrf/DeleteVrf, AddVrfPath/DeleteVrfPath, ListVrfPaths,
// WatchVrfRoutes) exist in proto/l3vpn/v1/bgp.proto but are still being
// written, and three things must be settled before an adapter can be right:
//   1. one speaker holds VRFs of many PEs, so VrfConfig.name must carry the
//      node ("<vpn>@<node>") and the exported next hop must be that PE's
//      loopback, not the speaker's router id (VrfConfig has no next-hop
//      field yet);
//   2. per-CE and per-prefix VrfConfig take a label_block and pick labels
//      themselves, while here those labels come from the labels service by
//      owner (they are in the LFIB the agent installs): AddVrfPath needs
//      the label, or the block must be exactly the allocated labels;
//   3. WatchVrfRoutes should wake the reconcile of the importing nodes
//      (today the worker queues them itself, see reconciler.ts).
// Until then `SimulatedVpnRouting` answers what BGP would select.
import type { SelectedVpnRoute } from '../../common/desired-state/index.js';

export interface VrfDefinition {
  name: string;
  vpn: string;
  rd: string;
  importRouteTargets: string[];
  exportRouteTargets: string[];
  /** The per-VRF label; absent when every exported route has its own. */
  label?: number;
}

/** A route the node's VRF exports: a site's connected subnet or static prefix with the label it is advertised with. */
export interface OriginatedRoute {
  prefix: string;
  /** The CE address behind the prefix; empty for a connected subnet. */
  ceNextHop: string;
  label: number;
}

export interface VpnRouting {
  /** Creates or replaces the VRF's definition (RD, route targets, label). */
  defineVrf(node: string, vrf: VrfDefinition): Promise<void>;
  /** Withdraws every route of the VRF and removes it. Idempotent. */
  deleteVrf(node: string, vrf: string): Promise<void>;
  /** Makes `routes` the VRF's complete set of originated routes: adds and replaces them, withdraws the others. */
  originate(node: string, vrf: string, routes: OriginatedRoute[]): Promise<void>;
  /** Withdraws some originated routes. Idempotent. */
  withdraw(node: string, vrf: string, prefixes: string[]): Promise<void>;
  /** The VPN routes BGP selected into the node's VRFs (its own exports excluded). */
  selectedRoutes(node: string): Promise<SelectedVpnRoute[]>;
}
