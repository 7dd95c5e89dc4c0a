// The statuses a node's reconcile writes: its own, its links', its VRFs' and
// sites', and those of the VPNs of its VRFs (a VPN's status is that of its
// VRFs on every PE together).
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import { lockRows, type Tx } from './db.js';
import { aggregate, type DerivedStatus, type StatusValue } from '../state/forwarding.js';

/** The statuses one reconcile of a node writes. */
export interface NodeStatuses {
  node: DerivedStatus;
  /** By VPN id: the node's VRF of it. */
  vrfs: Map<string, DerivedStatus>;
  /** By site id: the site's access on this node. */
  sites: Map<string, DerivedStatus>;
}

/** What has never been reconciled shows that it is now; other statuses stay until the run has recomputed them. */
export async function markProvisioning(prisma: PrismaClient, node: string): Promise<void> {
  const where = { status: 'PENDING' as const };
  const data = { status: 'PROVISIONING' as const };
  await prisma.$transaction([
    prisma.node.updateMany({ where: { id: node, ...where }, data }),
    prisma.siteAccess.updateMany({ where: { nodeId: node, ...where }, data }),
    prisma.site.updateMany({ where: { accesses: { some: { nodeId: node } }, ...where }, data }),
    prisma.vrf.updateMany({ where: { nodeId: node, ...where }, data }),
  ]);
}

/**
 * Writes a run's statuses; `all` (a failed run) goes on every site and VRF
 * of the node first. Returns the node's status before the write.
 */
export async function writeNodeStatuses(prisma: PrismaClient, node: string, s: NodeStatuses, all?: DerivedStatus): Promise<string | undefined> {
  return prisma.$transaction(async (tx) => {
    const before = await tx.node.findUnique({ where: { id: node }, select: { status: true } });
    const nodeStatus = { status: s.node.status, statusReason: s.node.reason === null ? null : s.node.reason.slice(0, 1000) };
    await tx.node.updateMany({ where: { id: node, ...unlike(nodeStatus) }, data: nodeStatus });
    // Links: whether the node's reconcile went through (their operational state is the agents' to report).
    const linkStatus = all ?? { status: 'ACTIVE', reason: null };
    const linkData = { status: linkStatus.status, statusReason: linkStatus.reason };
    await tx.link.updateMany({ where: { OR: [{ aNodeId: node }, { bNodeId: node }], ...unlike(linkData) }, data: linkData });
    if (all) {
      const allData = { status: all.status, statusReason: all.reason };
      await tx.siteAccess.updateMany({ where: { nodeId: node, ...unlike(allData) }, data: allData });
      await tx.vrf.updateMany({ where: { nodeId: node, ...unlike(allData) }, data: allData });
    }
    for (const [key, ids] of grouped(s.sites)) await tx.siteAccess.updateMany({ where: { nodeId: node, siteId: { in: ids }, ...unlike(unkey(key)) }, data: unkey(key) });
    await writeSiteStatuses(tx, node);
    for (const [key, vpns] of grouped(s.vrfs)) await tx.vrf.updateMany({ where: { nodeId: node, vpnId: { in: vpns }, ...unlike(unkey(key)) }, data: unkey(key) });
    const vpnIds = (await tx.vrf.findMany({ where: { nodeId: node }, select: { vpnId: true } })).map((v) => v.vpnId);
    // Two PEs' jobs finishing at once must not each see the other's VRF unfinished (and leave the VPN provisioning).
    await lockRows(tx, 'vpn', vpnIds);
    const rows = await tx.vrf.findMany({ where: { vpnId: { in: vpnIds } }, select: { vpnId: true, nodeId: true, status: true, statusReason: true }, orderBy: { id: 'asc' } });
    const byVpn = new Map<string, DerivedStatus>();
    for (const vpn of vpnIds) {
      const parts = rows.filter((r) => r.vpnId === vpn).map((r) => ({ status: r.status as StatusValue, reason: r.statusReason }));
      byVpn.set(vpn, aggregate(parts));
    }
    for (const [key, vpns] of grouped(byVpn)) await tx.vpn.updateMany({ where: { id: { in: vpns }, ...unlike(unkey(key)) }, data: unkey(key) });
    return before?.status;
  });
}

/**
 * A site's status is its accesses' together (each written by its PE's
 * reconcile): active when all are, degraded when some are not (aggregate).
 * Under the sites' row locks, so two PEs' jobs finishing at once do not each
 * miss the other's access.
 */
async function writeSiteStatuses(tx: Tx, node: string): Promise<void> {
  const siteIds = (await tx.siteAccess.findMany({ where: { nodeId: node }, select: { siteId: true } })).map((a) => a.siteId);
  await lockRows(tx, 'site', siteIds);
  const accesses = await tx.siteAccess.findMany({ where: { siteId: { in: siteIds } }, select: { siteId: true, id: true, status: true, statusReason: true }, orderBy: [{ siteId: 'asc' }, { id: 'asc' }] });
  const bySite = new Map<string, DerivedStatus>();
  for (const id of new Set(siteIds)) {
    const mine = accesses.filter((a) => a.siteId === id);
    // With several accesses, a reason says which one it is about.
    const parts = mine.map((a) => ({ status: a.status as StatusValue, reason: a.statusReason && mine.length > 1 ? `access ${a.id}: ${a.statusReason}` : a.statusReason }));
    bySite.set(id, aggregate(parts));
  }
  for (const [key, ids] of grouped(bySite)) await tx.site.updateMany({ where: { id: { in: ids }, ...unlike(unkey(key)) }, data: unkey(key) });
}

/** Rows to update, grouped by the status they get (one UPDATE per distinct status). */
function grouped(statuses: Map<string, DerivedStatus>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [id, st] of statuses) {
    const key = JSON.stringify([st.status, st.reason]);
    out.set(key, [...(out.get(key) ?? []), id]);
  }
  return out;
}

const unkey = (key: string) => {
  const [status, statusReason] = JSON.parse(key) as [StatusValue, string | null];
  return { status, statusReason: statusReason === null ? null : statusReason.slice(0, 1000) };
};

/**
 * Only rows whose status or reason differ: a reconcile that recomputes the
 * same status writes nothing, so updatedAt says when something changed
 * (and readers comparing bodies see no spurious change).
 */
function unlike(d: { status: string; statusReason: string | null }) {
  // Spelt out for SQL's NULLs: `reason <> 'x'` is not true of a NULL reason.
  const reasonDiffers = d.statusReason === null ? [{ statusReason: { not: null } }] : [{ statusReason: null }, { statusReason: { not: d.statusReason } }];
  return { AND: [{ OR: [{ status: { not: d.status as StatusValue } }, ...reasonDiffers] }] };
}
