// The reads of one node's intent (domain/node-intent.ts): the inventory, the
// node's VRFs with their VPN, sites and allocations, in one go. Reads
// through any Prisma handle, so a dry run reads the would-be intent inside
// its transaction.
import type { Vrf as VrfRow } from '../../common/gen/prisma/client.js';
import type { NodeIntent, Vpn, Vrf } from '../domain/node-intent.js';
import { routeTargetsOfVrf } from '../domain/route-targets.js';
import { linkView, nodeView, siteInclude, siteView, vpnView } from './records.js';
import { attachedTo } from '../domain/site-access.js';
import { toVrfAllocation } from './allocation-store.js';
import type { Db } from './db.js';
import { vrfLabelRequests } from '../reconcile/desired-input.js';
import { none, type MissingValues } from '../reconcile/missing-values.js';

const vpnInclude = { routeTargets: true, imports: true } as const;

/** The VPNs, plus the VPNs they import (extranet), by id. */
export async function loadVpns(db: Db, ids: string[]): Promise<Map<string, Vpn>> {
  const vpns = ids.length ? await db.vpn.findMany({ where: { id: { in: ids } }, include: vpnInclude }) : [];
  const missing = [...new Set(vpns.flatMap((v) => v.imports.map((i) => i.exporterId)))].filter((id) => !vpns.some((v) => v.id === id));
  const exporters = missing.length ? await db.vpn.findMany({ where: { id: { in: missing } }, include: vpnInclude }) : [];
  return new Map([...vpns, ...exporters].map((v) => [v.id, vpnView(v)]));
}

export const toVrf = (r: VrfRow): Vrf => ({ id: r.id, vpn: r.vpnId, node: r.nodeId, routeDistinguisher: r.routeDistinguisher });

/** `missing`: what stands in for values not allocated yet (a dry run's placeholders). */
export async function loadNodeIntent(db: Db, nodeId: string, missing: MissingValues = none): Promise<NodeIntent | undefined> {
  const [nodes, links, vrfs, sites, allocations, labels] = await Promise.all([
    db.node.findMany({ orderBy: { id: 'asc' } }),
    db.link.findMany({ orderBy: { id: 'asc' } }),
    db.vrf.findMany({ where: { nodeId }, orderBy: { id: 'asc' } }),
    db.site.findMany({ where: { accesses: { some: { nodeId } } }, orderBy: { id: 'asc' }, include: siteInclude }),
    db.vrfAllocation.findMany({ where: { nodeId } }),
    db.nodeLabel.findMany({ where: { nodeId } }),
  ]);
  const nodeRow = nodes.find((n) => n.id === nodeId);
  if (!nodeRow) return undefined;
  const vpns = await loadVpns(db, [...new Set(vrfs.map((v) => v.vpnId))]);
  for (const [id, vpn] of vpns) vpns.set(id, missing.vpn(vpn));
  const allocationOf = new Map(allocations.map((a) => [a.vrfId, toVrfAllocation(a)]));
  const siteViews = sites.map((r) => attachedTo(siteView(r), nodeId)!);
  const vrfIntents = vrfs.map(toVrf).map((vrf) => {
    const vpn = vpns.get(vrf.vpn)!;
    const mine = siteViews.filter((s) => s.vpn === vrf.vpn);
    const { imports, exports } = routeTargetsOfVrf(vpn, vpns, mine);
    return { vrf, vpn, sites: mine, allocation: missing.vrf(vrf, allocationOf.get(vrf.id)), importRouteTargets: imports, exportRouteTargets: exports };
  });
  const wanted = vrfIntents.flatMap((vi) => vrfLabelRequests(vi.vpn.id, vi.vpn.labelMode, nodeId, vi.sites).map((r) => r.owner));
  return {
    node: nodeView(nodeRow),
    nodes: nodes.map(nodeView),
    links: links.map(linkView),
    labels: missing.labels(nodeId, new Map(labels.map((l) => [l.owner, l.label])), wanted),
    vrfs: vrfIntents,
  };
}
