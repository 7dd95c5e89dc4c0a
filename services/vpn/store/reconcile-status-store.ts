// The statuses a node's reconcile writes: its own, its links', its VRFs' and
// sites', and those of the VPNs of its VRFs (a VPN's status is that of its
// VRFs on every PE together).
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import { lockRows } from './db.js';
import { aggregate, type DerivedStatus, type StatusValue } from '../state/forwarding.js';

/** The statuses one reconcile of a node writes. */
export interface NodeStatuses {
  node: DerivedStatus;
  /** By VPN id: the node's VRF of it. */
  vrfs: Map<string, DerivedStatus>;
  /** By site id. */
  sites: Map<string, DerivedStatus>;
}

/** What has never been reconciled shows that it is now; other statuses stay until the run has recomputed them. */
export async function markProvisioning(prisma: PrismaClient, node: string): Promise<void> {
  const where = { status: 'PENDING' as const };
  const data = { status: 'PROVISIONING' as const };
  await prisma.$transaction([
    prisma.node.updateMany({ where: { id: node, ...where }, data }),
    prisma.site.updateMany({ where: { nodeId: node, ...where }, data }),
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
    await tx.node.updateMany({ where: { id: node }, data: { status: s.node.status, statusReason: s.node.reason } });
    // Links: whether the node's reconcile went through (their operational state is the agents' to report).
    const linkStatus = all ?? { status: 'ACTIVE', reason: null };
    await tx.link.updateMany({ where: { OR: [{ aNodeId: node }, { bNodeId: node }] }, data: { status: linkStatus.status, statusReason: linkStatus.reason } });
    if (all) {
      await tx.site.updateMany({ where: { nodeId: node }, data: { status: all.status, statusReason: all.reason } });
      await tx.vrf.updateMany({ where: { nodeId: node }, data: { status: all.status, statusReason: all.reason } });
    }
    for (const [key, ids] of grouped(s.sites)) await tx.site.updateMany({ where: { nodeId: node, id: { in: ids } }, data: unkey(key) });
    for (const [key, vpns] of grouped(s.vrfs)) await tx.vrf.updateMany({ where: { nodeId: node, vpnId: { in: vpns } }, data: unkey(key) });
    const vpnIds = (await tx.vrf.findMany({ where: { nodeId: node }, select: { vpnId: true } })).map((v) => v.vpnId);
    // Two PEs' jobs finishing at once must not each see the other's VRF unfinished (and leave the VPN provisioning).
    await lockRows(tx, 'vpn', vpnIds);
    const rows = await tx.vrf.findMany({ where: { vpnId: { in: vpnIds } }, select: { vpnId: true, nodeId: true, status: true, statusReason: true }, orderBy: { id: 'asc' } });
    const byVpn = new Map<string, DerivedStatus>();
    for (const vpn of vpnIds) {
      const parts = rows.filter((r) => r.vpnId === vpn).map((r) => ({ status: r.status as StatusValue, reason: r.statusReason }));
      byVpn.set(vpn, aggregate(parts));
    }
    for (const [key, vpns] of grouped(byVpn)) await tx.vpn.updateMany({ where: { id: { in: vpns } }, data: unkey(key) });
    return before?.status;
  });
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
