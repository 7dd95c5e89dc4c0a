// Dry runs: per node, exactly what the write would change in the desired
// state. Runs the worker's computation on the would-be intent inside the
// write's transaction (rolled back afterwards) and diffs it with the stored
// state. Allocates nothing: values the worker has not allocated yet are
// looked up read-only in the labels service, or stood in by placeholders
// that the answer lists as "new".
import type { Vrf, VrfAllocation } from '../../common/gen/prisma/client.js';
import { AllocationState, LabelKind } from '../../common/gen/proto/l3vpn/v1/labels.js';
import { computeNodeDesiredState, diffDesiredState, prepareNetwork, summarizeDelta } from '../../common/desired-state/index.js';
import { fromDbEnum, type VpnRow } from '../intent/records.js';
import type { Tx } from '../intent/write-context.js';
import { SimulatedVpnRouting } from '../routes/simulated-routing.js';
import type { DesiredStateStore } from '../state/desired-state-store.js';
import { desiredInput } from './desired-input.js';
import type { LabelsApi } from './labels-client.js';
import type { MissingValues } from './missing-values.js';
import { loadNodeIntent } from './node-intent.js';
import { FIRST_TABLE_ID, owners } from './owners.js';

type Counts = { added: number; modified: number; deleted: number };

export interface NodePlan {
  node: string;
  /** The stored generation the plan is against (0: none yet). */
  generation: number;
  changed: boolean;
  vrfs: Counts;
  routes: Counts;
  lfibEntries: Counts;
  transportPaths: Counts;
  /** Values the worker would allocate (owner keys); the plan used placeholders for them. */
  newAllocations: string[];
  /** The node would leave the intent. */
  removed?: boolean;
}

const PLACEHOLDER_TOP = 0xfffff;

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

  vpn(row: VpnRow): VpnRow {
    return { ...row, routeTargets: row.routeTargets.map((rt) => (rt.value ? rt : { ...rt, value: `new:${owners.routeTarget(row.id, fromDbEnum(rt.role))}` })) };
  }

  vrf(vrf: Vrf, allocation: VrfAllocation | undefined): VrfAllocation {
    if (allocation?.rd) return allocation;
    const owner = owners.vrf(vrf.vpnId, vrf.nodeId);
    const label = this.label(vrf.nodeId, owner, this.held.get(vrf.nodeId));
    const rd = vrf.routeDistinguisher ?? `new:${owner}`;
    if (!vrf.routeDistinguisher) this.note(vrf.nodeId, `rd ${owner}`);
    return {
      vrfId: vrf.id,
      vpnId: vrf.vpnId,
      nodeId: vrf.nodeId,
      tableId: allocation?.tableId ?? this.table(vrf.nodeId),
      label,
      rd,
      rdOwned: true,
      rdAdministrator: null,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    };
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
    private readonly store: DesiredStateStore,
  ) {}

  async plan(tx: Tx, affected: string[]): Promise<NodePlan[]> {
    const nodes = await this.withImporters(tx, affected);
    const [held, tables] = await Promise.all([this.heldLabels(tx, nodes), this.tablesInUse(tx, nodes)]);
    const values = new PlanValues(held, tables);
    const out: NodePlan[] = [];
    for (const node of nodes) {
      const latest = await this.store.latest(node, tx);
      const intent = await loadNodeIntent(tx, node, values);
      const zero = (): Counts => ({ added: 0, modified: 0, deleted: 0 });
      if (!intent) {
        const before = latest?.state;
        const s = summarizeDelta(diffDesiredState(before, { ...(before ?? { node, generation: 0, role: 0, vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] }), vrfs: [], vrfRoutes: [], lfibEntries: [], transportPaths: [] }));
        out.push({ node, generation: latest?.generation ?? 0, changed: Boolean(latest), removed: true, vrfs: s.byKind.vrf, routes: s.byKind.vrfRoute, lfibEntries: s.byKind.lfibEntry, transportPaths: s.byKind.transportPath, newAllocations: [] });
        continue;
      }
      const routes = await new SimulatedVpnRouting(tx, values).selectedRoutes(node);
      const { state } = computeNodeDesiredState(prepareNetwork(desiredInput(intent)), node, routes, { generation: (latest?.generation ?? 0) + 1 });
      const delta = diffDesiredState(latest?.state, state);
      const s = summarizeDelta(delta);
      const changed = !latest || s.added + s.modified + s.deleted > 0 || delta.transport !== undefined;
      if (!changed && !affected.includes(node)) continue;
      out.push({
        node,
        generation: latest?.generation ?? 0,
        changed,
        vrfs: s.byKind.vrf ?? zero(),
        routes: s.byKind.vrfRoute ?? zero(),
        lfibEntries: s.byKind.lfibEntry ?? zero(),
        transportPaths: s.byKind.transportPath ?? zero(),
        newAllocations: (values.issued.get(node) ?? []).sort(),
      });
    }
    return out;
  }

  /** Affected nodes and the PEs importing their VPNs: a new site on one PE is new routes on the others. */
  private async withImporters(tx: Tx, affected: string[]): Promise<string[]> {
    const vpns = new Set((await tx.vrf.findMany({ where: { nodeId: { in: affected } }, select: { vpnId: true } })).map((v) => v.vpnId));
    for (const node of affected) for (const v of (await this.store.latest(node, tx))?.state.vrfs ?? []) vpns.add(v.vpn);
    const extranet = await tx.vpnImport.findMany({ where: { exporterId: { in: [...vpns] } }, select: { importerId: true } });
    const importers = await tx.vrf.findMany({ where: { vpnId: { in: [...vpns, ...extranet.map((e) => e.importerId)] } }, select: { nodeId: true } });
    return [...new Set([...affected, ...importers.map((v) => v.nodeId)])].sort();
  }

  /** What the labels service holds for each node (read-only), over what the worker recorded. */
  private async heldLabels(tx: Tx, nodes: string[]): Promise<Map<string, Map<string, number>>> {
    const out = new Map<string, Map<string, number>>();
    for (const l of await tx.nodeLabel.findMany({ where: { nodeId: { in: nodes } } })) {
      if (!out.has(l.nodeId)) out.set(l.nodeId, new Map());
      out.get(l.nodeId)!.set(l.owner, l.label);
    }
    for (const node of nodes) {
      if (!out.has(node)) out.set(node, new Map());
      try {
        const page = await this.labels.listLabels(
          { node, kind: LabelKind.LABEL_KIND_UNSPECIFIED, state: AllocationState.ALLOCATION_STATE_ALLOCATED, ownerPrefix: '', pageSize: 10_000, pageToken: '' },
          { deadlineMs: 2000 },
        );
        for (const l of page.labels) out.get(node)!.set(l.owner, l.label);
      } catch {
        // Labels service unreachable: what the worker recorded is all we know; unknown labels show as new.
      }
    }
    return out;
  }

  private async tablesInUse(tx: Tx, nodes: string[]): Promise<Map<string, Set<number>>> {
    const out = new Map<string, Set<number>>();
    for (const a of await tx.vrfAllocation.findMany({ where: { nodeId: { in: nodes } }, select: { nodeId: true, tableId: true } })) {
      if (!out.has(a.nodeId)) out.set(a.nodeId, new Set());
      out.get(a.nodeId)!.add(a.tableId);
    }
    return out;
  }
}
