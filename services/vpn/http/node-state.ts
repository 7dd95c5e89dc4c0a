// GET /v1/nodes/{id}/state: read-only, what a node should have installed
// (its latest stored desired-state generation) next to what its agent last
// reported having applied. Observed state: it carries no ETag of the intent.
import type { FastifyInstance } from 'fastify';
import { NodeDesiredState } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { DesiredStateStore } from '../state/desired-state-store.js';
import type { AgentStatusStore } from '../store/agent-status-store.js';
import type { HttpDeps } from './context.js';
import { jsonResponse, problems } from './contract.js';

export interface NodeStateView {
  node: string;
  /** The agent applied the latest generation with no failures. */
  inSync: boolean;
  /** Absent until the reconcile worker has stored a first generation. */
  desired?: { generation: number; computedAt: string; state: unknown };
  /** Absent until the node's agent has reported. */
  installed?: {
    appliedGeneration: number;
    driver: string;
    reportedAt: string;
    counts: unknown;
    failures: unknown;
    drift: unknown;
    /** Operational state of the node's ports as the agent last reported it. */
    ports: unknown;
    /** When the controller last heard from the agent (any report, heartbeats included). */
    lastSeenAt: string;
  };
}

export class NodeStateReader {
  constructor(
    private readonly statuses: AgentStatusStore,
    private readonly store: DesiredStateStore,
  ) {}

  async read(node: string): Promise<NodeStateView> {
    const [desired, report] = await Promise.all([this.store.latest(node), this.statuses.status(node)]);
    const view: NodeStateView = { node, inSync: false };
    if (desired) view.desired = { generation: desired.generation, computedAt: desired.computedAt.toISOString(), state: NodeDesiredState.toJSON(desired.state) };
    if (report) {
      view.installed = {
        appliedGeneration: report.appliedGeneration,
        driver: report.driver,
        reportedAt: report.reportedAt.toISOString(),
        counts: report.installed,
        failures: report.failures,
        drift: report.drift,
        ports: report.ports,
        lastSeenAt: report.lastSeenAt.toISOString(),
      };
    }
    view.inSync =
      desired !== undefined &&
      view.installed !== undefined &&
      view.installed.appliedGeneration === desired.generation &&
      Array.isArray(report?.failures) &&
      report.failures.length === 0;
    return view;
  }
}

const loose = { type: 'object', additionalProperties: true };

export function registerNodeStateRoutes(app: FastifyInstance, { intents, nodeStates }: HttpDeps): void {
  app.get('/v1/nodes/:id/state', {
    config: { scope: 'read' },
    schema: {
      tags: ['nodes'],
      summary: "a node's desired state (latest generation) and what its agent reports as applied",
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 63 } } },
      response: {
        200: jsonResponse("the node's desired and installed state", {
          type: 'object',
          required: ['node', 'inSync'],
          properties: {
            node: { type: 'string' },
            inSync: { type: 'boolean', description: 'the agent applied the latest generation without failures' },
            desired: { type: 'object', properties: { generation: { type: 'integer' }, computedAt: { type: 'string' }, state: loose } },
            installed: {
              type: 'object',
              properties: {
                appliedGeneration: { type: 'integer' },
                driver: { type: 'string' },
                reportedAt: { type: 'string' },
                counts: loose,
                failures: { type: 'array', items: loose },
                drift: { type: 'array', items: loose },
                ports: { type: 'array', items: loose, description: 'PortState of each port the desired state names (interface, up, reason)' },
                lastSeenAt: { type: 'string', description: 'when the controller last heard from the agent (any report, heartbeats included); older than vpn.agent-timeout-seconds: the node is unreachable' },
              },
            },
          },
        }),
        ...problems({ 404: 'no node has this id' }),
      },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      await intents.get('node', id);
      return nodeStates.read(id);
    },
  });
}
