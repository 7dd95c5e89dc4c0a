// Reads of what the allocator recorded from the labels service (allocator.ts
// writes them): the VPN labels each node holds, the VRF tables in use, the
// RDs allocated for VRFs. Through any Prisma handle, so a dry run reads
// inside its transaction.
import type { Rd } from '../domain/node-intent.js';
import type { Db } from '../intent/write-context.js';

/** The VPN labels recorded for each node, by owner; every node in `nodes` has an entry. */
export async function recordedLabels(db: Db, nodes: string[]): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>(nodes.map((n) => [n, new Map()]));
  for (const l of await db.nodeLabel.findMany({ where: { nodeId: { in: nodes } } })) out.get(l.nodeId)!.set(l.owner, l.label);
  return out;
}

/** The VRF table ids in use on each node (only nodes that have some). */
export async function tablesInUse(db: Db, nodes: string[]): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  for (const a of await db.vrfAllocation.findMany({ where: { nodeId: { in: nodes } }, select: { nodeId: true, tableId: true } })) {
    if (!out.has(a.nodeId)) out.set(a.nodeId, new Set());
    out.get(a.nodeId)!.add(a.tableId);
  }
  return out;
}

/** The node's VRFs holding an RD allocated for them (not their VPN's given one). */
export async function ownedRouteDistinguishers(db: Db, node: string): Promise<{ vrfId: string; vpnId: string; rd: Rd }[]> {
  const rows = await db.vrfAllocation.findMany({ where: { nodeId: node, rdOwned: true } });
  return rows.filter((a) => a.rd).map((a) => ({ vrfId: a.vrfId, vpnId: a.vpnId, rd: a.rd! }));
}
