// The intent resources as the API shows them (REST JSON; the gRPC adapter
// maps its messages to and from these). Names follow RFC 8299 / RFC 9182.

/** An address family as the API names it. */
export type Family = 'ipv4' | 'ipv6';

/** The states a resource's status takes (DESIGN: `active` is a promise that packets flow). */
export const NODE_ROLES = ['PE', 'P'] as const;

export const STATUS_STATES = ['pending', 'provisioning', 'active', 'degraded', 'down', 'unreachable', 'failed'] as const;
export type StatusState = (typeof STATUS_STATES)[number];

export interface Status {
  state: StatusState;
  reason?: string;
}

/** Fields the server owns; accepted and ignored in requests so a GET body can be PUT back. */
export interface Meta {
  version: number;
  status: Status;
  createdAt: string;
  updatedAt: string;
}

export type NodeRole = 'PE' | 'P';
export type Transport = 'sr' | 'external';
export type Topology = 'any-to-any' | 'hub-spoke';
export type LabelMode = 'per-vrf' | 'per-ce' | 'per-prefix';
export type SiteRole = 'any-to-any' | 'hub' | 'spoke';

export interface NodeSpec {
  id: string;
  name?: string;
  role: NodeRole;
  routerId: string;
  loopback?: string;
  asNumber: number;
  labelRange?: { min: number; max: number };
  srgb?: { base: number; size: number };
  nodeSidIndex?: number;
  transport?: Transport;
}

export interface LinkEnd {
  node: string;
  interface: string;
  address?: string;
}

export interface LinkSpec {
  id: string;
  a: LinkEnd;
  b: LinkEnd;
  igpMetric?: number;
}

export interface RouteTargets {
  anyToAny?: string | null;
  hub?: string | null;
  spoke?: string | null;
}

export interface VpnSpec {
  id: string;
  customer: string;
  description?: string;
  topology?: Topology;
  extranetImports?: string[];
  addressFamilies?: Family[];
  labelMode?: LabelMode;
  maxRoutesPerVrf?: number;
  routeDistinguisher?: string;
  routeTargets?: RouteTargets;
}

export interface Attachment {
  peAddress: string;
  ceAddress: string;
}

export interface StaticRoute {
  prefix: string;
  nextHop?: string;
}

/** RFC 8299 multihoming: primary/backup by access priority, or load balancing over every access. */
export type Multihoming = 'single-active' | 'all-active';

/** RFC 8299 site-network-access: the attachment of the site's CE to one PE port and VLAN. */
export interface SiteAccess {
  id: string;
  node: string;
  interface: string;
  vlan?: number;
  ipv4?: Attachment;
  ipv6?: Attachment;
  /** RFC 8299 access-priority: the higher, the more preferred (default 100). */
  priority?: number;
}

export interface SiteAccessView extends SiteAccess {
  priority: number;
  status: Status;
  /** With routing.bgp, on reads that ask the bgp service: each session of the access (one per CE address). */
  bgpSessions?: AccessBgpSession[];
}

/**
 * A site attaches by `accesses`, or (the form of one-access sites, kept for
 * existing clients) by the flat node/interface/vlan/ipv4/ipv6 fields, which
 * are one access with the site's id.
 */
export interface SiteSpec {
  id: string;
  vpn: string;
  node?: string;
  interface?: string;
  vlan?: number;
  ipv4?: Attachment;
  ipv6?: Attachment;
  accesses?: SiteAccess[];
  multihoming?: Multihoming;
  /** Single-active with several accesses: traffic returns to the primary once it is back (default true); false: it stays on the access that took over until an operator reverts or that access fails. */
  revertive?: boolean;
  role?: SiteRole;
  routing?: { static?: StaticRoute[]; bgp?: SiteBgp };
  siteOfOrigin?: string;
}

/** RFC 4271 max-prefix for a PE-CE session: the routes accepted from the CE, per address family. */
export interface SiteBgpMaxPrefix {
  limit: number;
  /** A warning at this percentage of the limit; absent: 75. */
  warningPercent?: number;
  /** limit (default): past it the session is torn down (RFC 4486 Cease); warning-only: logged and flagged. */
  action?: 'limit' | 'warning-only';
  /** Seconds the session stays down after a teardown; absent or 0: until reset. */
  restartInterval?: number;
}

/** PE-CE eBGP (RFC 4364 §7) with the site's CE on each access's addresses, relayed by the PE's agent to the bgp service. */
export interface SiteBgp {
  peerAs: number;
  /** AS_PATHs sent to the CE have its AS replaced by ours (sites of one VPN sharing an AS). */
  asOverride?: boolean;
  /** 1..10: occurrences of our AS a route from the CE may carry; absent or 0: none. */
  allowasIn?: number;
  maxPrefix?: SiteBgpMaxPrefix;
}

/** A relayed PE-CE session as the bgp service reports it (output only). */
export interface AccessBgpSession {
  ceAddress: string;
  /** idle, connect, active, open-sent, open-confirm, established; unknown when the bgp service cannot be asked or holds no such peer. */
  state: string;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
  /** SiteBgp.maxPrefix: at its warning mark, or past its limit (warning-only: still up; limit: torn down, held down). Absent: below both. */
  maxPrefix?: 'warning' | 'exceeded';
  lastError?: string;
}

export type NodeView = NodeSpec & Meta & { name: string; loopback: string; transport: Transport };
export type LinkView = LinkSpec &
  Meta & { igpMetric: number; operStatus: 'unknown' | 'up' | 'down'; operReason?: string; operChangedAt?: string };
export type VpnView = VpnSpec &
  Meta & {
    topology: Topology;
    extranetImports: string[];
    addressFamilies: Family[];
    labelMode: LabelMode;
    maxRoutesPerVrf: number;
    routeTargets: RouteTargets;
  };
/** The flat access fields are shown for a site with one access (as before accesses existed); `accesses` always. */
export type SiteView = Omit<SiteSpec, 'accesses'> &
  Meta & {
    role: SiteRole;
    multihoming: Multihoming;
    accesses: SiteAccessView[];
    /** Single-active with several accesses: the access carrying the traffic, as the reconcile last decided it (absent until it has). */
    activeAccess?: string;
  };

export type RoutesView =
  | { state: 'available'; routes: VrfRoute[] }
  | { state: 'unavailable'; reason: string; routes: [] };

export interface VrfRoute {
  prefix: string;
  nextHop: string;
  labels: number[];
  routeDistinguisher?: string;
  routeTargets: string[];
  origin: 'local' | 'remote';
  best: boolean;
}

export interface VrfView extends Meta {
  id: string;
  vpn: string;
  node: string;
  routeDistinguisher?: string;
  importRouteTargets: string[];
  exportRouteTargets: string[];
  sites: string[];
  routes?: RoutesView;
}

export type ResourceKind = 'node' | 'link' | 'vpn' | 'site';

export interface ResourceViews {
  node: NodeView;
  link: LinkView;
  vpn: VpnView;
  site: SiteView;
}

export interface ResourceSpecs {
  node: NodeSpec;
  link: LinkSpec;
  vpn: VpnSpec;
  site: SiteSpec;
}

/** One row the write would create, change or remove (a dry run lists them; a real write did them). */
export interface Change {
  kind: ResourceKind | 'vrf';
  id: string;
  action: 'create' | 'update' | 'delete';
}

export interface WriteResult<V> {
  /** The resource after the write; absent after a delete. */
  resource?: V;
  dryRun: boolean;
  changes: Change[];
  /** Nodes whose desired state the write may change; each gets a reconcile job. */
  affectedNodes: string[];
  /** Dry runs: per node, what its desired state would gain, change and lose, and what it would give back. */
  plan?: NodePlan[];
  /** Dry runs: VPN-wide values that would go into hold-down. */
  releases?: PoolReleases;
}

export interface ChangeCounts {
  added: number;
  modified: number;
  deleted: number;
}

export interface ReleasedLabel {
  owner: string;
  label: number;
}

export interface ReleasedValue {
  owner: string;
  value: string;
}

/** A route the node would stop advertising: its BGP withdraws RD:prefix. */
export interface WithdrawnRoute {
  vrf: string;
  prefix: string;
  routeDistinguisher: string;
}

/** A dry run's answer for one node. */
export interface NodePlan {
  node: string;
  /** The stored generation the plan is against (0: none yet). */
  generation: number;
  changed: boolean;
  /** The node would leave the intent. */
  removed?: boolean;
  vrfs: ChangeCounts;
  routes: ChangeCounts;
  lfibEntries: ChangeCounts;
  transportPaths: ChangeCounts;
  /** Values the worker would allocate (owner keys); the plan used placeholders for them. */
  newAllocations: string[];
  /** What the node's job would give back to the labels service (into hold-down). */
  releases: { labels: ReleasedLabel[]; routeDistinguishers: ReleasedValue[]; sidIndex?: number };
  withdrawnRoutes: WithdrawnRoute[];
}

/** Values of VPNs (not of one node) that would go into hold-down: route targets, given RDs. */
export interface PoolReleases {
  routeTargets: ReleasedValue[];
  routeDistinguishers: ReleasedValue[];
}
