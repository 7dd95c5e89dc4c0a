// The consumer side: a BullMQ worker running NodeReconciler for each job.
// A failed attempt puts the error on the node's resources (status failed,
// the reason) before the job waits for its retry, capped exponential
// backoff (backoff.ts) for ever; a retry leaves that error in place until a
// run succeeds.
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.js';
import { withRequestIds } from '../../common/ops/request-context.js';
import type { ReconcileMetrics } from '../metrics.js';
import { retryDelayMs, RetrySchedule, type BackoffPolicy } from './backoff.js';
import { RECONCILE_QUEUE, type ReconcileJob } from './queue.js';
import type { NodeReconciler } from './reconciler.js';

/** How a status write that failed is retried: it is never dropped, only given up when the worker closes. */
const STATUS_WRITE_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 5000 };

export function startReconcileWorker(options: {
  redis: Redis;
  prefix: string;
  reconciler: NodeReconciler;
  concurrency: number;
  retry: BackoffPolicy;
  log: Logger;
  metrics?: ReconcileMetrics;
}): Worker<ReconcileJob> {
  const { reconciler, log, metrics } = options;
  const schedule = new RetrySchedule(options.retry);
  let closing = false;

  /** The reason goes on every resource of the node; written while the job still holds the node, so no later run's status is overwritten. */
  async function recordFailure(node: string, reason: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await reconciler.failed(node, reason);
        if (attempt > 1) log.info({ node, attempt }, 'failed status written');
        return;
      } catch (err) {
        if (closing) {
          log.warn({ node, err: (err as Error).message, reason }, 'failed status not written: shutting down; the retry of the job writes it');
          return;
        }
        log.warn({ node, attempt, err: (err as Error).message }, 'failed status not written; retrying');
        await new Promise((r) => setTimeout(r, retryDelayMs(attempt, STATUS_WRITE_BACKOFF)));
      }
    }
  }

  const worker = new Worker<ReconcileJob>(
    RECONCILE_QUEUE,
    // The request ids of the changes the job was queued for: its logs, the outbox rows and the generation it stores carry them.
    (job: Job<ReconcileJob>) =>
      withRequestIds(job.data.requestIds ?? [], async () => {
        const end = metrics?.jobSeconds.startTimer();
        try {
          await reconciler.reconcile(job.data.node, { retry: job.attemptsMade > 0 });
          end?.({ outcome: 'done' });
          if (job.attemptsMade > 0) log.info({ node: job.data.node, failures: job.attemptsMade }, 'reconcile succeeded after failures');
        } catch (err) {
          end?.({ outcome: 'failed' });
          await recordFailure(job.data.node, (err as Error).message);
          throw err;
        }
      }),
    {
      connection: options.redis,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // A replica that dies holds its running jobs until their lock expires and a stall check finds them: 10 s locks
      // (renewed every 5 s) checked every 5 s give a dead replica's nodes to the others within ~15 s, not BullMQ's ~60 s.
      // A reconcile is idempotent, so a false stall (an event loop blocked for 10 s) costs a second run, never a lost one.
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 100,
      // The one strategy of RETRY_BACKOFF jobs; attemptsMade counts this failure.
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade, options.retry) },
    },
  );
  worker.on('closing', () => (closing = true));
  worker.on('failed', (job, err) => {
    if (!job) return;
    metrics?.jobFailures.inc();
    log.warn(
      { node: job.data.node, failures: job.attemptsMade, requestIds: job.data.requestIds, err: err.message, retryAt: new Date(schedule.nextAttemptAt(job.attemptsMade)).toISOString() },
      'reconcile failed; will retry',
    );
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'reconcile worker error'));
  return worker;
}
