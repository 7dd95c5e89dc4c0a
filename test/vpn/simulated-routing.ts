// A VpnRouting for tests that run the vpn service without a bgp service: it
// answers what BGP would select, computed from what the PEs' jobs have
// defined: every VRF with its allocation (RD, labels) and its sites is a VRF
// "defined and originated" in BGP. It reads PostgreSQL, not process memory,
// so every replica and every restart sees the same routes. Defining,
// originating and withdrawing are therefore no-ops here: the rows the worker
// wrote are the definition. Production uses BgpVpnRouting.
import type { SelectedVpnRoute } from '../../services/common/desired-state/index.js';
import type { Db } from '../../services/vpn/store/db.js';
import type { Logger } from '../../services/common/logger.js';
import { routeTargetsOfVrf } from '../../services/vpn/domain/route-targets.js';
import { siteInclude, siteView } from '../../services/vpn/store/records.js';
import { attachedTo } from '../../services/vpn/domain/site-access.js';
import { exportingSites, unusableAddresses } from '../../services/vpn/reconcile/desired-input.js';
import { owners } from '../../services/vpn/reconcile/owners.js';
import { loadVpns } from '../../services/vpn/store/node-intent-store.js';
import { selectRoutes, type ExportingVrf, type ImportingVrf } from '../../services/vpn/routes/route-selection.js';
import type { HeldVrf, VpnRouting } from '../../services/vpn/routes/vpn-routing.js';

export class SimulatedVpnRouting implements VpnRouting {
  /** No route event tells the importing PEs: the reconcile queues them. */
  readonly predicted = true;

  constructor(
    private readonly db: Db,
    /** Where the other PEs' site records that cannot be used are told (their own reconcile fails with the reason). */
    private readonly log?: Logger,
  ) {}

  async defineVrf(): Promise<void> {}
  async deleteVrf(): Promise<void> {}
  async originate(): Promise<boolean> {
    return false;
  }
  async withdraw(): Promise<void> {}
  /** No speaker holds anything. */
  async heldVrfs(): Promise<HeldVrf[]> {
    return [];
  }
  /** Nothing is advertised anywhere: the routes are predicted, not originated. */
  async advertisedLabels(): Promise<Set<number>> {
    return new Set();
  }

  async selectedRoutes(node: string): Promise<SelectedVpnRoute[]> {
    const db = this.db;
    const mine = await db.vrf.findMany({ where: { nodeId: node } });
    if (!mine.length) return [];
    // Route targets are unique per VPN, so only the node's VPNs and the ones they import (extranet) can export into its VRFs.
    const vpns = await loadVpns(db, [...new Set(mine.map((v) => v.vpnId))]);
    const candidates = [...vpns.keys()];
    const [vrfs, siteRows] = await Promise.all([
      db.vrf.findMany({ where: { vpnId: { in: candidates } }, orderBy: { id: 'asc' } }),
      db.site.findMany({ where: { vpnId: { in: candidates } }, orderBy: { id: 'asc' }, include: siteInclude }),
    ]);
    const remote = vrfs.filter((v) => v.nodeId !== node);
    const remoteNodes = [...new Set(remote.map((v) => v.nodeId))];
    const [allocations, nodes, labelRows] = await Promise.all([
      db.vrfAllocation.findMany({ where: { vrfId: { in: remote.map((v) => v.id) } } }),
      db.node.findMany({ where: { id: { in: remoteNodes } }, select: { id: true, loopback: true } }),
      db.nodeLabel.findMany({ where: { nodeId: { in: remoteNodes } } }),
    ]);
    const sites = siteRows.map(siteView);
    const allocationOf = new Map(allocations.map((a) => [a.vrfId, a]));
    const loopbackOf = new Map(nodes.map((n) => [n.id, n.loopback]));
    const labelsOf = new Map<string, Map<string, number>>();
    for (const l of labelRows) {
      let m = labelsOf.get(l.nodeId);
      if (!m) labelsOf.set(l.nodeId, (m = new Map()));
      m.set(l.owner, l.label);
    }
    const sitesOf = (vpn: string, n: string) => sites.filter((s) => s.vpn === vpn).flatMap((s) => attachedTo(s, n) ?? []);

    const importers: ImportingVrf[] = mine.map((v) => ({
      name: v.vpnId,
      importRouteTargets: routeTargetsOfVrf(vpns.get(v.vpnId)!, vpns, sitesOf(v.vpnId, node)).imports,
    }));
    const exporters: ExportingVrf[] = [];
    for (const v of remote) {
      const vpn = vpns.get(v.vpnId)!;
      const a = allocationOf.get(v.id);
      const loopback = loopbackOf.get(v.nodeId);
      if (!a?.rd || !loopback) continue; // not defined in BGP yet
      const vs = sitesOf(v.vpnId, v.nodeId);
      for (const site of vs) {
        const unusable = unusableAddresses(site);
        if (unusable.length) this.log?.warn({ node, site: site.id, pe: v.nodeId, unusable }, 'routes of a site that cannot be used left out');
      }
      const mode = vpn.labelMode;
      const labels = labelsOf.get(v.nodeId) ?? new Map<string, number>();
      exporters.push({
        node: v.nodeId,
        nextHop: loopback,
        name: v.vpnId,
        rd: a.rd,
        labelMode: mode,
        exportRouteTargets: routeTargetsOfVrf(vpn, vpns, vs).exports,
        ...(a.label !== null ? { vrfLabel: a.label } : {}),
        ...(labels.has(owners.vrfIpv6(v.vpnId, v.nodeId)) ? { vrfLabelIpv6: labels.get(owners.vrfIpv6(v.vpnId, v.nodeId))! } : {}),
        sites: exportingSites(v.vpnId, v.nodeId, vs, labels),
      });
    }
    return selectRoutes(node, importers, exporters);
  }
}
