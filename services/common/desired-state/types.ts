// Inputs of the desired-state computation: the inventory (nodes and core
// links), the VPN intents with the resources allocated for them, and the
// VPN routes BGP has selected into each PE's VRFs. Plain data; the vpn
// service builds them from its database and the labels and bgp services.

export type NodeRoleName = 'PE' | 'P';
export type TransportModeName = 'sr' | 'external';
export type LabelModeName = 'per-vrf' | 'per-ce' | 'per-prefix';

export interface InventoryNode {
  readonly id: string;
  readonly role: NodeRoleName;
  /** BGP router id (IPv4). */
  readonly routerId: string;
  /** The loopback remote PEs use as BGP next hop; defaults to routerId. */
  readonly loopback?: string;
  /** Segment routing global block: node SID index i is label base + i at this node. */
  readonly srgb: { readonly base: number; readonly size: number };
  /** Node SID index (RFC 8402 §3.2), global across the SR domain. Absent: the node is not an SR destination. */
  readonly nodeSidIndex?: number;
  readonly transport: TransportModeName;
}

export interface LinkEnd {
  readonly node: string;
  readonly interface: string;
  /** The node's address on the link with its length ("10.0.0.0/31"); optional for unnumbered links. */
  readonly address?: string;
}

export interface InventoryLink {
  readonly a: LinkEnd;
  readonly b: LinkEnd;
  /** IGP metric, the same in both directions: 1 to 16,777,215 (IS-IS wide metric). */
  readonly metric: number;
  /** The link's inventory id (named to the agents, which watch it). */
  readonly id?: string;
  /** Operationally down (port or BFD down, or held down after a flap): no transport path uses it. */
  readonly down?: boolean;
}

export interface Inventory {
  readonly nodes: readonly InventoryNode[];
  readonly links: readonly InventoryLink[];
}

/** A VPN's VRF on one PE, with what the labels service allocated for it. */
export interface VrfAllocation {
  readonly pe: string;
  readonly name: string;
  /** Unique on the PE; not 0, 253, 254 or 255. */
  readonly tableId: number;
  readonly rd: string;
  readonly importRouteTargets: readonly string[];
  readonly exportRouteTargets: readonly string[];
  /** The per-VRF label (pop and look up). Expected in per-vrf mode; allowed in the others (connected subnets). */
  readonly vrfLabel?: number;
  /**
   * The VRF's IPv6 label (pop and look up IPv6): a per-VRF label per address
   * family, for a data plane that cannot see the IP version under a label
   * (OpenFlow). Absent: vrfLabel serves both families.
   */
  readonly vrfLabelIpv6?: number;
}

/** One attachment of a customer site to a PE (RFC 8299 site-network-access). */
export interface SiteIntent {
  readonly id: string;
  readonly pe: string;
  readonly interface: string;
  /** 802.1Q VLAN id; absent or 0 for untagged. */
  readonly vlan?: number;
  /** The PE's address with its length ("10.1.1.1/30"). A dual-stack attachment is two sites on the same interface and VLAN. */
  readonly peAddress: string;
  /** The CE's address on the same subnet ("10.1.1.2"). */
  readonly ceAddress: string;
  /** Customer prefixes reached through the CE (same family as the CE's address). */
  readonly staticPrefixes?: readonly string[];
  /** Per-CE label mode: this site's label (pop and forward to the CE). */
  readonly ceLabel?: number;
  /** Per-prefix label mode: label of each of the site's prefixes (static, or its connected subnet). */
  readonly prefixLabels?: Readonly<Record<string, number>>;
  /** The CE peers eBGP with the PE on this attachment's addresses (RFC 4364 §7): the agent relays the session (VrfInterface.bgp_sessions). */
  readonly bgp?: boolean;
}

export interface VpnIntent {
  readonly id: string;
  readonly labelMode: LabelModeName;
  readonly vrfs: readonly VrfAllocation[];
  readonly sites: readonly SiteIntent[];
}

/** A VPN route BGP selected into a VRF of a PE (the best path after import by route target). */
export interface SelectedVpnRoute {
  readonly vrf: string;
  readonly prefix: string;
  /** The BGP next hop: a remote PE's loopback, or a local CE's address for PE–CE eBGP routes. */
  readonly nextHop: string;
  /** The VPN label (RFC 8277); ignored for CE next hops. */
  readonly label: number;
  readonly rd: string;
  /**
   * The VRF's other candidate VPN paths for the prefix, most preferred first.
   * The speaker selects without knowing the transport; a path whose next
   * hop the transport cannot reach is not eligible (RFC 4271 §9.1.2.1), so
   * the first of these that resolves is used instead, e.g. a dual-homed
   * site's backup PE when the primary PE is cut off from this one.
   */
  readonly fallbacks?: readonly VpnPathCandidate[];
  /**
   * Not BGP's best for the prefix but used with it for load sharing (VRF
   * multipath, an all-active multi-homed site): it joins the best's route
   * as one more ECMP member (VrfRoute.multipath). Absent: a best.
   */
  readonly multipath?: boolean;
}

/** One candidate VPN path: where it goes and with which label. */
export type VpnPathCandidate = Pick<SelectedVpnRoute, 'nextHop' | 'label' | 'rd'>;

export interface DesiredStateInput {
  readonly inventory: Inventory;
  readonly vpns: readonly VpnIntent[];
}

export type WarningCode =
  | 'unresolved-next-hop'
  | 'unknown-vrf'
  | 'duplicate-route'
  | 'missing-label'
  | 'invalid-route'
  | 'no-node-sid';

/** Something that keeps part of the desired state from being installed, but not the rest. */
export interface DesiredStateWarning {
  readonly code: WarningCode;
  readonly message: string;
  readonly vrf?: string;
  readonly prefix?: string;
}

/** Malformed or contradictory input: nothing sensible can be computed. */
export class DesiredStateError extends Error {
  constructor(
    message: string,
    /** Where in the input: "vpns[2].sites[0].peAddress". */
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'DesiredStateError';
  }
}

export const MAX_LABEL = 0xfffff;
/** Labels 0-15 are reserved (RFC 3032 §2.1). */
export const MIN_UNRESERVED_LABEL = 16;
export const MAX_METRIC = 0xffffff;
/** Linux reserves these table ids (unspec, default, main, local). */
export const RESERVED_TABLE_IDS: ReadonlySet<number> = new Set([0, 253, 254, 255]);
