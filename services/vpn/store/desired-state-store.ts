// Stored desired-state generations of the nodes (state/desired-state-store.ts
// keeps the rules: a generation only when changed, which are kept), the
// advisory lock that serialises a node's writers, and the NOTIFY that wakes
// every replica's watchers on commit.
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import { NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { DesiredStateWarning } from '../../common/desired-state/index.js';
import type { Tx } from './db.js';

export const DESIRED_STATE_CHANNEL = 'l3vpn_desired_state';

export interface StoredState {
  generation: number;
  state: NodeDesiredState;
  computedAt: Date;
}

export interface DesiredStateRecords {
  /**
   * Runs `fn` in one transaction holding the node's desired-state lock, over
   * records bound to it; `tx` is that transaction, for the caller's own
   * writes (an outbox row) to commit with it.
   */
  locked<T>(node: string, fn: (records: DesiredStateRecords, tx: Tx) => Promise<T>): Promise<T>;
  /** The newest generation; read in `tx` when given. */
  latest(node: string, tx?: Tx): Promise<StoredState | undefined>;
  at(node: string, generation: number): Promise<StoredState | undefined>;
  add(node: string, generation: number, state: NodeDesiredState, warnings: readonly DesiredStateWarning[], requestIds: string[]): Promise<void>;
  /** The generation the node's agent last reported applied. */
  appliedGeneration(node: string): Promise<number | undefined>;
  /** Deletes the generations up to `upTo`, except `except`. */
  prune(node: string, upTo: number, except?: number): Promise<void>;
  /** NOTIFY DESIRED_STATE_CHANNEL with the node, sent when the transaction commits. */
  notifyChanged(node: string): Promise<void>;
  /** The request ids of the generations after `from` up to `to`, oldest generation first. */
  requestIds(node: string, from: number, to: number): Promise<string[][]>;
  /** Deletes the node's generations, its agent's report and watch. */
  forget(node: string): Promise<void>;
}

const decode = (row: { generation: bigint; state: Uint8Array; computedAt: Date }): StoredState => ({
  generation: Number(row.generation),
  state: NodeDesiredState.decode(row.state),
  computedAt: row.computedAt,
});

export function prismaDesiredStateRecords(prisma: PrismaClient): DesiredStateRecords {
  return over(prisma, prisma);
}

function over(prisma: PrismaClient, db: PrismaClient | Tx): DesiredStateRecords {
  const records: DesiredStateRecords = {
    locked: (node, fn) =>
      db === prisma
        ? prisma.$transaction(
            async (tx) => {
              // Two jobs of one node (a stalled one and its retry) must not both take the next generation.
              await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`desired-state:${node}`}))`;
              return fn(over(prisma, tx), tx);
            },
            { maxWait: 10_000, timeout: 30_000 },
          )
        : Promise.reject(new Error('desired-state records: already in a transaction')),
    latest: async (node, tx) => {
      const row = await (tx ?? db).nodeDesiredState.findFirst({ where: { nodeId: node }, orderBy: { generation: 'desc' } });
      return row ? decode(row) : undefined;
    },
    at: async (node, generation) => {
      const row = await db.nodeDesiredState.findUnique({ where: { nodeId_generation: { nodeId: node, generation: BigInt(generation) } } });
      return row ? decode(row) : undefined;
    },
    add: async (node, generation, state, warnings, requestIds) =>
      void (await db.nodeDesiredState.create({
        data: { nodeId: node, generation: BigInt(generation), state: NodeDesiredState.encode(state).finish(), warnings: warnings as never, requestIds },
      })),
    appliedGeneration: async (node) => {
      const row = await db.agentStatus.findUnique({ where: { nodeId: node }, select: { appliedGeneration: true } });
      return row ? Number(row.appliedGeneration) : undefined;
    },
    prune: async (node, upTo, except) =>
      void (await db.nodeDesiredState.deleteMany({
        where: { nodeId: node, generation: { lte: BigInt(upTo), ...(except !== undefined ? { not: BigInt(except) } : {}) } },
      })),
    notifyChanged: async (node) => void (await db.$executeRaw`SELECT pg_notify(${DESIRED_STATE_CHANNEL}, ${node})`),
    requestIds: async (node, from, to) =>
      (
        await db.nodeDesiredState.findMany({
          where: { nodeId: node, generation: { gt: BigInt(from), lte: BigInt(to) } },
          orderBy: { generation: 'asc' },
          select: { requestIds: true },
        })
      ).map((r) => r.requestIds),
    forget: async (node) => {
      await prisma.$transaction([
        prisma.nodeDesiredState.deleteMany({ where: { nodeId: node } }),
        prisma.agentStatus.deleteMany({ where: { nodeId: node } }),
        prisma.agentWatch.deleteMany({ where: { nodeId: node } }),
      ]);
    },
  };
  return records;
}
