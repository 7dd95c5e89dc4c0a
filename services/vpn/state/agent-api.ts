// AgentService on the vpn service's gRPC server: each node's agent watches
// its desired state (a snapshot, then deltas as generations are stored) and
// reports what it applied (and, with heartbeats, that it is alive:
// agent-reports.ts).
//
// Credentials: with a verified client certificate (tls.client-auth request
// or require) the node is the one it names — its subject CN, a DNS SAN, or a
// URI SAN urn:l3vpn:node:<id>. Without one (plaintext, or TLS without client
// certificates) the agent sends the node's `agentIdentity` from the intent as
// `authorization: Bearer <agentIdentity>`. Either way a call naming another
// node is PERMISSION_DENIED, an unknown identity UNAUTHENTICATED.
import { Metadata, status, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { PrismaClient } from '../../common/gen/prisma/client.js';
import {
  AgentServiceService,
  type AgentServiceServer,
  type NodeDesiredState,
  type ReportStatusRequest,
  type WatchDesiredStateRequest,
  type WatchDesiredStateResponse,
} from '../../common/gen/proto/l3vpn/v1/agent.js';
import { bearerOf } from '../../common/bearer.js';
import { ApiError, invalidArgument, toServiceError } from '../../common/grpc/errors.js';
import { unusableJson } from '../intent/validator.js';
import { protoPath } from '../grpc-mapping.js';
import { unary, type GrpcService } from '../../common/grpc/server.js';
import { quoteId } from '../../common/quote.js';
import type { Logger } from '../../common/logger.js';
import { certificateNames, verifiedPeer, type TlsMaterial } from '../../common/tls.js';
import { diffDesiredState } from '../../common/desired-state/index.js';
import type { AgentReports } from './agent-reports.js';
import type { DesiredStateEvents } from './desired-state-events.js';
import type { LinkLivenessTracker } from '../links/link-liveness.js';
import { isEmptyDelta, type DesiredStateStore } from './desired-state-store.js';

/** Whether a certificate name is node `node`'s. */
const namesNode = (name: string, node: string) => name === node || name === `urn:l3vpn:node:${node}`;

/** Throws unless the caller's identity (its client certificate, else its bearer identity) is the node's. */
async function authorise(prisma: PrismaClient, call: Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>, node: string, tls: TlsMaterial | undefined): Promise<void> {
  const offered = call.getAuthContext().sslPeerCertificate;
  const cert = tls ? verifiedPeer(offered, tls) : undefined;
  if (cert) {
    const names = certificateNames(cert);
    if (!names.some((n) => namesNode(n, node))) {
      throw new ApiError(status.PERMISSION_DENIED, `the client certificate is for ${names.map((n) => `'${n}'`).join(', ') || 'no name'}, not node '${quoteId(node)}'`);
    }
    return;
  }
  if (offered?.raw?.length) throw new ApiError(status.UNAUTHENTICATED, 'the client certificate is not signed by a CA this controller trusts');
  const md: Metadata = call.metadata;
  const identity = bearerOf(md);
  if (!identity) throw new ApiError(status.UNAUTHENTICATED, 'send the node agent identity as authorization: Bearer <identity>');
  const caller = await prisma.node.findUnique({ where: { agentIdentity: identity }, select: { id: true } });
  if (!caller) throw new ApiError(status.UNAUTHENTICATED, 'unknown agent identity');
  if (caller.id !== node) throw new ApiError(status.PERMISSION_DENIED, `this agent is node '${caller.id}', not '${quoteId(node)}'`);
}

/** A report is stored as JSON: U+0000 anywhere in it (PostgreSQL cannot store it) is the agent's error, not ours. */
function checkReport(req: ReportStatusRequest): void {
  const unusable = unusableJson(req);
  if (unusable) throw invalidArgument(protoPath(unusable.pointer), unusable.detail);
  if (req.appliedAt && Number.isNaN(req.appliedAt.getTime())) throw invalidArgument('applied_at', 'is not a time');
}

export function agentGrpcService(deps: {
  prisma: PrismaClient;
  store: DesiredStateStore;
  events: DesiredStateEvents;
  log: Logger;
  reports: AgentReports;
  /** Called after a stored report that matters for status (reportMatters): the node is reconciled again. */
  onReport?: ((node: string) => void) | undefined;
  /** The server's TLS settings: client certificates name the node when it asks for them. */
  tls?: TlsMaterial;
  /** Core link liveness from the reports' port states and links. */
  links?: LinkLivenessTracker;
}): GrpcService {
  const { prisma, store, events, log, tls } = deps;

  async function watch(call: ServerWritableStream<WatchDesiredStateRequest, WatchDesiredStateResponse>): Promise<void> {
    const node = call.request.node;
    await authorise(prisma, call, node, tls);
    let sent: NodeDesiredState | undefined;
    let busy = false;
    let again = false;
    // Coalesces wake-ups: one read at a time, and one more if woken meanwhile.
    const push = async (): Promise<void> => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          const latest = await store.latest(node);
          if (!latest || (sent && latest.generation <= sent.generation)) continue;
          if (!sent && call.request.appliedGeneration && call.request.appliedGeneration < latest.generation) {
            sent = (await store.at(node, call.request.appliedGeneration))?.state;
          }
          // The request ids of the changes this update brings, so the agent can log them.
          const requestIds = await store.requestIdsBetween(node, sent?.generation ?? latest.generation - 1, latest.generation);
          const trace = requestIds.length ? { trace: { requestIds } } : {};
          if (sent) {
            const delta = diffDesiredState(sent, latest.state);
            if (!isEmptyDelta(delta) || delta.fromGeneration !== delta.generation) call.write({ update: { $case: 'delta', value: delta }, ...trace });
          } else {
            call.write({ update: { $case: 'snapshot', value: latest.state }, ...trace });
          }
          sent = latest.state;
        } while (again && !call.cancelled);
      } finally {
        busy = false;
      }
    };
    const wake = () => void push().catch((err: Error) => call.emit('error', toServiceError(err)));
    const unsubscribe = events.subscribe(node, wake);
    // The stream's life is the agent's (a killed agent's ends at once): link liveness reads it (links/oper-state.ts agentAbsent).
    const started = await deps.reports.watchStarted(node);
    let ended = false;
    const end = () => {
      unsubscribe();
      if (ended) return;
      ended = true;
      deps.reports.watchEnded(node, started).catch((err: Error) => log.warn({ err: err.message, node }, 'end of an agent watch stream not recorded'));
    };
    call.on('cancelled', end);
    call.on('close', end);
    if (call.cancelled) end();
    await push();
  }

  const impl: AgentServiceServer = {
    watchDesiredState: (call) => {
      watch(call).catch((err: unknown) => {
        if (!(err instanceof ApiError)) log.error({ err, node: call.request.node }, 'WatchDesiredState failed');
        call.emit('error', toServiceError(err));
      });
    },
    reportStatus: (call, callback) =>
      unary(log, 'ReportStatus', async (req: ReportStatusRequest) => {
        await authorise(prisma, call, req.node, tls);
        checkReport(req);
        if (await deps.reports.record(req)) {
          log.info({ node: req.node, appliedGeneration: req.appliedGeneration, failures: req.failures.length, portsDown: req.ports.filter((p) => !p.up).length, heartbeat: req.heartbeat }, 'agent report changes what the node forwards; reconciling it');
          deps.onReport?.(req.node);
        }
        await deps.links?.report(req.node, req.ports, req.links);
        return { desiredGeneration: (await store.latest(req.node))?.generation ?? 0 };
      })(call, callback),
  };
  return { name: 'l3vpn.v1.AgentService', definition: AgentServiceService, implementation: impl };
}
