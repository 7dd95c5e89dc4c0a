// The vpn service's periodic work that a deployment needs done once, not
// once per replica: the outbox relay's rounds, the route-target claim
// sweep, the periodic resync, the agent-liveness and bgp-speaker sweeps,
// the idempotency-key purge. Every replica serves the APIs and runs
// reconcile jobs; only the owner of the lease (common/db/lease.ts) runs
// these. Each task is idempotent (a node queued twice is one job, a row
// marked sent twice is sent), so the lease is about not doing the work N
// times, and about one replica saying it does it, not about correctness.
import type { Logger } from '../common/logger.js';

export interface PeriodicTask {
  name: string;
  periodMs: number;
  /** One pass; a pass still running when the next is due makes that one skip. */
  run(): Promise<unknown>;
}

export class OwnedWork {
  private timers: NodeJS.Timeout[] = [];
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly tasks: readonly PeriodicTask[],
    private readonly log: Logger,
  ) {}

  get started(): boolean {
    return this.timers.length > 0;
  }

  /** Starts every task's timer (the first pass one period from now). */
  start(): void {
    if (this.started) return;
    this.timers = this.tasks.map((t) => {
      const timer = setInterval(() => this.pass(t), t.periodMs);
      timer.unref();
      return timer;
    });
  }

  /** Stops the timers and waits for the passes under way. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all(this.running.values());
  }

  private pass(t: PeriodicTask): void {
    if (this.running.has(t.name)) return;
    const p = t
      .run()
      .catch((err: Error) => this.log.warn({ task: t.name, err: err.message }, 'periodic task failed; its next pass retries'))
      .finally(() => this.running.delete(t.name));
    this.running.set(t.name, p);
  }
}
