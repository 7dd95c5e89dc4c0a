// AgentService on the vpn service's gRPC server: each node's agent enrols,
// watches its desired state (a snapshot, then deltas as generations are
// stored), reports what it applied (and, with heartbeats, that it is
// alive: agent-reports.ts) and relays its CEs' eBGP sessions to the bgp
// service (ce-session-relay.ts).
//
// Credentials: with a verified client certificate (tls.client-auth request
// or require) the node is the one it names — its subject CN, a DNS SAN, or a
// URI SAN urn:l3vpn:node:<id>. Without one (plaintext, or TLS without client
// certificates) the agent sends the node credential it got by enrolling with
// a join token (auth/agent-credentials.ts) as `authorization: Bearer`.
// Either way a call naming another node is PERMISSION_DENIED; a missing,
// unknown or revoked credential UNAUTHENTICATED, each a security event. An
// open watch stream re-checks its credential whenever the node's
// credentials change on any replica (a NOTIFY), so a revoked agent's stream
// ends at once.
import { status, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import {
  AgentServiceService,
  type AgentServiceServer,
  type CeSessionOpen,
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
import type { SecurityEvents } from '../../common/ops/security-events.js';
import { certificateNames, verifiedPeer, type TlsMaterial } from '../../common/tls.js';
import { diffDesiredState } from '../../common/desired-state/index.js';
import { AGENT_CREDENTIALS_CHANNEL, AgentRefused, type AgentCredentials, type AgentPrincipal } from '../auth/agent-credentials.js';
import type { AgentReports } from './agent-reports.js';
import type { NodeNotifications } from '../store/node-notifications.js';
import type { LinkLivenessTracker } from '../links/link-liveness.js';
import { DESIRED_STATE_CHANNEL, isEmptyDelta, type DesiredStateStore } from './desired-state-store.js';
import { relayCeSession } from './ce-session-relay.js';
import { canonicalAddress } from '../../common/desired-state/prefix.js';
import { bgpVrfName, type BgpApi } from '../routes/bgp-client.js';

/** The VPN of the session `open` names when the node's latest desired state has it (the VRF, its interface and VLAN, the CE and PE addresses). */
export async function desiredSession(store: Pick<DesiredStateStore, 'latest'>, open: CeSessionOpen): Promise<{ vpn: string } | undefined> {
  const latest = await store.latest(open.node);
  const vrf = latest?.state.vrfs.find((v) => v.name === open.vrf);
  const itf = vrf?.interfaces.find((i) => i.name === open.interface && i.vlan === open.vlan);
  const same = (a: string, b: string) => a === b || sameAddress(a, b);
  const found = itf?.bgpSessions.some((s) => same(s.ceAddress, open.ceAddress) && same(s.peAddress, open.peAddress));
  return found ? { vpn: vrf!.vpn } : undefined;
}

function sameAddress(a: string, b: string): boolean {
  try {
    return canonicalAddress(a) === canonicalAddress(b);
  } catch {
    return false;
  }
}

/** Whether a certificate name is node `node`'s. */
const namesNode = (name: string, node: string) => name === node || name === `urn:l3vpn:node:${node}`;

type Call = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext' | 'getPeer'>;

/** Who called: a node's certificate, or one of its enrolled credentials (which can be revoked). */
type Caller = { node: string; credentialId?: string };

/** A report is stored as JSON: U+0000 anywhere in it (PostgreSQL cannot store it) is the agent's error, not ours. */
function checkReport(req: ReportStatusRequest): void {
  const unusable = unusableJson(req);
  if (unusable) throw invalidArgument(protoPath(unusable.pointer), unusable.detail);
  if (req.appliedAt && Number.isNaN(req.appliedAt.getTime())) throw invalidArgument('applied_at', 'is not a time');
}

export function agentGrpcService(deps: {
  credentials: AgentCredentials;
  store: DesiredStateStore;
  notifications: NodeNotifications;
  security: SecurityEvents;
  log: Logger;
  reports: AgentReports;
  /** Called after a stored report that matters for status (reportMatters): the node is reconciled again. */
  onReport?: ((node: string) => void) | undefined;
  /** The server's TLS settings: client certificates name the node when it asks for them. */
  tls?: TlsMaterial;
  /** Core link liveness from the reports' port states and links. */
  links?: LinkLivenessTracker;
  /** The bgp service, whose relayed peers the agents' PE-CE sessions reach (RelayCeSession). */
  bgp?: BgpApi;
}): GrpcService {
  const { credentials, store, notifications, security, log, tls } = deps;

  /** An AgentRefused as its security event and gRPC status. */
  function refused(err: unknown, call: Call, method: string, node: string): unknown {
    if (!(err instanceof AgentRefused)) return err;
    security.record(err.denied ? 'permission-denied' : 'authentication-failed', { method: `AgentService.${method}`, reason: err.reason, node: quoteId(node), peer: call.getPeer() });
    return new ApiError(err.denied ? status.PERMISSION_DENIED : status.UNAUTHENTICATED, err.message);
  }

  /** The caller if it is node `node`'s agent (its client certificate, else its bearer credential); throws otherwise. `node` undefined: any node's agent. */
  async function authorise(call: Call, node: string | undefined, method: string): Promise<Caller> {
    try {
      const offered = call.getAuthContext().sslPeerCertificate;
      const cert = tls ? verifiedPeer(offered, tls) : undefined;
      if (cert) {
        const names = certificateNames(cert);
        if (node === undefined) return { node: names[0] ?? '' };
        if (!names.some((n) => namesNode(n, node))) {
          throw new AgentRefused('wrong-node', `the client certificate is for ${names.map((n) => `'${n}'`).join(', ') || 'no name'}, not node '${quoteId(node)}'`, true);
        }
        return { node };
      }
      if (offered?.raw?.length) throw new AgentRefused('untrusted-certificate', 'the client certificate is not signed by a CA this controller trusts');
      const caller: AgentPrincipal = await credentials.verify(bearerOf(call.metadata));
      if (node !== undefined && caller.node !== node) throw new AgentRefused('wrong-node', `this agent is node '${caller.node}', not '${quoteId(node)}'`, true);
      return caller;
    } catch (err) {
      throw refused(err, call, method, node ?? '');
    }
  }

  async function watch(call: ServerWritableStream<WatchDesiredStateRequest, WatchDesiredStateResponse>): Promise<void> {
    const node = call.request.node;
    const caller = await authorise(call, node, 'WatchDesiredState');
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
    const unsubscribe = notifications.subscribe(DESIRED_STATE_CHANNEL, node, wake);
    // The stream's life is the agent's (a killed agent's ends at once): link liveness reads it (links/oper-state.ts agentAbsent).
    const started = await deps.reports.watchStarted(node);
    let ended = false;
    let retireTimer: NodeJS.Timeout | undefined;
    let unwatchCredentials = () => {};
    const end = () => {
      unsubscribe();
      unwatchCredentials();
      clearTimeout(retireTimer);
      if (ended) return;
      ended = true;
      deps.reports.watchEnded(node, started).catch((err: Error) => log.warn({ err: err.message, node }, 'end of an agent watch stream not recorded'));
    };
    call.on('cancelled', end);
    call.on('close', end);
    if (call.cancelled) end();
    // A stream opened with a credential lives only as long as the credential: revoked or rotated away, it ends.
    const recheck = async () => {
      if (!caller.credentialId || ended) return;
      const v = await credentials.validity(caller.credentialId);
      clearTimeout(retireTimer);
      if (ended) return;
      if (v.valid) {
        if (v.retiresAt) retireTimer = setTimeout(recheckLogged, Math.max(0, v.retiresAt.getTime() - Date.now()) + 10).unref();
        return;
      }
      security.record('authentication-failed', { method: 'AgentService.WatchDesiredState', reason: v.reason, node, peer: call.getPeer(), stream: 'ended' });
      end();
      call.emit('error', toServiceError(new ApiError(status.UNAUTHENTICATED, v.reason === 'rotated' ? 'this credential was rotated; watch again with its successor' : "this agent's credential was revoked")));
    };
    const recheckLogged = () => void recheck().catch((err: Error) => log.warn({ err: err.message, node }, 'agent credential not re-checked; the next change of it tries again'));
    if (caller.credentialId) {
      unwatchCredentials = notifications.subscribe(AGENT_CREDENTIALS_CHANNEL, node, recheckLogged);
      // Revoked between the check above and the subscription: caught here.
      await recheck();
    }
    if (!ended) await push();
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
        await authorise(call, req.node, 'ReportStatus');
        checkReport(req);
        const changed = await deps.reports.record(req);
        // Links first: a link that went down may defer this node's reconcile (RFC 8333, links/link-liveness.ts).
        await deps.links?.report(req.node, req.ports, req.links);
        if (changed) {
          log.info({ node: req.node, appliedGeneration: req.appliedGeneration, failures: req.failures.length, portsDown: req.ports.filter((p) => !p.up).length, heartbeat: req.heartbeat }, 'agent report changes what the node forwards; reconciling it');
          deps.onReport?.(req.node);
        }
        return { desiredGeneration: (await store.latest(req.node))?.generation ?? 0 };
      })(call, callback),
    relayCeSession: (call) =>
      void relayCeSession(call, {
        authorise: async (node) => void (await authorise(call, node, 'RelayCeSession')),
        sessionOf: (open) => desiredSession(store, open),
        denied: (open, reason) => security.record('permission-denied', { method: 'AgentService.RelayCeSession', reason, node: quoteId(open.node), peer: call.getPeer() }),
        openSpeaker: deps.bgp ? () => deps.bgp!.raw.relayPeerSession() : undefined,
        speakerVrf: bgpVrfName,
        log,
      }),
    enroll: (call, callback) =>
      unary(log, 'Enroll', async (req: { node: string; joinToken: string }) => {
        try {
          const { credential } = await credentials.enrol(req.node, req.joinToken, call.getPeer());
          log.info({ node: req.node }, 'agent enrolled');
          return { credential };
        } catch (err) {
          throw refused(err, call, 'Enroll', req.node);
        }
      })(call, callback),
    rotateCredential: (call, callback) =>
      unary(log, 'RotateCredential', async (req: { node: string }) => {
        const caller = await authorise(call, req.node, 'RotateCredential');
        if (!caller.credentialId) throw new ApiError(status.FAILED_PRECONDITION, 'this agent is known by its client certificate; there is no credential to rotate');
        return { credential: await credentials.rotate({ node: caller.node, credentialId: caller.credentialId }, call.getPeer()) };
      })(call, callback),
  };
  return { name: 'l3vpn.v1.AgentService', definition: AgentServiceService, implementation: impl };
}
