// Site rows: views, the lookups the site and VPN rules make, and writes from SiteSpecs.
import { Prisma } from '../../common/gen/prisma/client.js';
import type { Filter } from '../intent/handler.js';
import type { SiteRole, SiteSpec, SiteView } from '../intent/types.js';
import type { Db } from './db.js';
import { afterWhere, statusWhere } from './filters.js';
import { fromDbEnum, siteView, toDbEnum } from './records.js';

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
  /** The sites, other than `except`, of `vpn` on `node`: those in one VRF with it. */
  inVrf(vpn: string, node: string, except: string): Promise<SiteView[]>;
  /** The site, other than `except`, on this interface and VLAN (0: untagged). */
  onPort(node: string, ifname: string, vlan: number, except: string): Promise<string | undefined>;
  /** Writes the site with its role (the VPN's topology decides the default). */
  create(site: SiteSpec, role: SiteRole): Promise<void>;
  /** The same, incrementing its version. */
  update(site: SiteSpec, role: SiteRole): Promise<void>;
  delete(id: string): Promise<void>;
}

/** `siteOfOrigin` comes canonical. */
function rowOf(s: SiteSpec, role: SiteRole) {
  return {
    vpnId: s.vpn,
    nodeId: s.node,
    interface: s.interface,
    vlan: s.vlan ?? 0,
    ipv4PeAddress: s.ipv4?.peAddress ?? null,
    ipv4CeAddress: s.ipv4?.ceAddress ?? null,
    ipv6PeAddress: s.ipv6?.peAddress ?? null,
    ipv6CeAddress: s.ipv6?.ceAddress ?? null,
    role: toDbEnum(role) as 'ANY_TO_ANY' | 'HUB' | 'SPOKE',
    staticRoutes: (s.routing?.static ?? []).map((r) => ({ ...r })),
    bgp: s.routing?.bgp ? { peerAs: s.routing.bgp.peerAs } : Prisma.DbNull,
    siteOfOrigin: s.siteOfOrigin ?? null,
    status: 'PENDING' as const,
    statusReason: null,
  };
}

export function prismaSiteStore(db: Db): SiteStore {
  return {
    async read(id) {
      const r = await db.site.findUnique({ where: { id } });
      return r ? siteView(r) : undefined;
    },
    async list(filter, after, limit) {
      const rows = await db.site.findMany({
        where: { ...afterWhere(after), ...(filter.vpn ? { vpnId: filter.vpn } : {}), ...(filter.node ? { nodeId: filter.node } : {}), ...statusWhere(filter) },
        orderBy: { id: 'asc' },
        take: limit,
      });
      return rows.map(siteView);
    },
    count: ({ vpn, node }) => db.site.count({ where: { ...(vpn ? { vpnId: vpn } : {}), ...(node ? { nodeId: node } : {}) } }),
    async ofVpn(vpn) {
      const rows = await db.site.findMany({ where: { vpnId: vpn }, select: { id: true, role: true, ipv4PeAddress: true, ipv6PeAddress: true } });
      return rows.map((s) => ({ id: s.id, role: fromDbEnum<SiteRole>(s.role), ipv4: Boolean(s.ipv4PeAddress), ipv6: Boolean(s.ipv6PeAddress) }));
    },
    async inVrf(vpn, node, except) {
      return (await db.site.findMany({ where: { vpnId: vpn, nodeId: node, id: { not: except } } })).map(siteView);
    },
    async onPort(node, ifname, vlan, except) {
      return (await db.site.findFirst({ where: { nodeId: node, interface: ifname, vlan, id: { not: except } }, select: { id: true } }))?.id;
    },
    async create(s, role) {
      await db.site.create({ data: { id: s.id, ...rowOf(s, role) } });
    },
    async update(s, role) {
      await db.site.update({ where: { id: s.id }, data: { ...rowOf(s, role), version: { increment: 1 } } });
    },
    async delete(id) {
      await db.site.delete({ where: { id } });
    },
  };
}
