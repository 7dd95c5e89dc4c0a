// The producer side of "reconcile node X": one BullMQ job per node, with the
// node as job id, so a burst of changes to one node becomes one job.
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { ChangeSink } from '../intent/intent-service.js';

export const RECONCILE_QUEUE = 'vpn-reconcile';

export interface ReconcileJob {
  node: string;
}

export function redisConnection(url: string): Redis {
  // BullMQ's blocking commands need unlimited retries per request.
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

const JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  // A finished job must not keep its id, or the next change of its node would merge into it and be lost.
  removeOnComplete: true,
  removeOnFail: true,
};

/** States in which a job has not yet started, so it will read whatever was committed before it was found there. */
const NOT_STARTED = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

export class ReconcileQueue implements ChangeSink {
  readonly queue: Queue<ReconcileJob>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly prisma: PrismaClient,
  ) {
    this.queue = new Queue<ReconcileJob>(RECONCILE_QUEUE, { connection: redis, prefix });
  }

  /**
   * Queues a reconcile of each node. True when every node has a job that has
   * not started yet, or started after `committedBy` (ms since the epoch, a
   * time the change was known to be committed). A job already running may have read the state before
   * this change: then the change stays unsent and the relay queues it again
   * once that job is done.
   */
  async enqueue(nodes: string[], committedBy?: number): Promise<boolean> {
    let all = true;
    for (const node of nodes) {
      const job = await this.queue.add('reconcile', { node }, { ...JOB_OPTIONS, jobId: node });
      const state = await job.getState();
      // A running job that started after the change was committed has read it, too.
      // (add() answers with the job it was given, not the stored one, so ask for that.)
      const startedAfter = state === 'active' && committedBy !== undefined && ((await this.queue.getJob(node))?.processedOn ?? 0) > committedBy;
      if (!NOT_STARTED.has(state) && !startedAfter) all = false;
    }
    return all;
  }

  async committed(outboxId: bigint, nodes: string[]): Promise<void> {
    if (await this.enqueue(nodes, Date.now())) await this.prisma.outbox.update({ where: { id: outboxId }, data: { sentAt: new Date() } });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
