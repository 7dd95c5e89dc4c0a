// Reconciles for changes that are not intent writes: an agent reporting new
// labels installed, the bgp service selecting other routes into a VRF.
import type { ReconcileQueue } from '../reconcile/queue.js';
import type { WakeOutbox } from '../store/wake-outbox.js';

/**
 * Queues a reconcile of each node for a change seen by `at` (ms since the
 * epoch). A node whose job was already running may have read the state
 * before the change: an outbox row keeps it, and the relay queues it once
 * that job is done, as for an intent write.
 */
export async function wakeNodes(outbox: WakeOutbox, queue: Pick<ReconcileQueue, 'queueJobs'>, nodes: string[], at: number): Promise<void> {
  const late = await queue.queueJobs(nodes, at);
  if (!late.length) return;
  await outbox.keep(late);
}
