// Group commit: calls that arrive for a pool while its transaction is running
// wait and then go together in the next one. One durable commit then serves
// many callers, which is what lets single allocations outrun the per-commit
// cost of Postgres (see ../shared/DATAPLANE.md: ~2k commits/s on this box).
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
  running: boolean;
}

/** Postgres errors worth one more try: serialization failure, deadlock, unique violation after a race. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);

function pgCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const o = e as { code?: unknown; originalCode?: unknown; cause?: unknown; meta?: { code?: unknown } };
    for (const c of [o.originalCode, o.meta?.code, o.code]) if (typeof c === 'string' && /^[0-9A-Z]{5}$/.test(c)) return c;
    e = o.cause;
  }
  return undefined;
}

export class PoolWriter {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly store: PoolStore,
    private readonly log: Logger,
    /** Most ops in one transaction; larger groups wait for the next. */
    private readonly maxOpsPerBatch = 20_000,
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
      queue = { key, defaults, givenRange, pending: [], running: false };
      this.queues.set(id, queue);
    }
    return new Promise((resolve, reject) => {
      queue.pending.push({ ops, resolve, reject });
      if (!queue.running) void this.drain(id, queue);
    });
  }

  private async drain(id: string, queue: Queue): Promise<void> {
    queue.running = true;
    try {
      while (queue.pending.length > 0) {
        const batch: PendingUnit[] = [];
        let ops = 0;
        while (queue.pending.length > 0 && (batch.length === 0 || ops + queue.pending[0]!.ops.length <= this.maxOpsPerBatch)) {
          const unit = queue.pending.shift()!;
          ops += unit.ops.length;
          batch.push(unit);
        }
        await this.run(queue, batch);
      }
    } finally {
      queue.running = false;
      if (queue.pending.length === 0) this.queues.delete(id);
    }
  }

  private async run(queue: Queue, batch: PendingUnit[]): Promise<void> {
    const units = batch.map((u) => u.ops);
    for (let attempt = 1; ; attempt++) {
      let outcome: BatchOutcome;
      try {
        outcome = await this.store.runBatch(queue.key, queue.defaults, units, queue.givenRange);
      } catch (err) {
        const code = pgCode(err);
        if (attempt < 4 && code !== undefined && RETRYABLE.has(code)) {
          this.log.debug({ pool: queue.key, code, attempt }, 'pool transaction conflicted; retrying');
          continue;
        }
        this.log.error({ pool: queue.key, err }, 'pool transaction failed');
        for (const u of batch) u.reject(err);
        return;
      }
      batch.forEach((u, i) => u.resolve({ pool: outcome.pool, result: outcome.units[i]! }));
      return;
    }
  }
}
