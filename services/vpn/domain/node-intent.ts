// Everything one node's desired state depends on, in the domain's own
// terms: the intent resources as the API shows them (types.ts) plus what
// the reconcile adds to a VRF (its allocation). The store reads it
// (store/node-intent-store.ts); the mapping to the desired-state
// computation (reconcile/desired-input.ts) consumes it.
import type { LinkView, NodeView, VpnView } from '../intent/types.js';
import type { AttachedSite } from './site-access.js';

/** A route distinguisher, "ASN:n" or "IPv4:n" (RFC 4364 §4.2). */
export type Rd = string;
/** A route target extended community, "ASN:n" or "IPv4:n" (RFC 4360). */
export type RouteTarget = string;

export type Node = NodeView;
export type Link = LinkView;
/** A site as this node sees it: its access on the node (domain/site-access.ts). */
export type Site = AttachedSite;
export type Vpn = VpnView;

/** A VPN's VRF on one PE, as the intent holds it. */
export interface Vrf {
  id: string;
  vpn: string;
  node: string;
  /** The RD last given to the VRF (the VPN's, or one allocated for it); null before the first allocation. */
  routeDistinguisher: Rd | null;
}

/** What the labels service gave a VRF: its kernel table, RD and per-VRF label. */
export interface VrfAllocation {
  tableId: number;
  rd: Rd | null;
  label: number | null;
  /** The RD was allocated for this VRF (released with it), not the VPN's given one. */
  rdOwned: boolean;
  /** The pool the owned RD came from. */
  rdAdministrator: string | null;
}

export interface VrfIntent {
  vrf: Vrf;
  vpn: Vpn;
  /** The node's sites of the VPN. */
  sites: Site[];
  allocation: VrfAllocation | undefined;
  importRouteTargets: RouteTarget[];
  exportRouteTargets: RouteTarget[];
}

export interface NodeIntent {
  node: Node;
  nodes: Node[];
  links: Link[];
  vrfs: VrfIntent[];
  /** The node's VPN labels held so far, by owner. */
  labels: Map<string, number>;
}
