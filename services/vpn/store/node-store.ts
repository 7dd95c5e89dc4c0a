// Node rows: views, the locks other writes take on them, and the lookups of
// values a node must not share with another.
import type { Filter } from '../intent/handler.js';
import type { NodeSpec, NodeView } from '../intent/types.js';
import { lockRows, type Db, type Tx } from './db.js';
import { afterWhere, statusWhere } from './filters.js';
import { nodeView, toDbEnum } from './records.js';

/** The values of a node no other node may hold. */
export interface NodeIdentity {
  id: string;
  routerId: string;
  loopback: string;
  nodeSidIndex?: number;
}

export interface NodeStore {
  read(id: string): Promise<NodeView | undefined>;
  /** Filters: role, status. Ids > after, in id order, at most limit. */
  list(filter: Filter, after: string | undefined, limit: number): Promise<NodeView[]>;
  /**
   * Locks the nodes among `ids` that exist and returns their ids. `key share`
   * only keeps them from being deleted; `update` also waits for their writers.
   */
  lock(ids: string[], mode?: 'update' | 'key share'): Promise<string[]>;
  /** Every node's id. */
  allIds(): Promise<string[]>;
  /** Waits for every other claim of a node SID index to commit (see lockSidIndexes). */
  lockSidIndexes(): Promise<void>;
  /** The nodes other than `except` holding any of these values. */
  holding(values: { routerId: string; loopback: string; nodeSidIndex?: number }, except: string): Promise<NodeIdentity[]>;
  create(node: NodeSpec): Promise<void>;
  /** Replaces the node's fields and increments its version. */
  update(node: NodeSpec): Promise<void>;
  delete(id: string): Promise<void>;
}

/**
 * Serialises the claims of node SID indexes: API writes naming one, and the
 * reconcile choosing an automatic one (NodeAllocator), which writes it back
 * before it lets go. So a check after it sees every index claimed before it,
 * and an automatic index never takes one a committed write named.
 */
export async function lockSidIndexes(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('l3vpn:node-sid-index'))`;
}

function rowOf(n: NodeSpec) {
  return {
    name: n.name ?? n.id,
    role: n.role,
    routerId: n.routerId,
    loopback: n.loopback ?? n.routerId,
    asNumber: BigInt(n.asNumber),
    labelMin: n.labelRange?.min ?? null,
    labelMax: n.labelRange?.max ?? null,
    srgbBase: n.srgb?.base ?? null,
    srgbSize: n.srgb?.size ?? null,
    nodeSidIndex: n.nodeSidIndex ?? null,
    transport: toDbEnum(n.transport ?? 'sr') as 'SR' | 'EXTERNAL',
    status: 'PENDING' as const,
    statusReason: null,
  };
}

export function prismaNodeStore(db: Db): NodeStore {
  return {
    async read(id) {
      const r = await db.node.findUnique({ where: { id } });
      return r ? nodeView(r) : undefined;
    },
    async list(filter, after, limit) {
      const rows = await db.node.findMany({
        where: { ...afterWhere(after), ...(filter.role ? { role: filter.role as 'PE' | 'P' } : {}), ...statusWhere(filter) },
        orderBy: { id: 'asc' },
        take: limit,
      });
      return rows.map(nodeView);
    },
    lock: (ids, mode = 'update') => lockRows(db as Tx, 'node', ids, mode),
    allIds: async () => (await db.node.findMany({ select: { id: true } })).map((n) => n.id),
    lockSidIndexes: () => lockSidIndexes(db as Tx),
    async holding({ routerId, loopback, nodeSidIndex }, except) {
      const rows = await db.node.findMany({
        where: { id: { not: except }, OR: [{ routerId }, { loopback }, ...(nodeSidIndex !== undefined ? [{ nodeSidIndex }] : [])] },
        select: { id: true, routerId: true, loopback: true, nodeSidIndex: true },
      });
      return rows.map((r) => ({ id: r.id, routerId: r.routerId, loopback: r.loopback, ...(r.nodeSidIndex !== null ? { nodeSidIndex: r.nodeSidIndex } : {}) }));
    },
    async create(n) {
      await db.node.create({ data: { id: n.id, ...rowOf(n) } });
    },
    async update(n) {
      await db.node.update({ where: { id: n.id }, data: { ...rowOf(n), version: { increment: 1 } } });
    },
    async delete(id) {
      await db.node.delete({ where: { id } });
    },
  };
}
