// Which nodes a node's reconcile must queue when what it exports changed:
// what BGP propagation does (with the bgp service, its route watch does it).
import type { Db } from './db.js';

/** PEs other than `node` with VRFs of these VPNs, of the node's current VPNs, or of VPNs importing any of them (extranet). */
export async function importingNodes(db: Db, node: string, vpns: ReadonlySet<string>): Promise<string[]> {
  const all = new Set(vpns);
  for (const v of await db.vrf.findMany({ where: { nodeId: node }, select: { vpnId: true } })) all.add(v.vpnId);
  if (!all.size) return [];
  const extranet = await db.vpnImport.findMany({ where: { exporterId: { in: [...all] } }, select: { importerId: true } });
  const rows = await db.vrf.findMany({
    where: { vpnId: { in: [...all, ...extranet.map((i) => i.importerId)] }, nodeId: { not: node } },
    select: { nodeId: true },
    distinct: ['nodeId'],
  });
  return rows.map((r) => r.nodeId).sort();
}

/** Every node but this one (an inventory change moves everyone's transport paths). */
export async function otherNodes(db: Db, node: string): Promise<string[]> {
  return (await db.node.findMany({ where: { id: { not: node } }, select: { id: true } })).map((n) => n.id);
}
