// The level-triggered safety net: every period, a reconcile of every node,
// so an event that was lost (a dropped job, a crash between two writes, a
// change nobody queued) is caught within one period. The replica that owns
// the periodic work runs it (owned-work.ts); a Redis key that lives for
// most of a period keeps a lease handed over mid-period from resyncing
// twice in it (and jobs merge by node id anyway).
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.js';

export interface ResyncTarget {
  enqueue(nodes: string[]): Promise<unknown>;
}

export class PeriodicResync {
  private running: Promise<number> | undefined;

  constructor(
    private readonly redis: Redis,
    /** Redis key prefix (redis.prefix), shared by the replicas of one deployment. */
    private readonly prefix: string,
    private readonly nodes: () => Promise<string[]>,
    private readonly queue: ResyncTarget,
    private readonly log: Logger,
    readonly periodMs: number,
  ) {}

  /** One period's turn: queues every node when this replica wins the period; answers how many nodes it queued. */
  tick(): Promise<number> {
    this.running ??= this.resync()
      .catch((err: Error) => {
        this.log.warn({ err: err.message }, 'periodic resync failed; the next period tries again');
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async resync(): Promise<number> {
    // Lives for 90% of a period: an owner that took the lease over mid-period does not resync twice in it.
    const won = await this.redis.set(`${this.prefix}:vpn-resync`, String(process.pid), 'PX', Math.max(1, Math.floor(this.periodMs * 0.9)), 'NX');
    if (won !== 'OK') return 0;
    const nodes = await this.nodes();
    await this.queue.enqueue(nodes);
    this.log.info({ nodes: nodes.length }, 'periodic resync queued every node');
    return nodes.length;
  }

  async stop(): Promise<void> {
    await this.running;
  }
}
