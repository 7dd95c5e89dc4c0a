// The outbox row that keeps a wake-up for nodes whose reconcile was already
// running (routes/wake-nodes.ts): the relay queues them once that job is done.
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import { writeOutbox } from './outbox.js';

export interface WakeOutbox {
  /** Records, in one transaction, that `nodes` must be reconciled again. */
  keep(nodes: string[]): Promise<void>;
}

export function prismaWakeOutbox(prisma: PrismaClient): WakeOutbox {
  return {
    keep: async (nodes) =>
      void (await prisma.$transaction((tx) => writeOutbox(tx, { aggregate: 'node', aggregateId: nodes[0]!, action: 'update', nodes, changes: [] }))),
  };
}
