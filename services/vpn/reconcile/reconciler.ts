// Reconciling one node: level-triggered, it recomputes everything the node
// should have from the intent, so a duplicate, late or retried job is
// harmless. In order:
//   1. allocate - labels service, idempotent by owner key (allocator.ts),
//                 values written back to the intent rows;
//   2. define   - the node's VRFs and their originated routes in BGP
//                 (VpnRouting), VRFs that left the intent deleted; with
//                 `originateAfterInstall`, a route only once the node's
//                 agent reported an applied generation whose LFIB holds its
//                 label, so no PE sends traffic the egress PE would drop
//                 (the agent's report queues the node again);
//   3. compute  - the node's complete desired state (desired-state/) from
//                 the intent and the routes BGP selected into its VRFs;
//   4. store    - as a new generation only if it changed; with simulated
//                 routing, with an outbox row that reconciles the PEs
//                 importing this node's routes when its exports changed
//                 (what BGP propagation does; with the bgp service, its
//                 WatchVrfRoutes stream queues them, vrf-route-watch.ts);
//   5. release  - labels and RDs nothing wants any more, only now that the
//                 stored state no longer uses them (they go into hold-down).
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import { VrfRouteSource, type DesiredStateDelta } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { Logger } from '../../common/logger.js';
import { computeNodeDesiredState, prepareNetwork } from '../../common/desired-state/index.js';
import type { ChangeSink } from '../intent/intent-service.js';
import { writeOutbox } from '../intent/outbox.js';
import { lockRows, type Db } from '../intent/write-context.js';
import { exportedRoutes } from '../routes/route-selection.js';
import type { VpnRouting } from '../routes/vpn-routing.js';
import type { DesiredStateStore } from '../state/desired-state-store.js';
import { installedLabels } from '../routes/installed-labels.js';
import type { NodeAllocator } from './allocator.js';
import { desiredInput, exportingSites, labelModeOf } from './desired-input.js';
import { loadNodeIntent, type NodeIntent } from './node-intent.js';
import { removeUnwantedVrfs } from './speaker-sweep.js';

/** Whether what the node exports to other PEs changed: its VRFs, local routes or VPN labels. */
export function exportsChanged(delta: DesiredStateDelta): boolean {
  return delta.changes.some((c) => {
    const e = (c.entry ?? c.previous)?.entry;
    if (e?.$case === 'vrf') return true;
    if (e?.$case === 'vrfRoute') return e.value.source !== VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN;
    if (e?.$case === 'lfibEntry') return !e.value.owner.startsWith('sid:');
    return false;
  });
}

export interface ReconcileOptions {
  /** Queue the PEs importing a node's routes when its exports change (simulated routing: nothing else propagates them). */
  notifyImporters: boolean;
  /** Originate a route only once the node's agent has installed its label (DESIGN: never black-hole). */
  originateAfterInstall: boolean;
}

export interface ReconcileOutcome {
  generation: number;
  changed: boolean;
  released: string[];
}

export class NodeReconciler {
  /** Test seam: runs between allocation and the rest, e.g. to kill a job half way. */
  afterAllocation: ((node: string) => Promise<void> | void) | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly allocator: NodeAllocator,
    private readonly routing: VpnRouting,
    private readonly store: DesiredStateStore,
    private readonly sink: ChangeSink,
    private readonly log: Logger,
    private readonly options: ReconcileOptions = { notifyImporters: true, originateAfterInstall: false },
  ) {}

  /** `retry`: an attempt after failures, which leaves their error in the status until it succeeds. */
  async reconcile(node: string, options: { retry?: boolean } = {}): Promise<ReconcileOutcome | undefined> {
    let intent = await loadNodeIntent(this.prisma, node);
    if (!intent) {
      await this.forget(node);
      return undefined;
    }
    if (!options.retry) await this.setStatus(node, 'PROVISIONING', null);
    const { inventoryChanged } = await this.allocator.allocate(intent);
    await this.afterAllocation?.(node);
    intent = (await loadNodeIntent(this.prisma, node))!;
    const waiting = await this.define(intent);

    const routes = await this.routing.selectedRoutes(node);
    const { state, warnings } = computeNodeDesiredState(prepareNetwork(desiredInput(intent)), node, routes, { generation: 0 });
    let outboxId: bigint | undefined;
    let notify: string[] = [];
    const saved = await this.store.save(node, state, warnings, async (tx, result) => {
      notify = inventoryChanged || !this.options.notifyImporters ? [] : exportsChanged(result.delta) ? await this.importers(tx, node, result) : [];
      if (inventoryChanged) notify = (await tx.node.findMany({ where: { id: { not: node } }, select: { id: true } })).map((n) => n.id);
      if (notify.length) outboxId = await writeOutbox(tx, { aggregate: 'node', aggregateId: node, action: 'update', nodes: notify, changes: [] });
    });
    if (outboxId !== undefined) await this.sink.committed(outboxId, notify).catch((err: Error) => this.log.warn({ err: err.message, node }, 'importers left to the outbox relay'));

    const released = await this.allocator.releaseUnwanted(intent);
    await this.setStatus(node, 'ACTIVE', null, waiting);
    if (warnings.length) this.log.info({ node, warnings: warnings.slice(0, 5), count: warnings.length }, 'desired state leaves something out');
    return { generation: saved.generation, changed: saved.changed, released };
  }

  /**
   * VRFs and originated routes of the node in BGP; VRFs that left the intent
   * are deleted (withdrawing their routes). Returns, per VPN, why some of
   * its routes are not advertised yet.
   */
  private async define(intent: NodeIntent): Promise<Map<string, string>> {
    const node = intent.node.id;
    const live = new Set<string>();
    const waiting = new Map<string, string>();
    const installed = this.options.originateAfterInstall ? await installedLabels(this.prisma, this.store, node, () => this.routing.advertisedLabels(node)) : undefined;
    for (const vi of intent.vrfs) {
      const a = vi.allocation;
      if (!a?.rd) continue;
      live.add(vi.vpn.id);
      const label = a.label ?? undefined;
      await this.routing.defineVrf(node, {
        name: vi.vpn.id,
        vpn: vi.vpn.id,
        rd: a.rd,
        importRouteTargets: vi.importRouteTargets,
        exportRouteTargets: vi.exportRouteTargets,
        ...(label !== undefined ? { label } : {}),
        labelMode: labelModeOf(vi.vpn.labelMode),
        nextHop: intent.node.loopback,
      });
      const exporting = {
        node,
        nextHop: intent.node.loopback,
        name: vi.vpn.id,
        rd: a.rd,
        labelMode: labelModeOf(vi.vpn.labelMode),
        exportRouteTargets: vi.exportRouteTargets,
        ...(label !== undefined ? { vrfLabel: label } : {}),
        sites: exportingSites(vi.vpn.id, node, vi.sites, intent.labels),
      };
      let routes = exportedRoutes(exporting);
      if (installed) {
        const missing = [...new Set(routes.filter((r) => !installed.has(r.label)).map((r) => r.label))].sort((a, b) => a - b);
        if (missing.length) waiting.set(vi.vpn.id, `waiting for the agent of ${node} to install labels ${missing.join(', ')}; routes using them are not advertised yet`);
        routes = routes.filter((r) => installed.has(r.label));
      }
      await this.routing.originate(node, vi.vpn.id, routes.map((r) => ({ ...r, ceNextHop: '' })));
    }
    // Before anything is released (step 5): the speaker's VRFs the intent no longer names, whatever left them there.
    await removeUnwantedVrfs(this.routing, node, live, this.log);
    return waiting;
  }

  /** PEs with VRFs that import this node's VPNs (same VPN, or extranet), before or after the change. */
  private async importers(db: Db, node: string, result: { delta: DesiredStateDelta; previous: { vrfs: { vpn: string }[] } | undefined }): Promise<string[]> {
    const vpns = new Set<string>(result.previous?.vrfs.map((v) => v.vpn) ?? []);
    for (const c of result.delta.changes) {
      for (const e of [c.entry?.entry, c.previous?.entry]) if (e?.$case === 'vrf') vpns.add(e.value.vpn);
    }
    const current = await db.vrf.findMany({ where: { nodeId: node }, select: { vpnId: true } });
    for (const v of current) vpns.add(v.vpnId);
    if (!vpns.size) return [];
    const extranet = await db.vpnImport.findMany({ where: { exporterId: { in: [...vpns] } }, select: { importerId: true } });
    const rows = await db.vrf.findMany({
      where: { vpnId: { in: [...vpns, ...extranet.map((i) => i.importerId)] }, nodeId: { not: node } },
      select: { nodeId: true },
      distinct: ['nodeId'],
    });
    return rows.map((r) => r.nodeId).sort();
  }

  /** The node left the intent: its speaker VRFs removed, then what it held released, its desired state dropped. */
  private async forget(node: string): Promise<void> {
    await removeUnwantedVrfs(this.routing, node, new Set(), this.log);
    await this.allocator.releaseNode(node);
    await this.store.forget(node);
  }

  /** After a failed attempt: the reason goes on every resource the job was for. */
  async failed(node: string, reason: string): Promise<void> {
    await this.setStatus(node, 'FAILED', reason.slice(0, 1000));
  }

  /** `waiting`: VPNs whose VRF (and sites) on the node stay provisioning, with the reason, though the job is done. */
  private async setStatus(node: string, status: 'PROVISIONING' | 'ACTIVE' | 'FAILED', statusReason: string | null, waiting = new Map<string, string>()): Promise<void> {
    const data = { status, statusReason };
    await this.prisma.$transaction(async (tx) => {
      await tx.node.updateMany({ where: { id: node }, data });
      await tx.link.updateMany({ where: { OR: [{ aNodeId: node }, { bNodeId: node }] }, data });
      await tx.site.updateMany({ where: { nodeId: node }, data });
      await tx.vrf.updateMany({ where: { nodeId: node }, data });
      const vpnIds = (await tx.vrf.findMany({ where: { nodeId: node }, select: { vpnId: true } })).map((v) => v.vpnId);
      // Two PEs' jobs finishing at once must not each see the other's VRF unfinished (and leave the VPN provisioning).
      await lockRows(tx, 'vpn', vpnIds);
      if (status !== 'ACTIVE') {
        await tx.vpn.updateMany({ where: { id: { in: vpnIds } }, data });
        return;
      }
      for (const [vpnId, reason] of waiting) {
        const held = { status: 'PROVISIONING' as const, statusReason: reason };
        await tx.vrf.updateMany({ where: { nodeId: node, vpnId }, data: held });
        await tx.site.updateMany({ where: { nodeId: node, vpnId }, data: held });
      }
      // A VPN is active once every VRF of it is.
      const unfinished = await tx.vrf.findMany({ where: { vpnId: { in: vpnIds }, status: { not: 'ACTIVE' } }, select: { vpnId: true } });
      const busy = new Set(unfinished.map((v) => v.vpnId));
      await tx.vpn.updateMany({ where: { id: { in: vpnIds.filter((v) => !busy.has(v)) } }, data });
    });
  }
}
