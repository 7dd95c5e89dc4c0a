// The periodic sweep that turns a silent agent into an `unreachable` node
// and back: it queues the reconcile of every node whose status disagrees
// with how recently its agent was heard from (agent_status.last_seen_at
// against vpn.agent-timeout-seconds); the reconcile derives the statuses
// and logs the transition. Level-triggered, run every second by the
// replica that owns the periodic work (owned-work.ts): a node queued twice
// is one job (job id = node), and a sweep that finds nothing to fix queues
// nothing.
import type { Logger } from '../../common/logger.js';
import type { AgentSighting, AgentStatusStore } from '../store/agent-status-store.js';

/**
 * Whether a node's status disagrees with its agent's last sighting: it says
 * reachable while the agent was last heard from before `cutoff`, or
 * unreachable while it was heard from since. FAILED (a reconcile that
 * fails, retried by the worker) and PENDING nodes are left to their jobs.
 */
export function livenessDisagrees(s: AgentSighting, cutoff: Date): boolean {
  const silent = s.lastSeenAt.getTime() < cutoff.getTime();
  return silent ? !['UNREACHABLE', 'FAILED', 'PENDING'].includes(s.status) : s.status === 'UNREACHABLE';
}

export class AgentLivenessSweep {
  constructor(
    private readonly statuses: AgentStatusStore,
    private readonly enqueue: (nodes: string[]) => Promise<void>,
    private readonly agentTimeoutMs: number,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Nodes whose status disagrees with their agent's silence (livenessDisagrees), in id order. */
  async stale(): Promise<string[]> {
    const cutoff = new Date(this.clock().getTime() - this.agentTimeoutMs);
    return (await this.statuses.sightings()).filter((s) => livenessDisagrees(s, cutoff)).map((s) => s.node);
  }

  async sweep(): Promise<string[]> {
    const nodes = await this.stale();
    if (nodes.length) {
      this.log.info({ nodes: nodes.slice(0, 20), count: nodes.length, timeoutSeconds: this.agentTimeoutMs / 1000 }, 'agent liveness changed; reconciling the nodes');
      await this.enqueue(nodes);
    }
    return nodes;
  }
}
