// The producer side of "reconcile node X": one BullMQ job per node, with the
// node as job id, so a burst of changes to one node becomes one job. An
// inventory change (every node's transport) waits a short settle time before
// its jobs run, as IGPs hold SPF runs back for a burst of topology changes
// (RFC 8405), so a batch of link writes costs about one reconcile per node.
// A failed job is retried for ever, with the worker's capped exponential
// backoff (backoff.ts); the waiting retry is a delayed job in Redis, so it
// survives a restart, and a change of its node brings it forward.
import { Queue, QueueEvents, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { boundedIds, currentRequestIds } from '../../common/ops/request-context.js';
import type { ChangeSink } from '../intent/intent-service.js';
import type { OutboxStore } from '../store/outbox.js';

export const RECONCILE_QUEUE = 'vpn-reconcile';

export interface ReconcileJob {
  node: string;
  /** Request ids of the changes the job was queued for (the current ones of each enqueue merged into it). */
  requestIds?: string[];
}

export function redisConnection(url: string): Redis {
  // BullMQ's blocking commands need unlimited retries per request.
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** The worker's backoff strategy (worker.ts) computes the delay of this custom type. */
export const RETRY_BACKOFF = 'capped-exponential';

const JOB_OPTIONS: JobsOptions = {
  // Never given up: a node stays wrong only as long as its cause lasts.
  attempts: Number.MAX_SAFE_INTEGER,
  backoff: { type: RETRY_BACKOFF },
  // A finished job must not keep its id, or the next change of its node would merge into it and be lost.
  removeOnComplete: true,
  // Only a job that stalled too often fails: it must free its id too (the periodic resync queues the node again).
  removeOnFail: true,
};

/** A burst of inventory changes holds a node's job back for at most this many settle times. */
const MAX_HOLD = 25;

/** States in which a job has not yet started, so it will read whatever was committed before it was found there. */
const NOT_STARTED = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

export class ReconcileQueue implements ChangeSink {
  readonly queue: Queue<ReconcileJob>;
  private events: QueueEvents | undefined;
  /** QueueEvents blocks on its connection, so it gets its own; BullMQ does not close a connection it was handed. */
  private eventsConnection: Redis | undefined;
  /** Nodes whose running job a change found here: their outbox rows wait for it to finish. */
  private readonly awaited = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly outbox: OutboxStore,
    /** How long the jobs of an inventory change wait for more changes before they run. */
    readonly settleMs = 0,
  ) {
    this.queue = new Queue<ReconcileJob>(RECONCILE_QUEUE, { connection: redis, prefix });
  }

  /**
   * Queues a reconcile of each node. True when every node has a job that has
   * not started yet, or started after `committedBy` (ms since the epoch, a
   * time the change was known to be committed).
   */
  async enqueue(nodes: string[], committedBy?: number, delayMs = 0): Promise<boolean> {
    return (await this.queueJobs(nodes, committedBy, delayMs)).length === 0;
  }

  /**
   * Queues a reconcile of each node; answers the nodes whose job was already
   * running and may have read the state before this change. Their change
   * stays in the outbox, and the relay queues it again once that job is
   * done: all changes that arrive while a job runs make one more job.
   */
  async queueJobs(nodes: string[], committedBy?: number, delayMs = 0): Promise<string[]> {
    if (!nodes.length) return [];
    const requestIds = [...currentRequestIds()];
    // One round trip for the jobs; an id already queued or running is left as it is.
    await this.queue.addBulk(
      nodes.map((node) => ({ name: 'reconcile', data: { node, requestIds }, opts: { ...JOB_OPTIONS, jobId: node, ...(delayMs ? { delay: delayMs } : {}) } })),
    );
    const fresh = await Promise.all(
      nodes.map(async (node) => {
        const state = await this.queue.getJobState(node);
        if (NOT_STARTED.has(state)) {
          const delayed = state === 'delayed';
          const job = requestIds.length || delayed ? await this.queue.getJob(node) : undefined;
          if (job && requestIds.length) await this.carryIds(job, requestIds);
          if (job && delayed && job.attemptsMade > 0) await this.bringForward(job, delayMs);
          else if (job && delayed && delayMs > 0) await this.holdBack(job, delayMs);
          return true;
        }
        // A running job that started after the change was committed has read it, too.
        return state === 'active' && committedBy !== undefined && ((await this.queue.getJob(node))?.processedOn ?? 0) > committedBy;
      }),
    );
    const late = nodes.filter((_, i) => !fresh[i]);
    for (const node of late) this.awaited.add(node);
    return late;
  }

  /** Of `nodes`, those whose reconcile job has not finished: not started yet (a failed attempt waits, delayed, for its retry) or running. */
  async unfinished(nodes: string[]): Promise<string[]> {
    const states = await Promise.all(nodes.map((n) => this.queue.getJobState(n)));
    return nodes.filter((_, i) => states[i] === 'active' || NOT_STARTED.has(states[i]!));
  }

  /**
   * Another inventory change while the node's job waits: it waits `delayMs`
   * more, so a burst is taken in one go, yet never longer than MAX_HOLD
   * settle times after its first change (like an IGP's SPF back-off).
   */
  private async holdBack(job: Job<ReconcileJob>, delayMs: number): Promise<void> {
    // Never earlier than it was due: every call pushes it to now + delayMs, capped from its first change (its timestamp).
    const delay = Math.min(delayMs, job.timestamp + MAX_HOLD * delayMs - Date.now());
    if (delay > 0) await job.changeDelay(delay).catch(() => undefined); // promoted meanwhile: it will read the change anyway
  }

  /**
   * A retry waiting out its backoff: the change runs now (or after its
   * settle time), not when the backoff ends. A failure afterwards waits
   * longer still: the count of failures in a row is the job's.
   */
  private async bringForward(job: Job<ReconcileJob>, delayMs: number): Promise<void> {
    // BullMQ scores a delayed job by its due time (ms) * 0x1000.
    const score = await this.redis.zscore(this.queue.keys.delayed!, job.id!);
    if (score !== null && Math.floor(Number(score) / 0x1000) <= Date.now() + delayMs) return; // due by then anyway
    // Promoted or started meanwhile: it reads the change anyway.
    await (delayMs > 0 ? job.changeDelay(delayMs) : job.promote()).catch(() => undefined);
  }

  /** A job not started yet took this enqueue: its data gets these ids too, so the change stays traceable. */
  private async carryIds(stored: Job<ReconcileJob>, requestIds: string[]): Promise<void> {
    const had = stored.data.requestIds ?? [];
    if (requestIds.every((id) => had.includes(id))) return;
    await stored.updateData({ node: stored.data.node, requestIds: boundedIds([...had, ...requestIds]) }).catch(() => undefined);
  }

  async committed(outboxId: bigint, nodes: string[], options: { settle?: boolean } = {}): Promise<void> {
    const late = await this.queueJobs(nodes, Date.now(), options.settle ? this.settleMs : 0);
    if (late.length === nodes.length) return;
    // The row keeps only the nodes whose running job may have missed the change, so the relay re-queues just those.
    await (late.length ? this.outbox.narrow(outboxId, late) : this.outbox.markSent([outboxId]));
  }

  /**
   * Calls `listener` when a reconcile job (of any replica) that a change here
   * found running finishes (done, or failed), so the changes that waited for
   * it are queued at once rather than at the relay's next round.
   */
  onJobFinished(listener: (node: string) => void): void {
    if (!this.events) {
      this.eventsConnection = this.redis.duplicate();
      this.events = new QueueEvents(RECONCILE_QUEUE, { connection: this.eventsConnection, prefix: this.prefix });
    }
    // Only jobs this process found running when it queued a change: the others leave nothing behind.
    const finished = ({ jobId }: { jobId: string }) => this.awaited.delete(jobId) && listener(jobId);
    this.events.on('completed', finished);
    this.events.on('failed', finished);
    // A failed attempt waits for its retry as a delayed job: the changes that waited for it bring it forward.
    this.events.on('delayed', finished);
    this.events.on('error', () => {}); // it reconnects by itself; meanwhile the relay's rounds still run
  }

  async close(): Promise<void> {
    await this.events?.close();
    this.eventsConnection?.disconnect();
    await this.queue.close();
  }
}
