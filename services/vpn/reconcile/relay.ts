// The outbox relay: queues the reconcile of every outbox row a crash (or a
// Redis outage, or a job already running) left unsent. Duplicates are
// harmless, jobs merge by node, so replicas may all run it.
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { Logger } from '../../common/logger.js';
import type { ReconcileQueue } from './queue.js';

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  /** Row id -> when a pass first read it (it was committed by then). */
  private readonly firstSeen = new Map<bigint, number>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: ReconcileQueue,
    private readonly log: Logger,
    /** Rows younger than this are left to the writer that made them. */
    private readonly graceMs = 1000,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.runOnce().catch((err: Error) => this.log.warn({ err: err.message }, 'outbox relay pass failed')), intervalMs);
    this.timer.unref();
  }

  /** One pass; returns how many rows it marked sent. */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    const rows = await this.prisma.outbox.findMany({
      where: { sentAt: null, createdAt: { lt: new Date(Date.now() - this.graceMs) } },
      orderBy: { id: 'asc' },
      take: 1000,
      select: { id: true, nodes: true },
    });
    if (!rows.length) return 0;
    const now = Date.now();
    // A job running now that started after every row naming its node was first read has read them all; without
    // this, nodes kept busy by the passes themselves would keep rows for many nodes unsent for ever.
    const queued = new Map<string, boolean>();
    for (const node of new Set(rows.flatMap((r) => r.nodes))) {
      const seen = rows.filter((r) => r.nodes.includes(node)).map((r) => this.firstSeen.get(r.id));
      const committedBy = seen.every((t) => t !== undefined) ? Math.max(...(seen as number[])) : undefined;
      queued.set(node, await this.queue.enqueue([node], committedBy));
    }
    const sent = rows.filter((r) => r.nodes.every((n) => queued.get(n))).map((r) => r.id);
    for (const r of rows) if (!this.firstSeen.has(r.id)) this.firstSeen.set(r.id, now);
    for (const id of sent) this.firstSeen.delete(id);
    if (sent.length) await this.prisma.outbox.updateMany({ where: { id: { in: sent } }, data: { sentAt: new Date() } });
    this.log.debug({ rows: rows.length, sent: sent.length, nodes: queued.size }, 'outbox relay pass');
    return sent.length;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
  }
}
