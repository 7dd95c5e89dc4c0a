// The periodic sweep that turns a silent agent into an `unreachable` node
// and back: it queues the reconcile of every node whose status disagrees
// with how recently its agent was heard from (agent_status.last_seen_at
// against vpn.agent-timeout-seconds); the reconcile derives the statuses
// and logs the transition. Level-triggered and run by every replica: a node
// queued twice is one job (job id = node), and a sweep that finds nothing
// to fix queues nothing.
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { Logger } from '../../common/logger.js';

export class AgentLivenessSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly enqueue: (nodes: string[]) => Promise<void>,
    private readonly agentTimeoutMs: number,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Nodes whose status says reachable while the agent is silent, or unreachable while it is heard from. FAILED (a reconcile that fails, retried by the worker) and PENDING nodes are left to their jobs. */
  async stale(): Promise<string[]> {
    // Prisma stores DateTime as UTC in a timestamp without time zone: compare in UTC whatever the session's zone.
    const cutoff = new Date(this.clock().getTime() - this.agentTimeoutMs).toISOString().slice(0, -1);
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT n.id FROM node n JOIN agent_status a ON a.node_id = n.id
       WHERE (a.last_seen_at < ${cutoff}::timestamp AND n.status NOT IN ('UNREACHABLE', 'FAILED', 'PENDING'))
          OR (a.last_seen_at >= ${cutoff}::timestamp AND n.status = 'UNREACHABLE')
       ORDER BY n.id`;
    return rows.map((r) => r.id);
  }

  async sweep(): Promise<string[]> {
    const nodes = await this.stale();
    if (nodes.length) {
      this.log.info({ nodes: nodes.slice(0, 20), count: nodes.length, timeoutSeconds: this.agentTimeoutMs / 1000 }, 'agent liveness changed; reconciling the nodes');
      await this.enqueue(nodes);
    }
    return nodes;
  }

  start(periodMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((err: Error) => this.log.warn({ err: err.message }, 'agent liveness sweep failed; the next one retries'))
        .finally(() => (this.running = undefined));
    }, periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
