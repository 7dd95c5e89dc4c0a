// The transactional outbox: a row per intent change, written in the change's
// own transaction, so a committed change is never without its notice and a
// rolled-back one never has one.
import type { Prisma, PrismaClient } from '../../common/gen/prisma/client.js';
import { currentRequestIds } from '../../common/ops/request-context.js';
import type { Change, ResourceKind } from '../intent/types.js';
import type { Tx } from './db.js';

export interface OutboxEntry {
  aggregate: ResourceKind;
  aggregateId: string;
  action: 'create' | 'update' | 'delete';
  nodes: string[];
  changes: Change[];
  resource?: unknown;
}

export async function writeOutbox(tx: Tx, e: OutboxEntry): Promise<bigint> {
  const row = await tx.outbox.create({
    data: {
      aggregate: e.aggregate,
      aggregateId: e.aggregateId,
      action: e.action,
      nodes: e.nodes,
      payload: { changes: e.changes, resource: e.resource ?? null } as unknown as Prisma.InputJsonValue,
      requestIds: [...currentRequestIds()],
    },
    select: { id: true },
  });
  return row.id;
}

/** An outbox row not sent yet: the nodes whose reconcile it still waits for. */
export interface UnsentChange {
  id: bigint;
  aggregate: string;
  nodes: string[];
  requestIds: string[];
}

/** The relay's and the queue's side of the outbox: which rows wait, and marking them done. */
export interface OutboxStore {
  /** Unsent rows written before `before`, oldest first, at most `limit`. */
  unsent(before: Date, limit: number): Promise<UnsentChange[]>;
  /** The rows' reconciles are queued. */
  markSent(ids: bigint[]): Promise<void>;
  /** The row waits only for these nodes now. */
  narrow(id: bigint, nodes: string[]): Promise<void>;
}

export function prismaOutboxStore(prisma: PrismaClient): OutboxStore {
  return {
    unsent: (before, limit) =>
      prisma.outbox.findMany({
        where: { sentAt: null, createdAt: { lt: before } },
        orderBy: { id: 'asc' },
        take: limit,
        select: { id: true, nodes: true, requestIds: true, aggregate: true },
      }),
    async markSent(ids) {
      if (ids.length) await prisma.outbox.updateMany({ where: { id: { in: ids } }, data: { sentAt: new Date() } });
    },
    async narrow(id, nodes) {
      await prisma.outbox.update({ where: { id }, data: { nodes } });
    },
  };
}
