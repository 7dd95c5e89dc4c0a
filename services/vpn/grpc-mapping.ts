// Proto messages <-> the API representations of intent/types.ts. Pure
// translation: every check happens in the domain layer, on the mapped value.
import {
  AddressFamily,
  ResourceState,
  SiteRole as PbSiteRole,
  SiteMultihoming,
  SiteMaxPrefixAction,
  type SiteBgp as PbSiteBgp,
  VpnLabelMode,
  VpnNodeRole,
  VpnNodeTransport,
  VpnTopology,
  type Link as PbLink,
  LinkOperStatus,
  type Node as PbNode,
  type NodePlan as PbNodePlan,
  type Plan,
  type ResourceMeta,
  type Site as PbSite,
  type Vpn as PbVpn,
  type Vrf as PbVrf,
  type VrfRoutes,
} from '../common/gen/proto/l3vpn/v1/vpn.js';
import type { Family, SiteBgp, LinkSpec, LinkView, Meta, Multihoming, NodePlan, NodeSpec, NodeView, RoutesView, SiteSpec, SiteView, VpnSpec, VpnView, VrfView, WriteResult } from './intent/types.js';

/** Both directions of one enum; UNSPECIFIED maps to undefined (the schema's default, or a "required" error). */
function enumMap<P extends number, J extends string>(pairs: [P, J][]) {
  return {
    toJson: (p: P): J | undefined => pairs.find(([x]) => x === p)?.[1],
    toPb: (j: J | undefined, unspecified: P): P => pairs.find(([, y]) => y === j)?.[0] ?? unspecified,
  };
}

const roles = enumMap<VpnNodeRole, NodeSpec['role']>([[VpnNodeRole.VPN_NODE_ROLE_PE, 'PE'], [VpnNodeRole.VPN_NODE_ROLE_P, 'P']]);
const transports = enumMap<VpnNodeTransport, NonNullable<NodeSpec['transport']>>([
  [VpnNodeTransport.VPN_NODE_TRANSPORT_SR, 'sr'],
  [VpnNodeTransport.VPN_NODE_TRANSPORT_EXTERNAL, 'external'],
]);
const topologies = enumMap<VpnTopology, NonNullable<VpnSpec['topology']>>([
  [VpnTopology.VPN_TOPOLOGY_ANY_TO_ANY, 'any-to-any'],
  [VpnTopology.VPN_TOPOLOGY_HUB_SPOKE, 'hub-spoke'],
]);
const labelModes = enumMap<VpnLabelMode, NonNullable<VpnSpec['labelMode']>>([
  [VpnLabelMode.VPN_LABEL_MODE_PER_VRF, 'per-vrf'],
  [VpnLabelMode.VPN_LABEL_MODE_PER_CE, 'per-ce'],
  [VpnLabelMode.VPN_LABEL_MODE_PER_PREFIX, 'per-prefix'],
]);
const families = enumMap<AddressFamily, Family>([[AddressFamily.ADDRESS_FAMILY_IPV4, 'ipv4'], [AddressFamily.ADDRESS_FAMILY_IPV6, 'ipv6']]);
const siteRoles = enumMap<PbSiteRole, NonNullable<SiteSpec['role']>>([
  [PbSiteRole.SITE_ROLE_ANY_TO_ANY, 'any-to-any'],
  [PbSiteRole.SITE_ROLE_HUB, 'hub'],
  [PbSiteRole.SITE_ROLE_SPOKE, 'spoke'],
]);
const multihomings = enumMap<SiteMultihoming, Multihoming>([
  [SiteMultihoming.SITE_MULTIHOMING_SINGLE_ACTIVE, 'single-active'],
  [SiteMultihoming.SITE_MULTIHOMING_ALL_ACTIVE, 'all-active'],
]);
const maxPrefixActions = enumMap<SiteMaxPrefixAction, NonNullable<NonNullable<SiteBgp['maxPrefix']>['action']>>([
  [SiteMaxPrefixAction.SITE_MAX_PREFIX_ACTION_LIMIT, 'limit'],
  [SiteMaxPrefixAction.SITE_MAX_PREFIX_ACTION_WARNING_ONLY, 'warning-only'],
]);

/** proto3's false and 0 are "not given": left out, so the stored routing.bgp has only what was asked. */
function siteBgpFromPb(b: PbSiteBgp): SiteBgp {
  const m = b.maxPrefix;
  return present({
    peerAs: b.peerAs,
    asOverride: b.asOverride || undefined,
    allowasIn: b.allowasIn || undefined,
    maxPrefix: m
      ? present({ limit: m.limit, warningPercent: m.warningPercent || undefined, action: maxPrefixActions.toJson(m.action), restartInterval: m.restartInterval || undefined })
      : undefined,
  });
}

function siteBgpToPb(b: SiteBgp): PbSiteBgp {
  const m = b.maxPrefix;
  return {
    peerAs: b.peerAs,
    asOverride: b.asOverride ?? false,
    allowasIn: b.allowasIn ?? 0,
    maxPrefix: m
      ? { limit: m.limit, warningPercent: m.warningPercent ?? 0, action: maxPrefixActions.toPb(m.action, SiteMaxPrefixAction.SITE_MAX_PREFIX_ACTION_UNSPECIFIED), restartInterval: m.restartInterval ?? 0 }
      : undefined,
  };
}

const states = enumMap<ResourceState, Meta['status']['state']>([
  [ResourceState.RESOURCE_STATE_PENDING, 'pending'],
  [ResourceState.RESOURCE_STATE_PROVISIONING, 'provisioning'],
  [ResourceState.RESOURCE_STATE_ACTIVE, 'active'],
  [ResourceState.RESOURCE_STATE_FAILED, 'failed'],
  [ResourceState.RESOURCE_STATE_DEGRADED, 'degraded'],
  [ResourceState.RESOURCE_STATE_DOWN, 'down'],
  [ResourceState.RESOURCE_STATE_UNREACHABLE, 'unreachable'],
]);

/** Drops the fields proto3 cannot leave unset ('' and 0), so the schema sees them as absent. */
function present<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) {
    const v = o[k];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}

const meta = (m: Meta): ResourceMeta => ({
  version: m.version,
  status: { state: states.toPb(m.status.state, ResourceState.RESOURCE_STATE_UNSPECIFIED), reason: m.status.reason ?? '' },
  createTime: new Date(m.createdAt),
  updateTime: new Date(m.updatedAt),
});

export function nodeFromPb(n: PbNode): NodeSpec {
  return present({
    id: n.id,
    name: n.name,
    role: roles.toJson(n.role)!,
    routerId: n.routerId,
    loopback: n.loopback,
    asNumber: n.asNumber || (undefined as unknown as number),
    labelRange: n.labelRange ? { min: n.labelRange.min, max: n.labelRange.max } : undefined,
    srgb: n.srgb ? { base: n.srgb.base, size: n.srgb.size } : undefined,
    nodeSidIndex: n.nodeSidIndex,
    transport: transports.toJson(n.transport),
    // Retired, passed on only so that the schema refuses it by name (RETIRED_FIELDS).
    ...({ agentIdentity: n.agentIdentity } as object),
  });
}

export function nodeToPb(n: NodeView): PbNode {
  return {
    id: n.id,
    name: n.name,
    role: roles.toPb(n.role, VpnNodeRole.VPN_NODE_ROLE_UNSPECIFIED),
    routerId: n.routerId,
    loopback: n.loopback,
    asNumber: n.asNumber,
    labelRange: n.labelRange,
    srgb: n.srgb,
    nodeSidIndex: n.nodeSidIndex,
    transport: transports.toPb(n.transport, VpnNodeTransport.VPN_NODE_TRANSPORT_UNSPECIFIED),
    agentIdentity: '',
    meta: meta(n),
  };
}

export function linkFromPb(l: PbLink): LinkSpec {
  const end = (e: PbLink['a']) => (e ? present({ node: e.node, interface: e.interface, address: e.address }) : (undefined as never));
  return present({ id: l.id, a: end(l.a), b: end(l.b), igpMetric: l.igpMetric || undefined });
}

export function linkToPb(l: LinkView): PbLink {
  const end = (e: LinkView['a']) => ({ node: e.node, interface: e.interface, address: e.address ?? '' });
  const oper = { unknown: LinkOperStatus.LINK_OPER_STATUS_UNSPECIFIED, up: LinkOperStatus.LINK_OPER_STATUS_UP, down: LinkOperStatus.LINK_OPER_STATUS_DOWN }[l.operStatus];
  return {
    id: l.id,
    a: end(l.a),
    b: end(l.b),
    igpMetric: l.igpMetric,
    meta: meta(l),
    operStatus: oper,
    operReason: l.operReason ?? '',
    operChangeTime: l.operChangedAt ? new Date(l.operChangedAt) : undefined,
  };
}

export function vpnFromPb(v: PbVpn): VpnSpec {
  const rts = v.routeTargets ? present({ anyToAny: v.routeTargets.anyToAny, hub: v.routeTargets.hub, spoke: v.routeTargets.spoke }) : undefined;
  return present({
    id: v.id,
    customer: v.customer,
    description: v.description,
    topology: topologies.toJson(v.topology),
    extranetImports: v.extranetImports,
    addressFamilies: v.addressFamilies.map((f) => families.toJson(f) ?? (String(f) as Family)),
    labelMode: labelModes.toJson(v.labelMode),
    maxRoutesPerVrf: v.maxRoutesPerVrf || undefined,
    routeDistinguisher: v.routeDistinguisher,
    routeTargets: rts && Object.keys(rts).length ? rts : undefined,
  });
}

export function vpnToPb(v: VpnView): PbVpn {
  return {
    id: v.id,
    customer: v.customer,
    description: v.description ?? '',
    topology: topologies.toPb(v.topology, VpnTopology.VPN_TOPOLOGY_UNSPECIFIED),
    extranetImports: v.extranetImports,
    addressFamilies: v.addressFamilies.map((f) => families.toPb(f, AddressFamily.ADDRESS_FAMILY_UNSPECIFIED)),
    labelMode: labelModes.toPb(v.labelMode, VpnLabelMode.VPN_LABEL_MODE_UNSPECIFIED),
    maxRoutesPerVrf: v.maxRoutesPerVrf,
    routeDistinguisher: v.routeDistinguisher ?? '',
    routeTargets: { anyToAny: v.routeTargets.anyToAny ?? '', hub: v.routeTargets.hub ?? '', spoke: v.routeTargets.spoke ?? '' },
    meta: meta(v),
  };
}

export function siteFromPb(s: PbSite): SiteSpec {
  const att = (a: PbSite['ipv4']) => (a ? { peAddress: a.peAddress, ceAddress: a.ceAddress } : undefined);
  const routing = s.routing
    ? present({
        static: s.routing.staticRoutes.map((r) => present({ prefix: r.prefix, nextHop: r.nextHop })),
        bgp: s.routing.bgp ? siteBgpFromPb(s.routing.bgp) : undefined,
      })
    : undefined;
  return present({
    id: s.id,
    vpn: s.vpn,
    node: s.node,
    interface: s.interface,
    vlan: s.vlan || undefined,
    ipv4: att(s.ipv4),
    ipv6: att(s.ipv6),
    accesses: s.accesses.map((a) =>
      present({ id: a.id, node: a.node, interface: a.interface, vlan: a.vlan || undefined, ipv4: att(a.ipv4), ipv6: att(a.ipv6), priority: a.priority || undefined }),
    ),
    multihoming: multihomings.toJson(s.multihoming),
    revertive: s.revertive,
    role: siteRoles.toJson(s.role),
    routing: routing && Object.keys(routing).length ? routing : undefined,
    siteOfOrigin: s.siteOfOrigin,
  });
}

export function siteToPb(s: SiteView): PbSite {
  return {
    id: s.id,
    vpn: s.vpn,
    node: s.node ?? '',
    interface: s.interface ?? '',
    vlan: s.vlan ?? 0,
    ipv4: s.ipv4,
    ipv6: s.ipv6,
    role: siteRoles.toPb(s.role, PbSiteRole.SITE_ROLE_UNSPECIFIED),
    routing: s.routing ? { staticRoutes: (s.routing.static ?? []).map((r) => ({ prefix: r.prefix, nextHop: r.nextHop ?? '' })), bgp: s.routing.bgp ? siteBgpToPb(s.routing.bgp) : undefined } : undefined,
    siteOfOrigin: s.siteOfOrigin ?? '',
    meta: meta(s),
    accesses: s.accesses.map((a) => ({
      id: a.id,
      node: a.node,
      interface: a.interface,
      vlan: a.vlan ?? 0,
      ipv4: a.ipv4,
      ipv6: a.ipv6,
      priority: a.priority,
      status: { state: states.toPb(a.status.state, ResourceState.RESOURCE_STATE_UNSPECIFIED), reason: a.status.reason ?? '' },
      bgpSessions: (a.bgpSessions ?? []).map((b) => ({ ...b, lastError: b.lastError ?? '', maxPrefix: b.maxPrefix ?? '' })),
    })),
    multihoming: multihomings.toPb(s.multihoming, SiteMultihoming.SITE_MULTIHOMING_UNSPECIFIED),
    ...(s.revertive !== undefined ? { revertive: s.revertive } : {}),
    activeAccess: s.activeAccess ?? '',
  };
}

export function routesToPb(r: RoutesView): VrfRoutes {
  if (r.state === 'unavailable') return { available: false, reason: r.reason, routes: [] };
  return {
    available: true,
    reason: '',
    routes: r.routes.map((x) => ({ ...x, routeDistinguisher: x.routeDistinguisher ?? '' })),
  };
}

export function vrfToPb(v: VrfView): PbVrf {
  return {
    id: v.id,
    vpn: v.vpn,
    node: v.node,
    routeDistinguisher: v.routeDistinguisher ?? '',
    importRouteTargets: v.importRouteTargets,
    exportRouteTargets: v.exportRouteTargets,
    sites: v.sites,
    routes: v.routes ? routesToPb(v.routes) : undefined,
    meta: meta(v),
  };
}

export const planOf = (r: WriteResult<unknown>): Plan => ({
  dryRun: r.dryRun,
  changes: r.changes,
  affectedNodes: r.affectedNodes,
  nodes: (r.plan ?? []).map(nodePlanToPb),
  releasedRouteTargets: r.releases?.routeTargets ?? [],
  releasedRouteDistinguishers: r.releases?.routeDistinguishers ?? [],
});

function nodePlanToPb(p: NodePlan): PbNodePlan {
  return {
    node: p.node,
    generation: p.generation,
    changed: p.changed,
    removed: Boolean(p.removed),
    vrfs: p.vrfs,
    routes: p.routes,
    lfibEntries: p.lfibEntries,
    transportPaths: p.transportPaths,
    newAllocations: p.newAllocations,
    releasedLabels: p.releases.labels,
    releasedRouteDistinguishers: p.releases.routeDistinguishers,
    releasedSidIndex: p.releases.sidIndex,
    withdrawnRoutes: p.withdrawnRoutes,
  };
}

/** "ipv4/ceAddress" -> "ipv4.ce_address", the proto field path. */
export const protoPath = (pointer: string) =>
  pointer
    .replace(/^\//, '')
    .split('/')
    .map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))
    .join('.')
    .replace(/^routing\.static\b/, 'routing.static_routes');

/** "ce_address" -> "ceAddress", for update_mask paths. */
export const jsonName = (path: string) => path.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/^routing\.staticRoutes/, 'routing.static');
