// The transactional outbox: a row per intent change, written in the change's
// own transaction, so a committed change is never without its notice and a
// rolled-back one never has one.
import type { Prisma } from '../../common/gen/prisma/client.js';
import { currentRequestIds } from '../../common/ops/request-context.js';
import type { Change, ResourceKind } from '../intent/types.js';
import type { Tx } from '../intent/write-context.js';

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
