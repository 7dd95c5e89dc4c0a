// Dry runs: per node, what its next reconcile would change in the desired
// state if the write were committed, which routes the node would withdraw
// and what its job would give back (labels, RDs, its SID; RTs of a VPN) into
// hold-down. Runs the worker's computation on the would-be intent inside the
// write's transaction (rolled back afterwards) and diffs it with the stored
// state; releases follow the rules of allocator.ts. Allocates nothing:
// values the worker has not allocated yet are looked up read-only in the
// labels service, or stood in by placeholders that the answer lists as "new".
//
// The VPN routes come from the reconcile's own routing (the bgp service):
// what BGP selected into each node's VRFs now. So a plan shows the changed
// nodes' own VRFs, routes, labels and transport; the routes other PEs gain
// or lose reach them only once BGP propagates the change, after the write.
import { ChangeKind, VrfRouteSource, type DesiredStateDelta, type NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { AllocationState, LabelKind } from '../../common/gen/proto/l3vpn/v1/labels.js';
import { computeNodeDesiredState, diffDesiredState, prepareNetwork, summarizeDelta } from '../../common/desired-state/index.js';
import { claimWanted } from '../domain/allocation.js';
import type { NodeIntent, Vpn, Vrf, VrfAllocation } from '../domain/node-intent.js';
import type { NodePlan, PoolReleases, ReleasedLabel, ReleasedValue, WithdrawnRoute } from '../intent/types.js';
import type { VpnRouting } from '../routes/vpn-routing.js';
import type { AllocationReads } from '../store/allocation-store.js';
import type { PlanReads } from '../store/intent-transactions.js';
import { isVpnLabelOwner } from './allocator.js';
import { desiredInput, NodeRejectedError, vrfLabelRequests } from './desired-input.js';
import type { LabelsApi } from './labels-client.js';
import type { MissingValues } from './missing-values.js';
import { FIRST_TABLE_ID, owners, SR_DOMAIN } from './owners.js';

const PLACEHOLDER_TOP = 0xfffff;

/** A VPN's route target keys and the roles their owners are named by. */
const ROUTE_TARGET_ROLES = [
  ['anyToAny', 'any-to-any'],
  ['hub', 'hub'],
  ['spoke', 'spoke'],
] as const;

/** Placeholders for what is not allocated yet, each recorded as new. */
class PlanValues implements MissingValues {
  readonly issued = new Map<string, string[]>();
  private readonly nextLabel = new Map<string, number>();
  private readonly nextTable = new Map<string, number>();

  constructor(
    private readonly held: ReadonlyMap<string, ReadonlyMap<string, number>>,
    private readonly tablesInUse: ReadonlyMap<string, ReadonlySet<number>>,
  ) {}

  private note(node: string, owner: string): void {
    const list = this.issued.get(node) ?? [];
    if (!list.includes(owner)) list.push(owner);
    this.issued.set(node, list);
  }

  vpn(vpn: Vpn): Vpn {
    const routeTargets = { ...vpn.routeTargets };
    for (const [key, role] of ROUTE_TARGET_ROLES) {
      if (key in routeTargets && !routeTargets[key]) routeTargets[key] = `new:${owners.routeTarget(vpn.id, role)}`;
    }
    return { ...vpn, routeTargets };
  }

  vrf(vrf: Vrf, allocation: VrfAllocation | undefined): VrfAllocation {
    if (allocation?.rd) return allocation;
    const owner = owners.vrf(vrf.vpn, vrf.node);
    const label = this.label(vrf.node, owner, this.held.get(vrf.node));
    const rd = vrf.routeDistinguisher ?? `new:${owner}`;
    if (!vrf.routeDistinguisher) this.note(vrf.node, `rd ${owner}`);
    return { tableId: allocation?.tableId ?? this.table(vrf.node), label, rd, rdOwned: true, rdAdministrator: null };
  }

  labels(node: string, held: Map<string, number>, wanted: string[]): Map<string, number> {
    const out = new Map(held);
    for (const owner of wanted) if (!out.has(owner)) out.set(owner, this.label(node, owner, out));
    return out;
  }

  private label(node: string, owner: string, held: ReadonlyMap<string, number> | undefined): number {
    const known = held?.get(owner) ?? this.held.get(node)?.get(owner);
    if (known !== undefined) return known;
    const next = this.nextLabel.get(node) ?? PLACEHOLDER_TOP;
    this.nextLabel.set(node, next - 1);
    this.note(node, `label ${owner}`);
    return next;
  }

  private table(node: string): number {
    let id = this.nextTable.get(node) ?? FIRST_TABLE_ID;
    while (this.tablesInUse.get(node)?.has(id)) id++;
    this.nextTable.set(node, id + 1);
    return id;
  }
}

export class Planner {
  constructor(
    private readonly labels: LabelsApi,
    /** The reconcile's routing: a plan selects routes as the next reconcile would. */
    private readonly routing: VpnRouting,
  ) {}

  async plan(reads: PlanReads, affected: string[], vpnIds: string[]): Promise<{ plan: NodePlan[]; releases: PoolReleases }> {
    // The nodes the write queues. No other node's next reconcile changes with it: remote PEs' routes follow BGP, after the write.
    const nodes = [...affected].sort();
    const [held, tables, sids] = await Promise.all([this.heldLabels(reads.allocations, nodes), reads.allocations.tablesInUse(nodes), this.sidIndexes(nodes)]);
    const values = new PlanValues(held, tables);
    const plan: NodePlan[] = [];
    for (const node of nodes) {
      const latest = await reads.latestState(node);
      const intent = await reads.nodeIntent(node, values);
      const before = latest?.state;
      let after: NodeDesiredState;
      let rejected = false;
      if (intent) {
        const routes = await this.routing.selectedRoutes(node);
        try {
          after = computeNodeDesiredState(prepareNetwork(desiredInput(intent)), node, routes, { generation: (latest?.generation ?? 0) + 1 }).state;
        } catch (err) {
          // A node whose own record cannot be used keeps what it has (its reconcile fails with the reason); the plan goes on.
          if (!(err instanceof NodeRejectedError)) throw err;
          rejected = true;
          after = before ?? { node, generation: 0, role: 0, transport: undefined, vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] };
        }
      } else {
        after = { ...(before ?? { node, generation: 0, role: 0, transport: undefined }), vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] };
      }
      const delta = diffDesiredState(before, after);
      const s = summarizeDelta(delta);
      const changed = rejected ? false : intent ? !latest || s.added + s.modified + s.deleted > 0 || delta.transport !== undefined : Boolean(latest);
      plan.push({
        node,
        generation: latest?.generation ?? 0,
        changed,
        ...(intent ? {} : { removed: true }),
        vrfs: s.byKind.vrf,
        routes: s.byKind.vrfRoute,
        lfibEntries: s.byKind.lfibEntry,
        transportPaths: s.byKind.transportPath,
        // A rejected node's job fails before it allocates or releases anything.
        newAllocations: intent && !rejected ? (values.issued.get(node) ?? []).sort() : [],
        releases: rejected ? { labels: [], routeDistinguishers: [] } : await this.nodeReleases(reads.allocations, node, intent, held.get(node)!, sids.get(node)),
        withdrawnRoutes: withdrawnRoutes(delta, before),
      });
    }
    return { plan, releases: await this.poolReleases(reads.allocations, vpnIds) };
  }

  /**
   * What the node's job would release after storing the new state
   * (NodeAllocator.releaseUnwanted / releaseNode): VPN labels no VRF wants,
   * the owned RDs of VRFs that go (or whose VPN now gives its RD), and the
   * SID index of a node that goes or takes another one.
   */
  private async nodeReleases(allocations: AllocationReads, node: string, intent: NodeIntent | undefined, held: ReadonlyMap<string, number>, sid: number | undefined): Promise<NodePlan['releases']> {
    const wanted = new Set(intent?.vrfs.flatMap((vi) => vrfLabelRequests(vi.vpn.id, vi.vpn.labelMode, node, vi.sites).map((r) => r.owner)));
    const labels: ReleasedLabel[] = [...held].filter(([owner]) => isVpnLabelOwner(owner) && !wanted.has(owner)).map(([owner, label]) => ({ owner, label }));
    const live = new Map(intent?.vrfs.map((vi) => [vi.vrf.id, vi.vpn]));
    const routeDistinguishers: ReleasedValue[] = (await allocations.ownedRouteDistinguishers(node))
      .filter((a) => !live.has(a.vrfId) || live.get(a.vrfId)!.routeDistinguisher)
      .map((a) => ({ owner: owners.vrf(a.vpnId, node), value: a.rd }));
    const sidGoes = sid !== undefined && (!intent || (intent.node.transport === 'sr' && intent.node.nodeSidIndex !== undefined && intent.node.nodeSidIndex !== sid));
    return { labels: byOwner(labels), routeDistinguishers: byOwner(routeDistinguishers), ...(sidGoes ? { sidIndex: sid } : {}) };
  }

  /** Route targets and given RDs of the written VPNs that the sweep would release (allocator.ts, claimWanted). */
  private async poolReleases(allocations: AllocationReads, vpnIds: string[]): Promise<PoolReleases> {
    const out: PoolReleases = { routeTargets: [], routeDistinguishers: [] };
    if (!vpnIds.length) return out;
    const [claims, vpns] = await Promise.all([allocations.claimsWithValues(vpnIds), allocations.vpnIdentifiers(vpnIds)]);
    for (const c of claims) {
      if (claimWanted(vpns.find((v) => v.id === c.vpnId) ?? null, c)) continue;
      (c.kind === 'rt' ? out.routeTargets : out.routeDistinguishers).push({ owner: c.owner, value: c.value! });
    }
    return out;
  }

  /** What the labels service holds for each node (read-only), over what the worker recorded. */
  private async heldLabels(allocations: AllocationReads, nodes: string[]): Promise<Map<string, Map<string, number>>> {
    const out = await allocations.recordedLabels(nodes);
    await Promise.all(
      nodes.map(async (node) => {
        for (const l of await this.allocated(node, '')) out.get(node)!.set(l.owner, l.label);
      }),
    );
    return out;
  }

  /** Node SID indexes the SR domain holds, by node. */
  private async sidIndexes(nodes: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!nodes.length) return out;
    for (const l of await this.allocated(SR_DOMAIN, 'sid:')) if (l.sidIndex !== undefined) out.set(l.owner.slice('sid:'.length), l.sidIndex);
    return out;
  }

  private async allocated(node: string, ownerPrefix: string) {
    try {
      const page = await this.labels.listLabels(
        { node, kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_ALLOCATED, ownerPrefix, pageSize: 10_000, pageToken: '' },
        { deadlineMs: 2000 },
      );
      return page.labels;
    } catch {
      // Labels service unreachable: what the worker recorded is all we know; unknown labels show as new, unknown releases are left out.
      return [];
    }
  }
}

const byOwner = <T extends { owner: string }>(list: T[]) => list.sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));

/** Routes the node originated (connected, static, from its CEs) that the delta deletes: its BGP withdraws them. */
function withdrawnRoutes(delta: DesiredStateDelta, before: NodeDesiredState | undefined): WithdrawnRoute[] {
  const rdOf = new Map(before?.vrfs.map((v) => [v.name, v.rd]));
  const out: WithdrawnRoute[] = [];
  for (const c of delta.changes) {
    const e = c.previous?.entry;
    if (c.kind !== ChangeKind.CHANGE_KIND_DELETE || e?.$case !== 'vrfRoute' || e.value.source === VrfRouteSource.VRF_ROUTE_SOURCE_BGP_VPN) continue;
    out.push({ vrf: e.value.vrf, prefix: e.value.prefix, routeDistinguisher: rdOf.get(e.value.vrf) ?? '' });
  }
  return out;
}
