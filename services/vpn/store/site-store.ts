// Site rows: views, the lookups the site and VPN rules make, and writes from SiteSpecs.
import { Prisma } from '../../common/gen/prisma/client.js';
import type { Filter } from '../intent/handler.js';
import type { SiteAccess, SiteRole, SiteSpec, SiteView } from '../intent/types.js';
import { accessesOf, DEFAULT_MULTIHOMING } from '../domain/site-access.js';
import type { Db } from './db.js';
import { afterWhere, statusWhere } from './filters.js';
import { fromDbEnum, siteInclude, siteView, toDbEnum } from './records.js';

/** What a VPN's rules need to know of one of its sites. */
export interface SiteSummary {
  id: string;
  role: SiteRole;
  ipv4: boolean;
  ipv6: boolean;
}

export interface SiteStore {
  read(id: string): Promise<SiteView | undefined>;
  /** Filters: vpn, node, status. Ids > after, in id order, at most limit. */
  list(filter: Filter, after: string | undefined, limit: number): Promise<SiteView[]>;
  /** How many sites are in `vpn` and/or on `node` (both when given). */
  count(where: { vpn: string; node?: string } | { vpn?: string; node: string }): Promise<number>;
  /** The sites of a VPN. */
  ofVpn(vpn: string): Promise<SiteSummary[]>;
  /** The sites, other than `except`, of `vpn` with an access on `node`: those in one VRF with it. */
  inVrf(vpn: string, node: string, except: string): Promise<SiteView[]>;
  /** The site, other than `except`, with an access on this interface and VLAN (0: untagged). */
  onPort(node: string, ifname: string, vlan: number, except: string): Promise<string | undefined>;
  /** Writes the site with its role (the VPN's topology decides the default). */
  create(site: SiteSpec, role: SiteRole): Promise<void>;
  /** The same, incrementing its version. */
  update(site: SiteSpec, role: SiteRole): Promise<void>;
  delete(id: string): Promise<void>;
  /** Stores the site's active access (state, not intent: the site's version stays). */
  setActiveAccess(id: string, accessId: string): Promise<void>;
}

/** `siteOfOrigin` comes canonical. */
function rowOf(s: SiteSpec, role: SiteRole) {
  return {
    vpnId: s.vpn,
    role: toDbEnum(role) as 'ANY_TO_ANY' | 'HUB' | 'SPOKE',
    multihoming: toDbEnum(s.multihoming ?? DEFAULT_MULTIHOMING) as 'SINGLE_ACTIVE' | 'ALL_ACTIVE',
    revertive: s.revertive ?? true,
    staticRoutes: (s.routing?.static ?? []).map((r) => ({ ...r })),
    bgp: s.routing?.bgp ? (JSON.parse(JSON.stringify(s.routing.bgp)) as Prisma.InputJsonObject) : Prisma.DbNull,
    siteOfOrigin: s.siteOfOrigin ?? null,
    status: 'PENDING' as const,
    statusReason: null,
  };
}

function accessRow(a: SiteAccess) {
  return {
    id: a.id,
    nodeId: a.node,
    interface: a.interface,
    vlan: a.vlan ?? 0,
    ipv4PeAddress: a.ipv4?.peAddress ?? null,
    ipv4CeAddress: a.ipv4?.ceAddress ?? null,
    ipv6PeAddress: a.ipv6?.peAddress ?? null,
    ipv6CeAddress: a.ipv6?.ceAddress ?? null,
    priority: a.priority ?? 100,
    status: 'PENDING' as const,
    statusReason: null,
  };
}

export function prismaSiteStore(db: Db): SiteStore {
  return {
    async read(id) {
      const r = await db.site.findUnique({ where: { id }, include: siteInclude });
      return r ? siteView(r) : undefined;
    },
    async list(filter, after, limit) {
      const rows = await db.site.findMany({
        where: { ...afterWhere(after), ...(filter.vpn ? { vpnId: filter.vpn } : {}), ...(filter.node ? { accesses: { some: { nodeId: filter.node } } } : {}), ...statusWhere(filter) },
        orderBy: { id: 'asc' },
        take: limit,
        include: siteInclude,
      });
      return rows.map(siteView);
    },
    count: ({ vpn, node }) => db.site.count({ where: { ...(vpn ? { vpnId: vpn } : {}), ...(node ? { accesses: { some: { nodeId: node } } } : {}) } }),
    async ofVpn(vpn) {
      const rows = await db.site.findMany({ where: { vpnId: vpn }, select: { id: true, role: true, accesses: { select: { ipv4PeAddress: true, ipv6PeAddress: true } } } });
      return rows.map((s) => ({
        id: s.id,
        role: fromDbEnum<SiteRole>(s.role),
        ipv4: s.accesses.some((a) => a.ipv4PeAddress),
        ipv6: s.accesses.some((a) => a.ipv6PeAddress),
      }));
    },
    async inVrf(vpn, node, except) {
      return (await db.site.findMany({ where: { vpnId: vpn, accesses: { some: { nodeId: node } }, id: { not: except } }, include: siteInclude })).map(siteView);
    },
    async onPort(node, ifname, vlan, except) {
      return (await db.siteAccess.findFirst({ where: { nodeId: node, interface: ifname, vlan, siteId: { not: except } }, select: { siteId: true } }))?.siteId;
    },
    async create(s, role) {
      await db.site.create({ data: { id: s.id, ...rowOf(s, role), accesses: { create: accessesOf(s).map(accessRow) } } });
    },
    async update(s, role) {
      // The accesses are replaced: each comes back pending until its PE's reconcile says otherwise.
      await db.siteAccess.deleteMany({ where: { siteId: s.id } });
      await db.site.update({ where: { id: s.id }, data: { ...rowOf(s, role), version: { increment: 1 }, accesses: { create: accessesOf(s).map(accessRow) } } });
    },
    async delete(id) {
      await db.site.delete({ where: { id } });
    },
    async setActiveAccess(id, accessId) {
      await db.siteActiveAccess.upsert({ where: { siteId: id }, create: { siteId: id, accessId }, update: { accessId, changedAt: new Date() } });
    },
  };
}
