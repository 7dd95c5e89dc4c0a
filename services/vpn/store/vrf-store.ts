// VRF rows: views (with the VPNs, extranet exporters and sites a view needs)
// and the writes that keep VRFs in step with sites and VPNs.
import type { Vrf } from '../../common/gen/prisma/client.js';
import type { Filter } from '../intent/handler.js';
import type { VrfView } from '../intent/types.js';
import type { Db } from './db.js';
import { afterWhere, statusWhere } from './filters.js';
import { vrfView, type VpnRow } from './records.js';

export interface VrfStore {
  read(id: string): Promise<VrfView | undefined>;
  /** Filters: vpn, node, status. Ids > after, in id order, at most limit. */
  list(filter: Filter, after: string | undefined, limit: number): Promise<VrfView[]>;
  exists(id: string): Promise<boolean>;
  create(vrf: { id: string; vpn: string; node: string }): Promise<void>;
  /** Sets the VRFs pending (they need reconcile) and increments their versions. */
  markPending(ids: string[]): Promise<void>;
  delete(id: string): Promise<void>;
  /** The VRFs of some VPNs. */
  ofVpns(vpns: string[]): Promise<{ id: string; node: string }[]>;
}

const vpnInclude = { routeTargets: true, imports: true } as const;

/** Views of VRF rows, in three queries. */
async function vrfViews(db: Db, rows: Vrf[]): Promise<VrfView[]> {
  if (!rows.length) return [];
  const vpnIds = [...new Set(rows.map((r) => r.vpnId))];
  const vpns = await db.vpn.findMany({ where: { id: { in: vpnIds } }, include: vpnInclude });
  const exporterIds = [...new Set(vpns.flatMap((v) => v.imports.map((i) => i.exporterId)))];
  const exporters = exporterIds.length ? await db.vpn.findMany({ where: { id: { in: exporterIds } }, include: vpnInclude }) : [];
  const sites = (
    await db.site.findMany({
      where: { OR: rows.map((r) => ({ vpnId: r.vpnId, accesses: { some: { nodeId: r.nodeId } } })) },
      select: { id: true, role: true, vpnId: true, accesses: { select: { nodeId: true } } },
    })
  ).flatMap((s) => s.accesses.map((a) => ({ id: s.id, role: s.role, vpnId: s.vpnId, nodeId: a.nodeId })));
  const byId = new Map<string, VpnRow>([...vpns, ...exporters].map((v) => [v.id, v]));
  return rows.map((r) => {
    const vpn = byId.get(r.vpnId)!;
    return vrfView(r, {
      vpn,
      exporters: vpn.imports.map((i) => byId.get(i.exporterId)!).filter(Boolean),
      sites: sites.filter((s) => s.vpnId === r.vpnId && s.nodeId === r.nodeId),
    });
  });
}

export function prismaVrfStore(db: Db): VrfStore {
  return {
    async read(id) {
      const row = await db.vrf.findUnique({ where: { id } });
      return row ? (await vrfViews(db, [row]))[0] : undefined;
    },
    async list(filter, after, limit) {
      const rows = await db.vrf.findMany({
        where: { ...afterWhere(after), ...(filter.vpn ? { vpnId: filter.vpn } : {}), ...(filter.node ? { nodeId: filter.node } : {}), ...statusWhere(filter) },
        orderBy: { id: 'asc' },
        take: limit,
      });
      return vrfViews(db, rows);
    },
    exists: async (id) => (await db.vrf.findUnique({ where: { id }, select: { id: true } })) !== null,
    async create({ id, vpn, node }) {
      await db.vrf.create({ data: { id, vpnId: vpn, nodeId: node } });
    },
    async markPending(ids) {
      if (!ids.length) return;
      await db.vrf.updateMany({ where: { id: { in: ids } }, data: { status: 'PENDING', statusReason: null, version: { increment: 1 } } });
    },
    async delete(id) {
      await db.vrf.delete({ where: { id } });
    },
    async ofVpns(vpns) {
      const rows = await db.vrf.findMany({ where: { vpnId: { in: vpns } }, select: { id: true, nodeId: true } });
      return rows.map((v) => ({ id: v.id, node: v.nodeId }));
    },
  };
}
