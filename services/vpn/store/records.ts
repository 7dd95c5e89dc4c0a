// Database rows <-> API representations. The enum spellings differ only in
// case and separators (PE, HUB_SPOKE <-> hub-spoke).
import type { Link, Node, Site, SiteAccess, Vpn, VpnImport, VpnRouteTarget, Vrf } from '../../common/gen/prisma/client.js';
import { byPreference, flatFields, hasBackups } from '../domain/site-access.js';
import { vrfRouteTargets as routeTargetsOfVrf } from '../domain/route-targets.js';
import type {
  SiteBgp,
  Attachment,
  Family,
  LabelMode,
  LinkView,
  Meta,
  Multihoming,
  SiteAccessView,
  NodeView,
  RouteTargets,
  SiteRole,
  SiteView,
  StaticRoute,
  StatusState,
  Topology,
  Transport,
  VpnView,
  VrfView,
} from '../intent/types.js';

export const toDbEnum = (v: string) => v.toUpperCase().replace(/-/g, '_');
export const fromDbEnum = <T extends string>(v: string) => v.toLowerCase().replace(/_/g, '-') as T;

type Tracked = { status: string; statusReason: string | null; version: number; createdAt: Date; updatedAt: Date };

export function meta(row: Tracked): Meta {
  const status: Meta['status'] = { state: fromDbEnum<StatusState>(row.status) };
  if (row.statusReason) status.reason = row.statusReason;
  return { version: row.version, status, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

/** Drops undefined and null values, so the view carries only what is set. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined || o[k] === null) delete o[k];
  return o;
}

export function nodeView(r: Node): NodeView {
  return compact({
    id: r.id,
    name: r.name,
    role: r.role,
    routerId: r.routerId,
    loopback: r.loopback,
    asNumber: Number(r.asNumber),
    labelRange: r.labelMin !== null && r.labelMax !== null ? { min: r.labelMin, max: r.labelMax } : undefined,
    srgb: r.srgbBase !== null && r.srgbSize !== null ? { base: r.srgbBase, size: r.srgbSize } : undefined,
    nodeSidIndex: r.nodeSidIndex ?? undefined,
    transport: fromDbEnum<Transport>(r.transport),
    ...meta(r),
  });
}

export function linkView(r: Link): LinkView {
  return {
    id: r.id,
    a: compact({ node: r.aNodeId, interface: r.aInterface, address: r.aAddress ?? undefined }),
    b: compact({ node: r.bNodeId, interface: r.bInterface, address: r.bAddress ?? undefined }),
    igpMetric: r.igpMetric,
    ...meta(r),
    operStatus: fromDbEnum<LinkView['operStatus']>(r.operStatus),
    ...(r.operReason ? { operReason: r.operReason } : {}),
    ...(r.operChangedAt ? { operChangedAt: r.operChangedAt.toISOString() } : {}),
  };
}

export type VpnRow = Vpn & { routeTargets: VpnRouteTarget[]; imports: VpnImport[] };

export function routeTargetsOf(rts: VpnRouteTarget[]): RouteTargets {
  const out: RouteTargets = {};
  for (const rt of rts) {
    const key = rt.role === 'ANY_TO_ANY' ? 'anyToAny' : rt.role === 'HUB' ? 'hub' : 'spoke';
    out[key] = rt.value;
  }
  return out;
}

export function vpnView(r: VpnRow): VpnView {
  return compact({
    id: r.id,
    customer: r.customer,
    description: r.description ?? undefined,
    topology: fromDbEnum<Topology>(r.topology),
    extranetImports: r.imports.map((i) => i.exporterId).sort(),
    addressFamilies: r.addressFamilies as Family[],
    labelMode: fromDbEnum<LabelMode>(r.labelMode),
    maxRoutesPerVrf: r.maxRoutesPerVrf,
    routeDistinguisher: r.routeDistinguisher ?? undefined,
    routeTargets: routeTargetsOf(r.routeTargets),
    ...meta(r),
  });
}

/** A site row with its access rows (`siteInclude`). */
export type SiteRow = Site & { accesses: SiteAccess[]; activeAccess: { accessId: string } | null };
export const siteInclude = { accesses: true, activeAccess: { select: { accessId: true } } } as const;

export function siteAccessView(r: SiteAccess): SiteAccessView {
  const attachment = (pe: string | null, ce: string | null): Attachment | undefined => (pe && ce ? { peAddress: pe, ceAddress: ce } : undefined);
  const status: SiteAccessView['status'] = { state: fromDbEnum<StatusState>(r.status) };
  if (r.statusReason) status.reason = r.statusReason;
  return compact({
    id: r.id,
    node: r.nodeId,
    interface: r.interface,
    vlan: r.vlan || undefined,
    ipv4: attachment(r.ipv4PeAddress, r.ipv4CeAddress),
    ipv6: attachment(r.ipv6PeAddress, r.ipv6CeAddress),
    priority: r.priority,
    status,
  });
}

export function siteView(r: SiteRow): SiteView {
  const routing: SiteView['routing'] = {};
  const statics = r.staticRoutes as unknown as StaticRoute[];
  if (statics.length) routing.static = statics;
  if (r.bgp) routing.bgp = r.bgp as unknown as SiteBgp;
  const accesses = byPreference(r.accesses.map(siteAccessView));
  const multihoming = fromDbEnum<Multihoming>(r.multihoming);
  const backedUp = hasBackups({ multihoming, accesses });
  const active = backedUp && accesses.some((a) => a.id === r.activeAccess?.accessId) ? r.activeAccess!.accessId : undefined;
  return compact({
    id: r.id,
    vpn: r.vpnId,
    // A site with one access shows it flat too, as before accesses existed.
    ...(accesses.length === 1 ? flatFields(accesses[0]!) : {}),
    accesses,
    multihoming,
    // Shown where it means something (checkRevertive refuses it elsewhere), so a GET body PUT back is accepted.
    revertive: backedUp ? r.revertive : undefined,
    activeAccess: active,
    role: fromDbEnum<SiteRole>(r.role),
    routing: Object.keys(routing).length ? routing : undefined,
    siteOfOrigin: r.siteOfOrigin ?? undefined,
    ...meta(r),
  });
}

/** What a VRF needs besides its row: its VPN (with RTs), the VPNs it imports, its sites' roles. */
export interface VrfContext {
  vpn: VpnRow;
  exporters: VpnRow[];
  sites: { id: string; role: string }[];
}

/** Route targets of a VRF: the domain rule (domain/route-targets.ts) on the rows. */
export function vrfRouteTargets(ctx: VrfContext): { imports: string[]; exports: string[] } {
  const policy = (v: VpnRow) => ({ topology: fromDbEnum<Topology>(v.topology), routeTargets: routeTargetsOf(v.routeTargets) });
  return routeTargetsOfVrf(policy(ctx.vpn), ctx.exporters.map(policy), ctx.sites.map((s) => fromDbEnum<SiteRole>(s.role)));
}

export function vrfView(r: Vrf, ctx: VrfContext): VrfView {
  const { imports, exports } = vrfRouteTargets(ctx);
  return compact({
    id: r.id,
    vpn: r.vpnId,
    node: r.nodeId,
    routeDistinguisher: r.routeDistinguisher ?? ctx.vpn.routeDistinguisher ?? undefined,
    importRouteTargets: imports,
    exportRouteTargets: exports,
    sites: ctx.sites.map((s) => s.id).sort(),
    ...meta(r),
  });
}

export const vrfId = (vpn: string, node: string) => `${vpn}:${node}`;

/** The route targets a VPN of `topology` has (RFC 4364 §4.3.5): one for any-to-any, a hub and a spoke one for hub-spoke. */
export const routeTargetKeys = (topology: Topology | undefined): (keyof RouteTargets)[] =>
  (topology ?? 'any-to-any') === 'any-to-any' ? ['anyToAny'] : ['hub', 'spoke'];
