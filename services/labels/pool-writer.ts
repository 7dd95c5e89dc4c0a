// Group commit: calls that arrive while transactions are running wait and
// then go together in the next one, with the calls of other pools too. One
// durable commit then serves many callers, which is what lets single
// allocations outrun the per-commit cost of Postgres (../shared/DATAPLANE.md
// measured ~2k commits/s on this box).
import type { Logger } from '../common/logger.js';
import type { PoolOp, UnitResult } from './pool-plan.js';
import type { BatchOutcome, PoolKey, PoolSettings, PoolSnapshot, PoolStore } from './pool-store.js';

interface PendingUnit {
  ops: readonly PoolOp[];
  resolve: (r: { pool: PoolSnapshot; result: UnitResult }) => void;
  reject: (err: unknown) => void;
}

interface Queue {
  key: PoolKey;
  defaults: PoolSettings;
  givenRange: readonly [number, number] | undefined;
  pending: PendingUnit[];
}

/** Postgres errors worth another try: serialization failure, deadlock, a unique violation after a race. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const ATTEMPTS = 4;

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export interface PoolWriterLimits {
  /** Transactions running at once (each takes one database connection). */
  concurrency: number;
  /** Most ops, and most pools, in one transaction. */
  maxOps: number;
  maxPools: number;
}

export class PoolWriter {
  private readonly queues = new Map<string, Queue>();
  /** Pools in a running transaction: their new calls wait for the next one. */
  private readonly busy = new Set<string>();
  private running = 0;

  constructor(
    private readonly store: PoolStore,
    private readonly log: Logger,
    private readonly limits: PoolWriterLimits = { concurrency: 4, maxOps: 20_000, maxPools: 64 },
  ) {}

  submit(
    key: PoolKey,
    defaults: PoolSettings,
    ops: readonly PoolOp[],
    givenRange?: readonly [number, number],
  ): Promise<{ pool: PoolSnapshot; result: UnitResult }> {
    const id = `${key.kind}\u0000${key.scope}`;
    let queue = this.queues.get(id);
    if (!queue) {
      queue = { key, defaults, givenRange, pending: [] };
      this.queues.set(id, queue);
    }
    const q = queue;
    return new Promise((resolve, reject) => {
      q.pending.push({ ops, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.limits.concurrency) {
      const taken: Array<{ id: string; queue: Queue; units: PendingUnit[] }> = [];
      let ops = 0;
      for (const [id, queue] of this.queues) {
        if (this.busy.has(id) || queue.pending.length === 0) continue;
        if (taken.length === this.limits.maxPools || (taken.length > 0 && ops >= this.limits.maxOps)) break;
        const units: PendingUnit[] = [];
        while (queue.pending.length > 0 && (units.length === 0 || ops + queue.pending[0]!.ops.length <= this.limits.maxOps)) {
          const unit = queue.pending.shift()!;
          ops += unit.ops.length;
          units.push(unit);
        }
        taken.push({ id, queue, units });
      }
      if (taken.length === 0) return;
      for (const t of taken) this.busy.add(t.id);
      this.running++;
      void this.run(taken).finally(() => {
        for (const t of taken) {
          this.busy.delete(t.id);
          if (t.queue.pending.length === 0) this.queues.delete(t.id);
        }
        this.running--;
        this.pump();
      });
    }
  }

  private async run(taken: Array<{ queue: Queue; units: PendingUnit[] }>): Promise<void> {
    const batches = taken.map(({ queue, units }) => ({
      key: queue.key,
      defaults: queue.defaults,
      givenRange: queue.givenRange,
      units: units.map((u) => u.ops),
    }));
    for (let attempt = 1; ; attempt++) {
      let outcomes: BatchOutcome[];
      try {
        outcomes = await this.store.runBatches(batches);
      } catch (err) {
        const code = pgCode(err);
        if (attempt < ATTEMPTS && code !== undefined && RETRYABLE.has(code)) {
          this.log.debug({ code, attempt, pools: batches.length }, 'pool transaction conflicted; retrying');
          continue;
        }
        this.log.error({ err, pools: batches.map((b) => b.key) }, 'pool transaction failed');
        for (const t of taken) for (const u of t.units) u.reject(err);
        return;
      }
      taken.forEach((t, i) => t.units.forEach((u, j) => u.resolve({ pool: outcomes[i]!.pool, result: outcomes[i]!.units[j]! })));
      return;
    }
  }
}
