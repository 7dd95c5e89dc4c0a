// VRFs are derived (RFC 9182 vpn-node): one per VPN per PE that has a site
// of the VPN, created with its first site and removed with its last.
import type { Vrf } from '../../common/gen/prisma/client.js';
import { vrfId, vrfView, type VpnRow } from './records.js';
import type { Filter } from './handler.js';
import { statusFilter } from './handler.js';
import type { VrfView } from './types.js';
import type { Db, WriteContext } from './write-context.js';

const vpnInclude = { routeTargets: true, imports: true } as const;

/** Views of VRF rows, with the VPNs, extranet exporters and sites they need, in three queries. */
export async function vrfViews(db: Db, rows: Vrf[]): Promise<VrfView[]> {
  if (!rows.length) return [];
  const vpnIds = [...new Set(rows.map((r) => r.vpnId))];
  const vpns = await db.vpn.findMany({ where: { id: { in: vpnIds } }, include: vpnInclude });
  const exporterIds = [...new Set(vpns.flatMap((v) => v.imports.map((i) => i.exporterId)))];
  const exporters = exporterIds.length ? await db.vpn.findMany({ where: { id: { in: exporterIds } }, include: vpnInclude }) : [];
  const sites = await db.site.findMany({
    where: { OR: rows.map((r) => ({ vpnId: r.vpnId, nodeId: r.nodeId })) },
    select: { id: true, role: true, vpnId: true, nodeId: true },
  });
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

export async function readVrf(db: Db, id: string): Promise<VrfView | undefined> {
  const row = await db.vrf.findUnique({ where: { id } });
  return row ? (await vrfViews(db, [row]))[0] : undefined;
}

export const vrfFilters = ['vpn', 'node', 'status'] as const;

export async function listVrfs(db: Db, filter: Filter, after: string | undefined, limit: number): Promise<VrfView[]> {
  const rows = await db.vrf.findMany({
    where: {
      ...(after ? { id: { gt: after } } : {}),
      ...(filter.vpn ? { vpnId: filter.vpn } : {}),
      ...(filter.node ? { nodeId: filter.node } : {}),
      ...statusFilter(filter),
    },
    orderBy: { id: 'asc' },
    take: limit,
  });
  return vrfViews(db, rows);
}

/** Makes the VRF of (vpn, node) exist exactly when a site of the VPN is on the node. */
export async function syncVrf(ctx: WriteContext, vpnId: string, nodeId: string): Promise<void> {
  const id = vrfId(vpnId, nodeId);
  const [sites, vrf] = await Promise.all([ctx.tx.site.count({ where: { vpnId, nodeId } }), ctx.tx.vrf.findUnique({ where: { id } })]);
  if (sites && !vrf) {
    await ctx.tx.vrf.create({ data: { id, vpnId, nodeId } });
    ctx.changed('vrf', id, 'create');
  } else if (sites && vrf) {
    await ctx.tx.vrf.update({ where: { id }, data: { status: 'PENDING', statusReason: null, version: { increment: 1 } } });
    ctx.changed('vrf', id, 'update');
  } else if (!sites && vrf) {
    // Its RD and labels are released by the node's reconcile (owner keys name the VRF).
    await ctx.tx.vrf.delete({ where: { id } });
    ctx.changed('vrf', id, 'delete');
  }
}

/** Marks the VRFs of some VPNs as needing reconcile and names their nodes as affected. */
export async function touchVrfsOf(ctx: WriteContext, vpnIds: string[]): Promise<void> {
  const vrfs = await ctx.tx.vrf.findMany({ where: { vpnId: { in: vpnIds } }, select: { id: true, nodeId: true } });
  if (!vrfs.length) return;
  await ctx.tx.vrf.updateMany({ where: { vpnId: { in: vpnIds } }, data: { status: 'PENDING', statusReason: null, version: { increment: 1 } } });
  for (const v of vrfs) {
    ctx.changed('vrf', v.id, 'update');
    ctx.affect(v.nodeId);
  }
}
