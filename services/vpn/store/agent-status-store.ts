// What the agents said and when (tables agent_status and agent_watch):
// state/agent-reports.ts keeps the rules (which report matters, the
// forwarding view), state/agent-liveness.ts the sweep's.
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import type { AgentPresence } from '../links/oper-state.js';
import type { StatusValue } from '../state/forwarding.js';

/**
 * A node agent's last ReportStatus as stored: the generated types'
 * failures, drift, ports (and the installed counts) through JSON.
 */
export interface AgentStatusRecord {
  node: string;
  appliedGeneration: number;
  driver: string;
  failures: unknown;
  drift: unknown;
  installed: unknown;
  ports: unknown;
  reportedAt: Date;
  /** When the controller last heard from the agent (by the receiving replica's clock). */
  lastSeenAt: Date;
}

/** A node with a report, its status and when its agent was last heard from. */
export interface AgentSighting {
  node: string;
  status: StatusValue;
  lastSeenAt: Date;
}

export interface AgentStatusStore {
  status(node: string): Promise<AgentStatusRecord | undefined>;
  /** Stores the node's report over the previous one; answers the previous. */
  put(record: AgentStatusRecord): Promise<AgentStatusRecord | undefined>;
  watch(node: string): Promise<AgentPresence | undefined>;
  putWatch(node: string, watch: AgentPresence): Promise<void>;
  /** Ends the node's watch stream that opened at `startedAt` if it is still open. */
  endWatch(node: string, startedAt: Date, at: Date): Promise<void>;
  watches(nodes: readonly string[]): Promise<Map<string, AgentPresence>>;
  /** Every node whose agent has reported, in id order. */
  sightings(): Promise<AgentSighting[]>;
}

type StatusRow = Omit<AgentStatusRecord, 'node' | 'appliedGeneration'> & { nodeId: string; appliedGeneration: bigint };

const record = ({ nodeId, appliedGeneration, ...r }: StatusRow): AgentStatusRecord => ({ node: nodeId, appliedGeneration: Number(appliedGeneration), ...r });

export function prismaAgentStatusStore(prisma: PrismaClient): AgentStatusStore {
  return {
    status: async (node) => {
      const row = await prisma.agentStatus.findUnique({ where: { nodeId: node } });
      return row ? record(row) : undefined;
    },
    put: async ({ node, appliedGeneration, failures, drift, installed, ports, ...r }) => {
      const data = { ...r, appliedGeneration: BigInt(appliedGeneration), failures: failures as never, drift: drift as never, installed: installed as never, ports: ports as never };
      const previous = await prisma.agentStatus.findUnique({ where: { nodeId: node } });
      await prisma.agentStatus.upsert({ where: { nodeId: node }, create: { nodeId: node, ...data }, update: data });
      return previous ? record(previous) : undefined;
    },
    watch: async (node) => {
      const row = await prisma.agentWatch.findUnique({ where: { nodeId: node } });
      return row ? { startedAt: row.startedAt, endedAt: row.endedAt, previousEndedAt: row.previousEndedAt } : undefined;
    },
    putWatch: async (node, w) => void (await prisma.agentWatch.upsert({ where: { nodeId: node }, create: { nodeId: node, ...w }, update: w })),
    endWatch: async (node, startedAt, at) => void (await prisma.agentWatch.updateMany({ where: { nodeId: node, startedAt, endedAt: null }, data: { endedAt: at } })),
    watches: async (nodes) => {
      const rows = await prisma.agentWatch.findMany({ where: { nodeId: { in: [...nodes] } } });
      return new Map(rows.map((r) => [r.nodeId, { startedAt: r.startedAt, endedAt: r.endedAt, previousEndedAt: r.previousEndedAt }]));
    },
    sightings: async () => {
      // Epoch milliseconds: Prisma keeps DateTime as UTC in a timestamp without time zone, whose epoch is taken as UTC whatever the session's zone.
      const rows = await prisma.$queryRaw<{ id: string; status: StatusValue; ms: number }[]>`
        SELECT n.id, n.status::text AS status, (extract(epoch FROM a.last_seen_at) * 1000)::float8 AS ms
          FROM node n JOIN agent_status a ON a.node_id = n.id
         ORDER BY n.id`;
      return rows.map((r) => ({ node: r.id, status: r.status, lastSeenAt: new Date(Math.round(r.ms)) }));
    },
  };
}
