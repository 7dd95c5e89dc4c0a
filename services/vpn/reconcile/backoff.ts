// How long a node's failed reconcile waits before it runs again: capped
// exponential backoff per node, as a Kubernetes workqueue's rate limiter
// does (first retry after `baseMs`, doubling, never more than `maxMs`).
// Retries never stop; a change of the node runs at once (queue.ts promotes
// the waiting retry), and a run that succeeds starts the count afresh.

export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly baseMs: number;
  /** The longest delay between two attempts. */
  readonly maxMs: number;
}

export const DEFAULT_RETRY_BASE_MS = 500;

/** The delay before the attempt that follows `failures` failed attempts in a row (1 = the first failure). */
export function retryDelayMs(failures: number, policy: BackoffPolicy): number {
  if (failures < 1) return 0;
  // 2^(failures-1) overflows to Infinity long after it passed any cap; min() keeps it finite.
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures - 1, 1023));
}

/** When each node's next attempt is due, for a clock: the policy as a schedule (tests, logs). */
export class RetrySchedule {
  constructor(
    readonly policy: BackoffPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Ms since the epoch when the attempt after `failures` failures is due. */
  nextAttemptAt(failures: number): number {
    return this.now() + retryDelayMs(failures, this.policy);
  }
}
