// The node desired states the agents watch: a new generation is stored only
// when the state changed, with a NOTIFY in the same transaction so every
// replica's watchers wake up once it is committed. The last few generations
// are kept, so an agent reconnecting with one of them gets a delta, and so
// is the one its agent last reported applied.
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import { NodeDesiredState, type DesiredStateDelta } from '../../common/gen/proto/l3vpn/v1/agent.js';
import { diffDesiredState, type DesiredStateWarning } from '../../common/desired-state/index.js';
import { currentRequestIds } from '../../common/ops/request-context.js';
import type { Db, Tx } from '../intent/write-context.js';

export const DESIRED_STATE_CHANNEL = 'l3vpn_desired_state';
const KEEP_GENERATIONS = 10;

export interface StoredState {
  generation: number;
  state: NodeDesiredState;
  computedAt: Date;
}

export interface SaveResult {
  changed: boolean;
  generation: number;
  /** From the previous generation (absent when there was none) to this one; empty when unchanged. */
  delta: DesiredStateDelta;
  previous: NodeDesiredState | undefined;
}

const decode = (row: { generation: bigint; state: Uint8Array; computedAt: Date }): StoredState => ({
  generation: Number(row.generation),
  state: NodeDesiredState.decode(row.state),
  computedAt: row.computedAt,
});

/** Nothing an agent would install differs. */
export function isEmptyDelta(d: DesiredStateDelta): boolean {
  return d.changes.length === 0 && d.transport === undefined && !d.role;
}

export class DesiredStateStore {
  constructor(private readonly prisma: PrismaClient) {}

  async latest(node: string, db: Db = this.prisma): Promise<StoredState | undefined> {
    const row = await db.nodeDesiredState.findFirst({ where: { nodeId: node }, orderBy: { generation: 'desc' } });
    return row ? decode(row) : undefined;
  }

  async at(node: string, generation: number): Promise<StoredState | undefined> {
    const row = await this.prisma.nodeDesiredState.findUnique({ where: { nodeId_generation: { nodeId: node, generation: BigInt(generation) } } });
    return row ? decode(row) : undefined;
  }

  /**
   * Stores `state` as the node's next generation unless it equals the latest.
   * `onChange` runs in the same transaction (the caller's outbox row).
   */
  async save(
    node: string,
    state: NodeDesiredState,
    warnings: readonly DesiredStateWarning[],
    onChange: (tx: Tx, result: SaveResult) => Promise<void> = async () => {},
  ): Promise<SaveResult> {
    return this.prisma.$transaction(
      async (tx) => {
        // Two jobs of one node (a stalled one and its retry) must not both take the next generation.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`desired-state:${node}`}))`;
        const latest = await this.latest(node, tx);
        const generation = (latest?.generation ?? 0) + 1;
        const next = { ...state, generation };
        const delta = diffDesiredState(latest?.state, next);
        if (latest && isEmptyDelta(delta)) return { changed: false, generation: latest.generation, delta, previous: latest.state };
        await tx.nodeDesiredState.create({
          data: {
            nodeId: node,
            generation: BigInt(generation),
            state: NodeDesiredState.encode(next).finish(),
            warnings: warnings as never,
            // The changes this generation is the first to contain: those of the job storing it.
            requestIds: [...currentRequestIds()],
          },
        });
        // The generation the agent last applied stays too: what it holds is then always known (install-before-advertise).
        const applied = await tx.agentStatus.findUnique({ where: { nodeId: node }, select: { appliedGeneration: true } });
        await tx.nodeDesiredState.deleteMany({
          where: { nodeId: node, generation: { lte: BigInt(generation - KEEP_GENERATIONS), ...(applied ? { not: applied.appliedGeneration } : {}) } },
        });
        await tx.$executeRaw`SELECT pg_notify(${DESIRED_STATE_CHANNEL}, ${node})`;
        const result = { changed: true, generation, delta, previous: latest?.state };
        await onChange(tx, result);
        return result;
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  }

  /** Request ids of the generations after `from` up to `to`, oldest first (those still kept). */
  async requestIdsBetween(node: string, from: number, to: number): Promise<string[]> {
    const rows = await this.prisma.nodeDesiredState.findMany({
      where: { nodeId: node, generation: { gt: BigInt(from), lte: BigInt(to) } },
      orderBy: { generation: 'asc' },
      select: { requestIds: true },
    });
    return [...new Set(rows.flatMap((r) => r.requestIds))];
  }

  /** The node left the intent: its agent has nothing to watch. */
  async forget(node: string): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.nodeDesiredState.deleteMany({ where: { nodeId: node } }),
      this.prisma.agentStatus.deleteMany({ where: { nodeId: node } }),
      this.prisma.agentWatch.deleteMany({ where: { nodeId: node } }),
    ]);
  }
}
