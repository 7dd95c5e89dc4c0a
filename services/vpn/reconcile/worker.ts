// The consumer side: a BullMQ worker running NodeReconciler for each job,
// retried with exponential backoff (queue.ts); after the last attempt the
// node's resources show status failed with the reason.
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.js';
import { withRequestIds } from '../../common/ops/request-context.js';
import type { ReconcileMetrics } from '../metrics.js';
import { RECONCILE_QUEUE, type ReconcileJob } from './queue.js';
import type { NodeReconciler } from './reconciler.js';

export function startReconcileWorker(options: {
  redis: Redis;
  prefix: string;
  reconciler: NodeReconciler;
  concurrency: number;
  log: Logger;
  metrics?: ReconcileMetrics;
}): Worker<ReconcileJob> {
  const { reconciler, log, metrics } = options;
  const worker = new Worker<ReconcileJob>(
    RECONCILE_QUEUE,
    // The request ids of the changes the job was queued for: its logs, the outbox rows and the generation it stores carry them.
    (job: Job<ReconcileJob>) =>
      withRequestIds(job.data.requestIds ?? [], async () => {
        const end = metrics?.jobSeconds.startTimer();
        try {
          await reconciler.reconcile(job.data.node);
          end?.({ outcome: 'done' });
        } catch (err) {
          end?.({ outcome: 'failed' });
          throw err;
        }
      }),
    { connection: options.redis, prefix: options.prefix, concurrency: options.concurrency },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const last = job.attemptsMade >= (job.opts.attempts ?? 1);
    metrics?.jobFailures.inc({ final: String(last) });
    log.warn({ node: job.data.node, attempt: job.attemptsMade, requestIds: job.data.requestIds, err: err.message }, last ? 'reconcile failed for good' : 'reconcile failed; will retry');
    if (last) void reconciler.failed(job.data.node, err.message).catch(() => {});
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'reconcile worker error'));
  return worker;
}
