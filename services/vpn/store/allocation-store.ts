// What the reconcile took from the labels service, recorded against the
// intent: the VPN labels each node holds (node_label), each VRF's table,
// RD and label (vrf_allocation, and the VRF's RD), the VPN-wide route
// targets and given RDs (vpn_identifier_claim, the VPN's route targets),
// and automatic node SID indexes (node). Rows in, domain/allocation.ts out.
import type { Prisma, PrismaClient } from '../../common/gen/prisma/client.js';
import type { IdentifierClaim, NodeSidIndex, RecordedVrfAllocation, VpnIdentifiers } from '../domain/allocation.js';
import type { Rd, VrfAllocation } from '../domain/node-intent.js';
import type { SiteRole } from '../intent/types.js';
import { lockRows, TX_OPTIONS, type Db, type Tx } from './db.js';
import { lockSidIndexes } from './node-store.js';
import { fromDbEnum, toDbEnum } from './records.js';

/** What a dry run reads (inside the write's transaction) to say what a reconcile would allocate and release. */
export interface AllocationReads {
  /** The VPN labels recorded for each node, by owner; every node in `nodes` has an entry. */
  recordedLabels(nodes: string[]): Promise<Map<string, Map<string, number>>>;
  /** The VRF table ids in use on each node (only nodes that have some). */
  tablesInUse(nodes: string[]): Promise<Map<string, Set<number>>>;
  /** The node's VRFs holding an RD allocated for them (not their VPN's given one). */
  ownedRouteDistinguishers(node: string): Promise<{ vrfId: string; vpnId: string; rd: Rd }[]>;
  /** The VPNs' claims that hold a value, in owner order. */
  claimsWithValues(vpnIds: string[]): Promise<IdentifierClaim[]>;
  /** The VPNs that exist among `ids`, in the order of `ids`. */
  vpnIdentifiers(ids: string[]): Promise<VpnIdentifiers[]>;
}

/** One transaction of the allocator: the locks it holds until the work ends, and what it reads and writes under them. */
export interface AllocationUnit {
  /** Locks the node's row; false when the node is gone. Taken before lockSidIndexes, as an API write of the node does. */
  lockNode(node: string): Promise<boolean>;
  /** Serialises the claims of node SID indexes (node-store.ts lockSidIndexes). */
  lockSidIndexes(): Promise<void>;
  /** Every node's SID index. */
  sidIndexes(): Promise<NodeSidIndex[]>;
  setSidIndex(node: string, index: number): Promise<void>;
  /** Records the claim if it is not yet, then locks it until the unit ends; returns it as it is under the lock. */
  lockClaim(claim: Omit<IdentifierClaim, 'value'>): Promise<IdentifierClaim | undefined>;
  /** Locks an existing claim; undefined when there is none. */
  lockExistingClaim(owner: string): Promise<IdentifierClaim | undefined>;
  /** The VPN as it is now; null when it is gone. */
  vpn(id: string): Promise<VpnIdentifiers | null>;
  recordClaim(owner: string, value: string, administrator: string): Promise<void>;
  deleteClaim(owner: string): Promise<void>;
  /** Writes an allocated route target into the VPN's slot of this role, if that slot is still empty. */
  fillRouteTarget(vpnId: string, role: SiteRole, value: string): Promise<void>;
}

export interface AllocationStore extends AllocationReads {
  /** Runs `work` in one transaction; its locks hold until it ends. */
  transaction<T>(work: (unit: AllocationUnit) => Promise<T>): Promise<T>;
  /** The VPNs' claims. */
  claims(vpnIds: string[]): Promise<IdentifierClaim[]>;
  /** Claims whose VPN is gone (a deleted VPN queues no job). */
  orphanClaims(): Promise<IdentifierClaim[]>;
  /** The VPN as it is now; null when it is gone. */
  vpn(id: string): Promise<VpnIdentifiers | null>;
  /** Records these labels of the node, replacing what those owners had, at once. */
  recordLabels(node: string, labels: { owner: string; label: number }[]): Promise<void>;
  /** Forgets the node's recorded labels of other owners than `keep`. */
  forgetLabelsExcept(node: string, keep: string[]): Promise<void>;
  /** The node's VRF allocations. */
  vrfAllocations(node: string): Promise<RecordedVrfAllocation[]>;
  /**
   * Records the VRF's allocation and gives the VRF its RD. The table id is
   * written only when the VRF has none yet: it is never renumbered.
   */
  saveVrfAllocation(allocation: RecordedVrfAllocation): Promise<VrfAllocation>;
  deleteVrfAllocation(vrfId: string): Promise<void>;
  /** Forgets every allocation and label of the node, at once. */
  forgetNode(node: string): Promise<void>;
}

type ClaimRow = { owner: string; kind: string; vpnId: string; administrator: string; value: string | null };
type VpnRow = Prisma.VpnGetPayload<{ include: { routeTargets: true } }>;
type AllocationRow = Prisma.VrfAllocationGetPayload<object>;
type DbSiteRole = 'ANY_TO_ANY' | 'HUB' | 'SPOKE';

const toClaim = (r: ClaimRow): IdentifierClaim => ({ owner: r.owner, kind: r.kind as IdentifierClaim['kind'], vpnId: r.vpnId, administrator: r.administrator, value: r.value });

const toVpnIdentifiers = (r: VpnRow): VpnIdentifiers => ({
  id: r.id,
  routeDistinguisher: r.routeDistinguisher,
  routeTargets: r.routeTargets.map((t) => ({ role: fromDbEnum<SiteRole>(t.role), value: t.value, given: t.given })),
});

export const toVrfAllocation = (r: AllocationRow): VrfAllocation => ({
  tableId: r.tableId,
  rd: r.rd,
  label: r.label,
  rdOwned: r.rdOwned,
  rdAdministrator: r.rdAdministrator,
});

const toRecorded = (r: AllocationRow): RecordedVrfAllocation => ({ vrfId: r.vrfId, vpnId: r.vpnId, nodeId: r.nodeId, ...toVrfAllocation(r) });

const CLAIM_COLUMNS = 'owner, kind, vpn_id AS "vpnId", administrator, value';

async function readVpn(db: Db, id: string): Promise<VpnIdentifiers | null> {
  const r = await db.vpn.findUnique({ where: { id }, include: { routeTargets: true } });
  return r ? toVpnIdentifiers(r) : null;
}

/** The reads, through any Prisma handle (a dry run's transaction, or the client). */
export function prismaAllocationReads(db: Db): AllocationReads {
  return {
    async recordedLabels(nodes) {
      const out = new Map<string, Map<string, number>>(nodes.map((n) => [n, new Map()]));
      for (const l of await db.nodeLabel.findMany({ where: { nodeId: { in: nodes } } })) out.get(l.nodeId)!.set(l.owner, l.label);
      return out;
    },
    async tablesInUse(nodes) {
      const out = new Map<string, Set<number>>();
      for (const a of await db.vrfAllocation.findMany({ where: { nodeId: { in: nodes } }, select: { nodeId: true, tableId: true } })) {
        if (!out.has(a.nodeId)) out.set(a.nodeId, new Set());
        out.get(a.nodeId)!.add(a.tableId);
      }
      return out;
    },
    async ownedRouteDistinguishers(node) {
      const rows = await db.vrfAllocation.findMany({ where: { nodeId: node, rdOwned: true } });
      return rows.filter((a) => a.rd).map((a) => ({ vrfId: a.vrfId, vpnId: a.vpnId, rd: a.rd! }));
    },
    async claimsWithValues(vpnIds) {
      if (!vpnIds.length) return [];
      return (await db.vpnIdentifierClaim.findMany({ where: { vpnId: { in: vpnIds }, value: { not: null } }, orderBy: { owner: 'asc' } })).map(toClaim);
    },
    async vpnIdentifiers(ids) {
      if (!ids.length) return [];
      const rows = new Map((await db.vpn.findMany({ where: { id: { in: ids } }, include: { routeTargets: true } })).map((r) => [r.id, toVpnIdentifiers(r)]));
      return ids.flatMap((id) => rows.get(id) ?? []);
    },
  };
}

function prismaAllocationUnit(tx: Tx): AllocationUnit {
  const lockExistingClaim = async (owner: string) => {
    const [row] = await tx.$queryRawUnsafe<ClaimRow[]>(`SELECT ${CLAIM_COLUMNS} FROM vpn_identifier_claim WHERE owner = $1 FOR UPDATE`, owner);
    return row ? toClaim(row) : undefined;
  };
  return {
    lockNode: async (node) => (await lockRows(tx, 'node', [node])).length > 0,
    lockSidIndexes: () => lockSidIndexes(tx),
    sidIndexes: async () => (await tx.node.findMany({ select: { id: true, nodeSidIndex: true } })).map((r) => ({ node: r.id, sidIndex: r.nodeSidIndex })),
    async setSidIndex(node, index) {
      await tx.node.update({ where: { id: node }, data: { nodeSidIndex: index } });
    },
    async lockClaim({ owner, kind, vpnId, administrator }) {
      await tx.$executeRaw`INSERT INTO vpn_identifier_claim (owner, kind, vpn_id, administrator) VALUES (${owner}, ${kind}, ${vpnId}, ${administrator}) ON CONFLICT (owner) DO NOTHING`;
      return lockExistingClaim(owner);
    },
    lockExistingClaim,
    vpn: (id) => readVpn(tx, id),
    async recordClaim(owner, value, administrator) {
      await tx.vpnIdentifierClaim.update({ where: { owner }, data: { value, administrator } });
    },
    async deleteClaim(owner) {
      await tx.vpnIdentifierClaim.delete({ where: { owner } });
    },
    async fillRouteTarget(vpnId, role, value) {
      await tx.vpnRouteTarget.updateMany({ where: { vpnId, role: toDbEnum(role) as DbSiteRole, value: null }, data: { value } });
    },
  };
}

export function prismaAllocationStore(prisma: PrismaClient): AllocationStore {
  return {
    ...prismaAllocationReads(prisma),
    transaction: (work) => prisma.$transaction((tx) => work(prismaAllocationUnit(tx)), TX_OPTIONS),
    claims: async (vpnIds) => (await prisma.vpnIdentifierClaim.findMany({ where: { vpnId: { in: vpnIds } } })).map(toClaim),
    orphanClaims: async () =>
      (await prisma.$queryRawUnsafe<ClaimRow[]>(`SELECT ${CLAIM_COLUMNS} FROM vpn_identifier_claim c WHERE NOT EXISTS (SELECT 1 FROM vpn v WHERE v.id = c.vpn_id)`)).map(toClaim),
    vpn: (id) => readVpn(prisma, id),
    async recordLabels(node, labels) {
      await prisma.$transaction([
        prisma.nodeLabel.deleteMany({ where: { nodeId: node, owner: { in: labels.map((l) => l.owner) } } }),
        prisma.nodeLabel.createMany({ data: labels.map((l) => ({ nodeId: node, owner: l.owner, label: l.label })) }),
      ]);
    },
    async forgetLabelsExcept(node, keep) {
      await prisma.nodeLabel.deleteMany({ where: { nodeId: node, owner: { notIn: keep } } });
    },
    vrfAllocations: async (node) => (await prisma.vrfAllocation.findMany({ where: { nodeId: node } })).map(toRecorded),
    async saveVrfAllocation({ vrfId, vpnId, nodeId, tableId, ...data }) {
      const row = await prisma.vrfAllocation.upsert({ where: { vrfId }, create: { vrfId, vpnId, nodeId, tableId, ...data }, update: data });
      await prisma.vrf.updateMany({ where: { id: vrfId }, data: { routeDistinguisher: data.rd } });
      return toVrfAllocation(row);
    },
    async deleteVrfAllocation(vrfId) {
      await prisma.vrfAllocation.delete({ where: { vrfId } });
    },
    async forgetNode(node) {
      await prisma.$transaction([prisma.vrfAllocation.deleteMany({ where: { nodeId: node } }), prisma.nodeLabel.deleteMany({ where: { nodeId: node } })]);
    },
  };
}
