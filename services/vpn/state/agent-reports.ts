// What each node's agent last reported (table agent_status), written by
// ReportStatus and read by the reconcile as a NodeForwarding view. "Last
// heard from" is the receiving replica's clock at any ReportStatus,
// heartbeats included: a heartbeat comes from the agent's own loop, so it
// shows the agent works, which an open watch stream (possibly held by
// another replica, or half-open) does not.
import type { ReportStatusRequest } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { DesiredStateStore } from './desired-state-store.js';
import type { AgentPresence } from '../links/oper-state.js';
import type { AgentStatusRecord, AgentStatusStore } from '../store/agent-status-store.js';
import { entryKeyText, NodeForwarding, reportMatters, type AgentReport } from './forwarding.js';

/** An EntryFailure or PortState as ReportStatus stored it (the generated types, through JSON). */
interface StoredFailure {
  key?: Parameters<typeof entryKeyText>[0];
  reason?: string;
}
interface StoredPort {
  interface?: string;
  up?: boolean;
  reason?: string;
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export function agentReportOf(row: Pick<AgentStatusRecord, 'appliedGeneration' | 'failures' | 'ports' | 'lastSeenAt'>): AgentReport {
  return {
    appliedGeneration: row.appliedGeneration,
    failures: list<StoredFailure>(row.failures).flatMap((f) => {
      const key = entryKeyText(f?.key);
      return key ? [{ key, reason: String(f.reason ?? '') }] : [];
    }),
    ports: list<StoredPort>(row.ports).flatMap((p) => (p?.interface ? [{ interface: p.interface, up: p.up === true, reason: String(p.reason ?? '') }] : [])),
    lastSeenAt: row.lastSeenAt,
  };
}

export class AgentReports {
  constructor(
    private readonly statuses: AgentStatusStore,
    private readonly store: DesiredStateStore,
    /** vpn.agent-timeout-seconds in ms. */
    readonly agentTimeoutMs: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Stores a report; true when it matters for status (reportMatters), so the node is reconciled again. */
  async record(req: ReportStatusRequest): Promise<boolean> {
    const now = this.clock();
    const row: AgentStatusRecord = {
      node: req.node,
      appliedGeneration: req.appliedGeneration,
      driver: req.driver,
      failures: req.failures,
      drift: req.drift,
      installed: { vrfs: req.installedVrfs, vrfRoutes: req.installedVrfRoutes, lfibEntries: req.installedLfibEntries },
      ports: req.ports,
      reportedAt: req.appliedAt ?? now,
      lastSeenAt: now,
    };
    const previous = await this.statuses.put(row);
    return reportMatters(previous ? agentReportOf(previous) : undefined, agentReportOf(row), this.agentTimeoutMs);
  }

  /** A watch stream of the node's agent opened; returns its start, which names it to `watchEnded`. */
  async watchStarted(node: string): Promise<Date> {
    const now = this.clock();
    const before = await this.statuses.watch(node);
    await this.statuses.putWatch(node, { startedAt: now, endedAt: null, previousEndedAt: before?.endedAt ?? null });
    return now;
  }

  /** The stream that opened at `startedAt` ended; a newer stream of the same agent is left as it is. */
  async watchEnded(node: string, startedAt: Date): Promise<void> {
    await this.statuses.endWatch(node, startedAt, this.clock());
  }

  /** The watch streams of these nodes' agents, by node. */
  watches(nodes: readonly string[]): Promise<Map<string, AgentPresence>> {
    return this.statuses.watches(nodes);
  }

  async report(node: string): Promise<AgentReport | undefined> {
    const row = await this.statuses.status(node);
    return row ? agentReportOf(row) : undefined;
  }

  /**
   * The node's forwarding view now. `advertised` is read only when the
   * agent's applied generation is no longer stored (NodeForwarding.label).
   */
  async forwarding(node: string, advertised?: () => Promise<Set<number>>): Promise<NodeForwarding> {
    const [report, latest] = await Promise.all([this.report(node), this.store.latest(node)]);
    const applied = report?.appliedGeneration ? await this.store.at(node, report.appliedGeneration) : undefined;
    const known = report?.appliedGeneration && !applied && advertised ? await advertised() : undefined;
    return new NodeForwarding({
      node,
      latest,
      applied: applied?.state,
      report,
      ...(known ? { advertised: known } : {}),
      now: this.clock(),
      agentTimeoutMs: this.agentTimeoutMs,
    });
  }
}
