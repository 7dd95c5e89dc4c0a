// Everything one node's desired state depends on, read in one go: the
// inventory, the node's VRFs with their VPN, sites and allocations. Reads
// through any Prisma handle, so a dry run reads the would-be intent inside
// its transaction.
import type { Link, Node, Site, VrfAllocation, Vrf } from '../../common/gen/prisma/client.js';
import { vrfRouteTargets, type VpnRow } from '../intent/records.js';
import type { Db } from '../intent/write-context.js';
import { labelModeOf, vrfLabelRequests } from './desired-input.js';
import { none, type MissingValues } from './missing-values.js';

export interface VrfIntent {
  vrf: Vrf;
  vpn: VpnRow;
  sites: Site[];
  allocation: VrfAllocation | undefined;
  importRouteTargets: string[];
  exportRouteTargets: string[];
}

export interface NodeIntent {
  node: Node;
  nodes: Node[];
  links: Link[];
  vrfs: VrfIntent[];
  /** The node's VPN labels held so far, by owner. */
  labels: Map<string, number>;
}

const vpnInclude = { routeTargets: true, imports: true } as const;

/** VPN rows with their route targets, plus the VPNs they import (extranet). */
export async function loadVpns(db: Db, ids: string[]): Promise<Map<string, VpnRow>> {
  const vpns = ids.length ? await db.vpn.findMany({ where: { id: { in: ids } }, include: vpnInclude }) : [];
  const missing = [...new Set(vpns.flatMap((v) => v.imports.map((i) => i.exporterId)))].filter((id) => !vpns.some((v) => v.id === id));
  const exporters = missing.length ? await db.vpn.findMany({ where: { id: { in: missing } }, include: vpnInclude }) : [];
  return new Map([...vpns, ...exporters].map((v) => [v.id, v]));
}

export function routeTargetsOfVrf(vpn: VpnRow, byId: Map<string, VpnRow>, sites: { role: string }[]) {
  const exporters = vpn.imports.map((i) => byId.get(i.exporterId)).filter((v): v is VpnRow => Boolean(v));
  return vrfRouteTargets({ vpn, exporters, sites: sites.map((s) => ({ id: '', role: s.role })) });
}

export async function loadNodeIntent(db: Db, nodeId: string, missing: MissingValues = none): Promise<NodeIntent | undefined> {
  const [nodes, links, vrfs, sites, allocations, labels] = await Promise.all([
    db.node.findMany({ orderBy: { id: 'asc' } }),
    db.link.findMany({ orderBy: { id: 'asc' } }),
    db.vrf.findMany({ where: { nodeId }, orderBy: { id: 'asc' } }),
    db.site.findMany({ where: { nodeId }, orderBy: { id: 'asc' } }),
    db.vrfAllocation.findMany({ where: { nodeId } }),
    db.nodeLabel.findMany({ where: { nodeId } }),
  ]);
  const node = nodes.find((n) => n.id === nodeId);
  if (!node) return undefined;
  const vpns = await loadVpns(db, [...new Set(vrfs.map((v) => v.vpnId))]);
  for (const [id, row] of vpns) vpns.set(id, missing.vpn(row));
  const allocationOf = new Map(allocations.map((a) => [a.vrfId, a]));
  const vrfIntents = vrfs.map((vrf) => {
    const vpn = vpns.get(vrf.vpnId)!;
    const mine = sites.filter((s) => s.vpnId === vrf.vpnId);
    const { imports, exports } = routeTargetsOfVrf(vpn, vpns, mine);
    return { vrf, vpn, sites: mine, allocation: missing.vrf(vrf, allocationOf.get(vrf.id)), importRouteTargets: imports, exportRouteTargets: exports };
  });
  const wanted = vrfIntents.flatMap((vi) => vrfLabelRequests(vi.vpn.id, labelModeOf(vi.vpn.labelMode), nodeId, vi.sites).map((r) => r.owner));
  return { node, nodes, links, labels: missing.labels(nodeId, new Map(labels.map((l) => [l.owner, l.label])), wanted), vrfs: vrfIntents };
}
