// AgentService.RelayCeSession: the TCP stream of a PE-CE eBGP session
// (RFC 4364 §7), which the PE's agent accepted from the CE, passed on to the
// bgp service's relayed peer (BgpService.RelayPeerSession) — BGP as a
// service: the speaker is central, the PE only carries bytes.
//
// The agent's first frame names the session (CeSessionOpen). It is relayed
// only when the caller is that node's agent (authorised like
// WatchDesiredState) and the session is one of the node's desired state
// (VrfInterface.bgp_sessions of that VRF, interface and VLAN), else
// PERMISSION_DENIED: an agent reaches only its own CEs' peers. Then bytes
// flow both ways with backpressure (a side that cannot take more pauses the
// other), and either side ending or failing ends the other.
import { status } from '@grpc/grpc-js';
import type { CeSessionOpen, RelayCeSessionRequest, RelayCeSessionResponse } from '../../common/gen/proto/l3vpn/v1/agent.js';
import type { RelayPeerSessionRequest, RelayPeerSessionResponse } from '../../common/gen/proto/l3vpn/v1/bgp.js';
import { ApiError, toServiceError } from '../../common/grpc/errors.js';
import type { Logger } from '../../common/logger.js';

/** The agent's call (a grpc-js server duplex stream), as much of it as the relay uses. */
export interface AgentSide {
  on(event: 'data', listener: (frame: RelayCeSessionRequest) => void): unknown;
  on(event: 'end' | 'cancelled' | 'close' | 'drain', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
  removeAllListeners(event: 'data'): unknown;
  write(frame: RelayCeSessionResponse): boolean;
  end(): unknown;
  pause(): unknown;
  resume(): unknown;
  emit(event: 'error', err: Error): unknown;
}

/** The call to the bgp service (a grpc-js client duplex stream). */
export interface SpeakerSide {
  on(event: 'data', listener: (frame: RelayPeerSessionResponse) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error & { code?: number; details?: string }) => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
  write(frame: RelayPeerSessionRequest): boolean;
  end(): unknown;
  pause(): unknown;
  resume(): unknown;
  cancel(): unknown;
}

export interface CeSessionRelayDeps {
  /** Throws (an ApiError: UNAUTHENTICATED, PERMISSION_DENIED) unless the caller is node `node`'s agent (undefined: any node's). */
  authorise(node: string | undefined): Promise<void>;
  /** The VPN of the session when the node's current desired state has it, else undefined. */
  sessionOf(open: CeSessionOpen): Promise<{ vpn: string } | undefined>;
  /** A refused session, for the security log. */
  denied?(open: CeSessionOpen, reason: string): void;
  /** Opens RelayPeerSession on the bgp service; absent: there is none to relay to. */
  openSpeaker: (() => SpeakerSide) | undefined;
  /** The speaker's VRF of VPN `vpn` on `node` ("<vpn>@<node>"). */
  speakerVrf(vpn: string, node: string): string;
  log: Logger;
}

/** Resolves with the first frame, leaving the stream paused (the rest waits for the relay); undefined when it ends first. */
function firstFrame(agent: AgentSide): Promise<RelayCeSessionRequest | undefined> {
  return new Promise((resolve, reject) => {
    let done = false;
    agent.on('data', (frame) => {
      if (done) return;
      done = true;
      agent.pause();
      agent.removeAllListeners('data');
      resolve(frame);
    });
    agent.on('end', () => !done && ((done = true), resolve(undefined)));
    agent.on('cancelled', () => !done && ((done = true), resolve(undefined)));
    agent.on('error', (err) => !done && ((done = true), reject(err)));
  });
}

/** Relays one session until either side ends. Never throws: a refusal or failure ends the agent's call with its status. */
export async function relayCeSession(agent: AgentSide, deps: CeSessionRelayDeps): Promise<void> {
  let open: CeSessionOpen;
  try {
    const first = await firstFrame(agent);
    if (!first) {
      agent.end();
      return;
    }
    if (first.frame?.$case !== 'open') {
      // Who asks comes first: a caller without a credential learns nothing about the protocol.
      await deps.authorise(undefined);
      throw new ApiError(status.INVALID_ARGUMENT, 'open: the first frame must be open, naming the session');
    }
    open = first.frame.value;
    await deps.authorise(open.node);
    const session = await deps.sessionOf(open);
    if (!session) {
      const reason = `node '${open.node}' has no PE-CE session ${open.ceAddress} -> ${open.peAddress} on VRF '${open.vrf}' interface '${open.interface}' VLAN ${open.vlan} in its desired state`;
      deps.denied?.(open, reason);
      throw new ApiError(status.PERMISSION_DENIED, reason);
    }
    if (!deps.openSpeaker) throw new ApiError(status.FAILED_PRECONDITION, 'this controller has no bgp service to relay PE-CE sessions to');
    pipe(agent, deps.openSpeaker(), open, deps.speakerVrf(session.vpn, open.node), deps.log);
  } catch (err) {
    agent.emit('error', toServiceError(err instanceof ApiError ? err : new ApiError(status.INTERNAL, (err as Error).message)));
  }
}

function pipe(agent: AgentSide, speaker: SpeakerSide, open: CeSessionOpen, vrf: string, log: Logger): void {
  const who = { node: open.node, vrf, ce: open.ceAddress, pe: open.peAddress };
  const bytes = { fromCe: 0, toCe: 0 };
  let closed = false;
  const close = (why: string, agentError?: ApiError): void => {
    if (closed) return;
    closed = true;
    log.info({ ...who, ...bytes, why }, 'relayed PE-CE session closed');
    if (agentError) {
      speaker.cancel();
      agent.emit('error', toServiceError(agentError));
      return;
    }
    speaker.end();
    agent.end();
  };

  speaker.write({ frame: { $case: 'open', value: { vrf, peerAddress: open.ceAddress, localAddress: open.peAddress } } });
  log.info(who, 'relayed PE-CE session opened');

  agent.on('data', (frame) => {
    if (closed) return;
    if (frame.frame?.$case !== 'data') {
      close('a second open frame', new ApiError(status.INVALID_ARGUMENT, 'data: every frame after open must be data'));
      return;
    }
    bytes.fromCe += frame.frame.value.length;
    if (!speaker.write({ frame: { $case: 'data', value: frame.frame.value } })) {
      agent.pause();
      speaker.once('drain', () => agent.resume());
    }
  });
  agent.on('end', () => close('the CE side ended'));
  agent.on('cancelled', () => {
    if (closed) return;
    closed = true;
    log.info({ ...who, ...bytes, why: 'the agent cancelled' }, 'relayed PE-CE session closed');
    speaker.cancel();
  });
  agent.on('error', (err) => {
    if (closed) return;
    closed = true;
    log.info({ ...who, ...bytes, why: `the agent's stream failed: ${err.message}` }, 'relayed PE-CE session closed');
    speaker.cancel();
  });

  speaker.on('data', (frame) => {
    if (closed) return;
    bytes.toCe += frame.data.length;
    if (!agent.write({ data: frame.data })) {
      speaker.pause();
      agent.once('drain', () => speaker.resume());
    }
  });
  speaker.on('end', () => close('the bgp service ended'));
  speaker.on('error', (err) => {
    // The speaker's refusal (NOT_FOUND: no such peer yet; FAILED_PRECONDITION) goes to the agent as it is.
    const code = typeof err.code === 'number' && err.code !== status.OK ? err.code : status.UNAVAILABLE;
    close(`the bgp service failed: ${err.details ?? err.message}`, new ApiError(code, `bgp service: ${err.details ?? err.message}`));
  });
  agent.resume();
}
