// The outbox relay: queues the reconcile of every outbox row a crash (or a
// Redis outage, or a job already running) left unsent. Its periodic rounds
// run in the replica that owns the periodic work (owned-work.ts); a kick
// (a job this replica found running has finished) runs a round in any.
// Duplicates are harmless: jobs merge by node.
import type { Logger } from '../../common/logger.js';
import { withRequestIds } from '../../common/ops/request-context.js';
import type { OutboxStore } from '../store/outbox.js';
import type { ReconcileQueue } from './queue.js';

/** What the relay asks of the queue. */
export type RelayQueue = Pick<ReconcileQueue, 'queueJobs' | 'settleMs'>;

export class OutboxRelay {
  private running: Promise<number> | undefined;
  private kicked = false;
  private stopped = false;
  /** Row id -> when a pass first read it (it was committed by then). */
  private readonly firstSeen = new Map<bigint, number>();

  constructor(
    private readonly outbox: OutboxStore,
    private readonly queue: RelayQueue,
    private readonly log: Logger,
    /** Rows younger than this are left to the writer that made them. */
    private readonly graceMs = 1000,
  ) {}

  /** One pass; returns how many rows it marked sent. */
  runOnce(graceMs = this.graceMs): Promise<number> {
    this.running ??= this.pass(graceMs).finally(() => {
      this.running = undefined;
      if (this.kicked) this.kick();
    });
    return this.running;
  }

  /**
   * A reconcile job finished: the rows left unsent because it was running
   * are queued now (one job per node, however many changes waited), not at
   * the next round. Kicks during a pass give one more pass after it.
   */
  kick(): void {
    if (this.stopped) return;
    this.kicked = Boolean(this.running);
    if (!this.kicked) void this.runOnce(0).catch((err: Error) => this.log.warn({ err: err.message }, 'outbox relay pass failed'));
  }

  private async pass(graceMs: number): Promise<number> {
    const rows = await this.outbox.unsent(new Date(Date.now() - graceMs), 1000);
    if (!rows.length) return 0;
    // Every row read here was committed by now. A job running now that started after every row naming its node was
    // first read has read them all; without this, nodes kept busy by the passes themselves would keep rows for many
    // nodes unsent for ever, and a job a worker takes the moment it is queued would look stale.
    const now = Date.now();
    for (const r of rows) if (!this.firstSeen.has(r.id)) this.firstSeen.set(r.id, now);
    const late = new Set<string>();
    await Promise.all(
      [...new Set(rows.flatMap((r) => r.nodes))].map(async (node) => {
        const naming = rows.filter((r) => r.nodes.includes(node));
        const committedBy = Math.max(...naming.map((r) => this.firstSeen.get(r.id)!));
        // Inventory changes settle here too, so those that waited for a running job join the burst they came with.
        const settle = naming.some((r) => r.aggregate === 'node' || r.aggregate === 'link') ? this.queue.settleMs : 0;
        const missed = await withRequestIds(naming.flatMap((r) => r.requestIds), () => this.queue.queueJobs([node], committedBy, settle));
        if (missed.length) late.add(node);
      }),
    );
    const sent = rows.filter((r) => r.nodes.every((n) => !late.has(n))).map((r) => r.id);
    for (const id of sent) this.firstSeen.delete(id);
    if (sent.length) await this.outbox.markSent(sent);
    // A row some of whose nodes are done keeps only the others.
    for (const r of rows) {
      const left = r.nodes.filter((n) => late.has(n));
      if (left.length && left.length < r.nodes.length) await this.outbox.narrow(r.id, left);
    }
    this.log.debug({ rows: rows.length, sent: sent.length, late: late.size }, 'outbox relay pass');
    return sent.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => {});
  }
}
