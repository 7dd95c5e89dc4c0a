// The BGP side of a reconcile: define a node's VRFs, originate its sites'
// routes, and read back what BGP selected into its VRFs. Per node, because
// every managed PE is its own VPN speaker (in the bgp service, one VRF per
// VPN and PE). The service runs BgpVpnRouting over the bgp service; tests
// without one inject a routing that predicts BGP from PostgreSQL
// (test/vpn/simulated-routing.ts). Reconciles and dry-run plans read the
// same instance.
import type { LabelModeName, SelectedVpnRoute } from '../../common/desired-state/index.js';
import type { CePeer } from '../reconcile/ce-peer-intent.js';
import type { CeSessionStatus } from './bgp-ce-peers.js';

export interface VrfDefinition {
  name: string;
  vpn: string;
  rd: string;
  importRouteTargets: string[];
  exportRouteTargets: string[];
  /** The per-VRF label; absent when every exported route has its own. */
  label?: number;
  /** The VRF's IPv6 label (VPN-IPv6 routes the speaker labels itself carry it); absent: `label` for both. */
  ipv6Label?: number;
  labelMode: LabelModeName;
  /** The next hop its VPN routes carry: the PE's loopback. */
  nextHop: string;
  /** The VPN's maxRoutesPerVrf: the most destinations the VRF holds, both families, local and imported (the bgp service counts them). */
  maxRoutes?: number;
  /** Routes learnt from the VRF's CEs are exported only for the prefixes setCeExportsReady names (the egress PE installed what they need). */
  gateCeExports?: boolean;
}

/** A route the node's VRF exports: a site's connected subnet or static prefix with the label it is advertised with. */
export interface OriginatedRoute {
  prefix: string;
  /** The CE address behind the prefix; empty for a connected subnet. */
  ceNextHop: string;
  label: number;
  /** Site of origin (route origin extended communities, RFC 4364 §7) of the site the route belongs to. */
  routeOrigins?: string[];
  /** LOCAL_PREF of the VPN route: the access's preference among a multi-homed site's PEs. Absent: the speaker's default. */
  localPref?: number;
}

/** A VRF this controller keeps on the speaker: the VRF of VPN `vpn` on PE `node`. */
export interface HeldVrf {
  vpn: string;
  node: string;
}

export interface VpnRouting {
  /**
   * selectedRoutes() is predicted from the intent, not learned from a
   * speaker: no route event tells the PEs importing a node's routes that they
   * changed, so the reconcile queues them itself.
   */
  readonly predicted: boolean;
  /** Creates or replaces the VRF's definition (RD, route targets, label). */
  defineVrf(node: string, vrf: VrfDefinition): Promise<void>;
  /** Withdraws every route of the VRF and removes it. Idempotent; never removes a VRF this controller does not own. */
  deleteVrf(node: string, vrf: string): Promise<void>;
  /**
   * The VRFs this controller holds on the speaker now, every node's or one
   * node's, whatever the intent says (the sweep compares them with it).
   * Throws while the speaker cannot answer.
   */
  heldVrfs(node?: string): Promise<HeldVrf[]>;
  /** Makes `routes` the VRF's complete set of originated routes: adds and replaces them, withdraws the others. Says whether anything changed. */
  originate(node: string, vrf: string, routes: OriginatedRoute[]): Promise<boolean>;
  /** Withdraws some originated routes. Idempotent. */
  withdraw(node: string, vrf: string, prefixes: string[]): Promise<void>;
  /** The labels the node's VRFs advertise their originated routes with now. */
  advertisedLabels(node: string): Promise<Set<number>>;
  /** The VPN routes BGP selected into the node's VRFs (its own exports excluded). */
  selectedRoutes(node: string): Promise<SelectedVpnRoute[]>;
  /**
   * Makes `peers` the node's complete set of PE-CE eBGP sessions (relayed
   * peers of its VRFs, routes/bgp-ce-peers.ts). Absent on a routing without a
   * speaker: nobody would talk BGP to the CEs.
   */
  reconcilePeers?(node: string, peers: CePeer[]): Promise<void>;
  /** A gated VRF's (VrfDefinition.gateCeExports) complete set of CE-learnt prefixes that may be exported now. */
  setCeExportsReady?(node: string, vrf: string, prefixes: string[]): Promise<void>;
  /** The node's PE-CE sessions as the speaker reports them now (site status). Throws while the speaker cannot answer. */
  ceSessions?(node: string): Promise<CeSessionStatus[]>;
  /** The VRFs (of every node) some relayed peer of this controller is in, for the sweep. */
  heldPeerVrfs?(): Promise<HeldVrf[]>;
}
