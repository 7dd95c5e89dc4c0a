// Reconciling one node: level-triggered, it recomputes everything the node
// should have from the intent, so a duplicate, late or retried job is
// harmless. In order:
//   1. allocate - labels service, idempotent by owner key (allocator.ts),
//                 values written back to the intent rows;
//   1b. decide  - which access of each multi-homed single-active site is
//                 active (active-access.ts), stored; its LOCAL_PREF follows;
//   2. define   - the node's VRFs and their originated routes in BGP
//                 (VpnRouting), VRFs that left the intent deleted; with
//                 `originateAfterInstall`, a route only once the node's
//                 agent reported an applied generation holding everything
//                 it needs here (the VRF with the CE-facing interface, the
//                 VRF route, the LFIB entry of its label), none of it
//                 failed and its CE-facing port not down, so no PE sends
//                 traffic the egress PE would drop (state/forwarding.ts; a
//                 report that changes any of it queues the node again);
//   3. compute  - the node's complete desired state (desired-state/) from
//                 the intent and the routes BGP selected into its VRFs;
//   4. store    - as a new generation only if it changed; with a routing
//                 that predicts (tests without a bgp service), with an
//                 outbox row that reconciles the PEs importing this node's
//                 routes when its exports changed (what BGP propagation
//                 does; with the bgp service, its WatchVrfRoutes stream
//                 queues them, vrf-route-watch.ts);
//   5. release  - labels and RDs nothing wants any more, only now that the
//                 stored state no longer uses them (they go into hold-down);
//   6. status   - with `requireAgents`, what the agent reports installed
//                 against the stored state (state/forwarding.ts): `active`
//                 only for what is installed, not failed, its port up and
//                 its agent heard from.
import { VrfRouteSource, type DesiredStateDelta } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { Logger } from '../../common/logger.js';
import { canonicalPrefix, computeNodeDesiredState, prepareNetwork, type SelectedVpnRoute } from '../../common/desired-state/index.js';
import type { ChangeSink } from '../intent/intent-service.js';
import { exportedRoutes } from '../routes/route-selection.js';
import type { OriginatedRoute, VpnRouting } from '../routes/vpn-routing.js';
import { localPreference } from '../domain/site-access.js';
import type { DesiredStateStore } from '../state/desired-state-store.js';
import type { AgentReports } from '../state/agent-reports.js';
import { aggregate, worst, type DerivedStatus } from '../state/forwarding.js';
import type { NodeAllocator } from './allocator.js';
import type { NodeIntent, Site, VrfIntent } from '../domain/node-intent.js';
import type { NodeStatuses } from '../store/reconcile-status-store.js';
import type { ReconcileStore } from '../store/reconcile-store.js';
import { desiredInput, exportingSites, vrfIpv6Label } from './desired-input.js';
import { removeUnwantedVrfs } from './speaker-sweep.js';
import { cePeersOf, sitePeers } from './ce-peer-intent.js';
import { withCeSessions } from './ce-session-status.js';
import { gatesCeExports, readyCeExports } from './ce-export-gate.js';
import type { CeSessionStatus } from '../routes/bgp-ce-peers.js';
import { ActiveAccesses } from './active-access.js';

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
  /** Originate a route only once the node's agent has installed what it needs and can deliver it (DESIGN: never black-hole). */
  originateAfterInstall: boolean;
  /** `active` needs the agents' reports (vpn.require-agents); false: status follows the reconcile alone, for labs and benchmarks without agents. */
  requireAgents: boolean;
}

/** A VRF's sites with the prefixes each originates and their labels. */
function sitesOf(intent: NodeIntent, vi: VrfIntent) {
  const node = intent.node.id;
  const mode = vi.vpn.labelMode;
  const label = vi.allocation?.label ?? undefined;
  return exportingSites(vi.vpn.id, node, vi.sites, intent.labels).map((s, i) => {
    const labelled = exportedRoutes({ node, nextHop: '', name: vi.vpn.id, rd: '', labelMode: mode, exportRouteTargets: [], ...(label !== undefined ? { vrfLabel: label } : {}), ...vrfIpv6Label(intent, vi.vpn.id), sites: [s] });
    const labelOf = new Map(labelled.map((r) => [r.prefix, r.label]));
    const prefixes = [...new Set([...s.connected, ...s.statics].map((p) => canonicalPrefix(p)))];
    return { site: vi.sites[i]!, routes: prefixes.map((prefix) => ({ prefix, label: labelOf.get(prefix) })) };
  });
}

/** What a VRF's route carries besides its label: from the site (and its access on this PE) it belongs to. */
type RouteAttributes = Pick<OriginatedRoute, 'ceNextHop' | 'routeOrigins' | 'localPref'>;

/**
 * The attributes of each prefix the VRF's sites originate on this PE (their
 * static routes and access subnets): a static route's next hop is the CE's
 * address on this PE's access; the site of origin is stamped so no PE
 * offers the route back into its site (RFC 4364 §7); a multi-homed site's
 * access preference is the VPN route's LOCAL_PREF (domain/site-access.ts).
 */
function routeAttributes(vi: VrfIntent): Map<string, RouteAttributes> {
  const out = new Map<string, RouteAttributes>();
  for (const site of vi.sites) {
    const [exported] = exportingSites(vi.vpn.id, '', [site], new Map());
    const localPref = localPreference(site, site.access.id);
    const common = { ...(site.siteOfOrigin ? { routeOrigins: [site.siteOfOrigin] } : {}), ...(localPref !== undefined ? { localPref } : {}) };
    for (const p of exported!.connected) if (!out.has(p)) out.set(p, { ceNextHop: '', ...common });
    for (const p of exported!.statics) {
      const ce = (p.includes(':') ? site.ipv6 : site.ipv4)?.ceAddress ?? '';
      if (!out.has(p)) out.set(p, { ceNextHop: ce, ...common });
    }
  }
  return out;
}

/** A site's access without the routes it originates: no static routes, no CE sessions. */
function withoutRouting(s: Site): Site {
  const { bgp: _bgp, ...routing } = s.routing ?? {};
  return { ...s, routing: { ...routing, static: [] } };
}

export interface ReconcileOutcome {
  generation: number;
  changed: boolean;
  released: string[];
}

export class NodeReconciler {
  /** Test seam: runs between allocation and the rest, e.g. to kill a job half way. */
  afterAllocation: ((node: string) => Promise<void> | void) | undefined;
  private readonly activeAccesses: ActiveAccesses;

  constructor(
    private readonly db: ReconcileStore,
    private readonly allocator: NodeAllocator,
    private readonly routing: VpnRouting,
    private readonly store: DesiredStateStore,
    private readonly sink: ChangeSink,
    private readonly log: Logger,
    private readonly reports: AgentReports,
    private readonly options: ReconcileOptions = { originateAfterInstall: false, requireAgents: false },
  ) {
    this.activeAccesses = new ActiveAccesses(db, reports, sink, log);
  }

  /** `retry`: an attempt after failures, which leaves their error in the status until it succeeds. */
  async reconcile(node: string, options: { retry?: boolean } = {}): Promise<ReconcileOutcome | undefined> {
    let intent = await this.db.nodeIntent(node);
    if (!intent) {
      await this.forget(node);
      return undefined;
    }
    // Only what is still pending: a retry keeps its error, a resync never makes active things flicker.
    await this.db.markProvisioning(node);
    const { inventoryChanged } = await this.allocator.allocate(intent);
    await this.afterAllocation?.(node);
    intent = (await this.db.nodeIntent(node))!;
    const allocated = intent;
    // Before the LOCAL_PREFs are derived (routeAttributes): which access of each multi-homed site carries its traffic.
    intent = await this.activeAccesses.decide(intent);
    intent = await this.withoutDownBackedUpAccesses(intent);
    const { waiting, advertised } = await this.define(intent);
    // The PEs importing this one hear of a change of its advertised routes from the bgp service's best-path stream, except
    // when the change is to a path that is no importer's best: a multi-homed site's paths may be an importer's fallback
    // (its best path's PE cut off, SelectedVpnRoute.fallbacks), so a change of them queues the importers.
    const fallbackVpns = new Set(intent.vrfs.filter((vi) => advertised.has(vi.vpn.id) && vi.sites.some((s) => s.accesses.length > 1)).map((vi) => vi.vpn.id));

    const routes = await this.routing.selectedRoutes(node);
    const { state, warnings } = computeNodeDesiredState(prepareNetwork(desiredInput(intent)), node, routes, { generation: 0 });
    let outboxId: bigint | undefined;
    let notify: string[] = [];
    const saved = await this.store.save(node, state, warnings, async (tx, result) => {
      const within = this.db.inSave(tx);
      const wake = inventoryChanged ? new Set<string>() : this.routing.predicted ? (exportsChanged(result.delta) ? exportedVpns(result) : new Set<string>()) : fallbackVpns;
      notify = wake.size ? await within.importingNodes(node, wake) : [];
      if (inventoryChanged) notify = await within.otherNodes(node);
      if (notify.length) outboxId = await within.outbox({ aggregate: 'node', aggregateId: node, action: 'update', nodes: notify, changes: [] });
    });
    if (outboxId === undefined && fallbackVpns.size && !inventoryChanged) {
      // The desired state did not change (e.g. a route advertised now that the agent installed it), the advertised routes did.
      const queued = await this.db.queueImporters(node, fallbackVpns);
      if (queued) ({ outboxId, nodes: notify } = queued);
    }
    if (outboxId !== undefined) await this.sink.committed(outboxId, notify).catch((err: Error) => this.log.warn({ err: err.message, node }, 'importers left to the outbox relay'));

    await this.openCeExports(intent, routes);

    const released = await this.allocator.releaseUnwanted(allocated);
    await this.setStatus(node, await this.statuses(intent, waiting));
    if (warnings.length) this.log.info({ node, warnings: warnings.slice(0, 5), count: warnings.length }, 'desired state leaves something out');
    return { generation: saved.generation, changed: saved.changed, released };
  }

  /**
   * The intent as this PE forwards it now: a multi-homed site whose access
   * here has its CE-facing port reported down keeps its access subnet (so
   * its status says why) but not its static routes, so this PE, like every
   * other, reaches the site through its other accesses' VPN routes instead
   * of into the dead port; the port's return brings them back (installed,
   * then advertised). Its eBGP sessions with the CE go too (the peers
   * deleted, the agent's punt closed): the CE's routes are withdrawn now,
   * not when the hold timer of a session over a dead link expires, and the
   * CE reconnects once the port is back. A one-access site has nowhere
   * else to go and is left as it is (its routes are withdrawn, not rerouted).
   */
  private async withoutDownBackedUpAccesses(intent: NodeIntent): Promise<NodeIntent> {
    if (!intent.vrfs.some((vi) => vi.sites.some((s) => s.accesses.length > 1))) return intent;
    const view = await this.reports.forwarding(intent.node.id);
    const down = (s: Site) => s.accesses.length > 1 && view.port(s.interface).state === 'down';
    if (!intent.vrfs.some((vi) => vi.sites.some(down))) return intent;
    return {
      ...intent,
      vrfs: intent.vrfs.map((vi) => ({ ...vi, sites: vi.sites.map((s) => (down(s) ? withoutRouting(s) : s)) })),
    };
  }

  /**
   * VRFs and originated routes of the node in BGP; VRFs that left the intent
   * are deleted (withdrawing their routes). Returns, per VPN, why some of
   * its routes are not advertised (yet), and the VPNs whose advertised
   * routes this changed.
   */
  private async define(intent: NodeIntent): Promise<{ waiting: Map<string, string>; advertised: Set<string> }> {
    const node = intent.node.id;
    const live = new Set<string>();
    const waiting = new Map<string, string>();
    const advertised = new Set<string>();
    const egress = this.options.originateAfterInstall ? await this.reports.forwarding(node, () => this.routing.advertisedLabels(node)) : undefined;
    for (const vi of intent.vrfs) {
      const a = vi.allocation;
      if (!a?.rd) continue;
      live.add(vi.vpn.id);
      const label = a.label ?? undefined;
      const { vrfLabelIpv6: ipv6Label } = vrfIpv6Label(intent, vi.vpn.id);
      await this.routing.defineVrf(node, {
        name: vi.vpn.id,
        vpn: vi.vpn.id,
        rd: a.rd,
        importRouteTargets: vi.importRouteTargets,
        exportRouteTargets: vi.exportRouteTargets,
        ...(label !== undefined ? { label } : {}),
        ...(ipv6Label !== undefined ? { ipv6Label } : {}),
        labelMode: vi.vpn.labelMode,
        nextHop: intent.node.loopback,
        maxRoutes: vi.vpn.maxRoutesPerVrf,
        ...(this.gated(vi) ? { gateCeExports: true } : {}),
      });
      const exporting = {
        node,
        nextHop: intent.node.loopback,
        name: vi.vpn.id,
        rd: a.rd,
        labelMode: vi.vpn.labelMode,
        exportRouteTargets: vi.exportRouteTargets,
        ...(label !== undefined ? { vrfLabel: label } : {}),
        ...(ipv6Label !== undefined ? { vrfLabelIpv6: ipv6Label } : {}),
        sites: exportingSites(vi.vpn.id, node, vi.sites, intent.labels),
      };
      let routes = exportedRoutes(exporting);
      if (egress) {
        const held = routes.map((r) => ({ r, readiness: egress.route(vi.vpn.id, r.prefix, r.label) }));
        const out = held.filter((h) => h.readiness.state !== 'ready');
        if (out.length) {
          const why = worst(out.map((h) => h.readiness));
          waiting.set(vi.vpn.id, `${out.length} of ${routes.length} routes not advertised: ${why.state === 'ready' ? '' : why.reason}`);
        }
        routes = held.filter((h) => h.readiness.state === 'ready').map((h) => h.r);
      }
      const attributes = routeAttributes(vi);
      const changed = await this.routing.originate(
        node,
        vi.vpn.id,
        routes.map((r) => ({ ...r, ceNextHop: '', ...attributes.get(r.prefix) })),
      );
      if (changed) advertised.add(vi.vpn.id);
    }
    // PE-CE eBGP: the relayed peers of the VRFs just defined; peers of VRFs going away leave before them.
    await this.routing.reconcilePeers?.(node, cePeersOf(intent));
    // Before anything is released (step 5): the speaker's VRFs the intent no longer names, whatever left them there.
    await removeUnwantedVrfs(this.routing, node, live, this.log);
    return { waiting, advertised };
  }

  /** Whether the VRF's CE-learnt routes wait for this PE to deliver them before they are exported (ce-export-gate.ts). */
  private gated(vi: VrfIntent): boolean {
    return this.options.originateAfterInstall && !!this.routing.setCeExportsReady && gatesCeExports(vi);
  }

  /** Each gated VRF's CE-learnt routes that this PE delivers now are let out to the other PEs; the others wait (ce-export-gate.ts). */
  private async openCeExports(intent: NodeIntent, routes: readonly SelectedVpnRoute[]): Promise<void> {
    const gated = intent.vrfs.filter((vi) => vi.allocation?.rd && this.gated(vi));
    if (!gated.length) return;
    const egress = await this.reports.forwarding(intent.node.id);
    const peers = cePeersOf(intent);
    for (const vi of gated) {
      const ready = readyCeExports(intent, vi, routes, peers, egress);
      // Unknown (the agent not heard from since it restarted): the speaker keeps what it was last told.
      if (ready) await this.routing.setCeExportsReady!(intent.node.id, vi.vpn.id, ready);
    }
  }

  /** The node left the intent: its speaker VRFs removed, then what it held released, its desired state dropped. */
  private async forget(node: string): Promise<void> {
    await this.routing.reconcilePeers?.(node, []);
    await removeUnwantedVrfs(this.routing, node, new Set(), this.log);
    await this.allocator.releaseNode(node);
    await this.store.forget(node);
  }

  /** After a failed attempt: the reason goes on every resource the job was for. */
  async failed(node: string, reason: string): Promise<void> {
    const failed: DerivedStatus = { status: 'FAILED', reason: reason.slice(0, 1000) };
    await this.setStatus(node, { node: failed, vrfs: new Map(), sites: new Map() }, failed);
  }

  /**
   * The node's, its VRFs' and sites' statuses after a run. With
   * `requireAgents`, from what the agent reported (NodeForwarding): a site
   * needs its routes installed at this PE; a VRF its own entry, its sites
   * and no failed remote route. `waiting`: VPNs with routes not advertised.
   */
  private async statuses(intent: NodeIntent, waiting: Map<string, string>): Promise<NodeStatuses> {
    const node = intent.node.id;
    const vrfs = new Map<string, DerivedStatus>();
    const sites = new Map<string, DerivedStatus>();
    const view = this.options.requireAgents ? await this.reports.forwarding(node) : undefined;
    const sessions = await this.ceSessions(intent);
    const withSessions = (vi: VrfIntent, site: Site, st: DerivedStatus) => withCeSessions(st, sitePeers(vi, site, node, intent.labels), sessions);
    for (const vi of intent.vrfs) {
      const vpn = vi.vpn.id;
      // A VRF that appeared after this run allocated (its site was created meanwhile) waits for the next run, which is queued.
      if (!vi.allocation?.rd) {
        const pending: DerivedStatus = { status: 'PROVISIONING', reason: `the VRF of ${vpn} on ${node} has no route distinguisher yet` };
        vrfs.set(vpn, pending);
        for (const s of vi.sites) sites.set(s.id, pending);
        continue;
      }
      if (!view) {
        const held: DerivedStatus = waiting.has(vpn) ? { status: 'PROVISIONING', reason: waiting.get(vpn)! } : { status: 'ACTIVE', reason: null };
        const parts = [held];
        for (const s of vi.sites) {
          const st = withSessions(vi, s, held);
          sites.set(s.id, st);
          parts.push(st.reason && st !== held ? { ...st, reason: `site ${s.id}: ${st.reason}` } : st);
        }
        vrfs.set(vpn, aggregate(parts));
        continue;
      }
      const parts: DerivedStatus[] = [view.statusOf(worst([view.vrf(vpn), view.remoteRouteFailures(vpn)]))];
      for (const { site, routes } of sitesOf(intent, vi)) {
        const readiness = worst(routes.map((r) => view.route(vpn, r.prefix, r.label)));
        const st = withSessions(vi, site, view.statusOf(readiness));
        sites.set(site.id, st);
        parts.push(st.reason ? { ...st, reason: `site ${site.id}: ${st.reason}` } : st);
      }
      const vrf = parts[0]!.status === 'FAILED' ? parts[0]! : aggregate(parts);
      vrfs.set(vpn, vrf);
    }
    return { node: view?.nodeStatus() ?? { status: 'ACTIVE', reason: null }, vrfs, sites };
  }

  /** The node's PE-CE sessions as the speaker reports them, when some site of it peers eBGP; undefined when none does or the speaker cannot say. */
  private async ceSessions(intent: NodeIntent): Promise<CeSessionStatus[] | undefined> {
    if (!this.routing.ceSessions || !intent.vrfs.some((vi) => vi.sites.some((s) => s.routing?.bgp))) return undefined;
    try {
      return await this.routing.ceSessions(intent.node.id);
    } catch (err) {
      this.log.warn({ node: intent.node.id, err: (err as Error).message }, 'PE-CE session states not read; site status from the install alone');
      return undefined;
    }
  }

  private async setStatus(node: string, s: NodeStatuses, all?: DerivedStatus): Promise<void> {
    this.logTransition(node, await this.db.writeStatuses(node, s, all), s.node);
  }

  private logTransition(node: string, before: string | undefined, after: DerivedStatus): void {
    if (before === after.status) return;
    if (after.status === 'UNREACHABLE') this.log.warn({ node, reason: after.reason }, 'node unreachable: its agent is silent; routes that need it wait');
    else if (before === 'UNREACHABLE') this.log.info({ node, status: after.status }, 'the agent of the node is heard from again');
  }
}

/** The VPNs whose VRFs the stored change touched, before or after it: their importers see the node's exports change. */
function exportedVpns(result: { delta: DesiredStateDelta; previous: { vrfs: { vpn: string }[] } | undefined }): Set<string> {
  const vpns = new Set<string>(result.previous?.vrfs.map((v) => v.vpn) ?? []);
  for (const c of result.delta.changes) {
    for (const e of [c.entry?.entry, c.previous?.entry]) if (e?.$case === 'vrf') vpns.add(e.value.vpn);
  }
  return vpns;
}
