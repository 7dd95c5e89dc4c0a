// The shapes the BGP finite state machine (RFC 4271 §8) consumes and produces.
// Deliberately independent of the wire codec (services/bgp/wire): a glue layer
// maps decoded messages to FsmEvents and FsmActions to encoded messages.
import type { BgpError } from '../wire/notification.js';

/** An address family: AFI (RFC 4760) and SAFI. */
export interface Family {
  afi: number;
  safi: number;
}

export const IPV4_UNICAST: Family = Object.freeze({ afi: 1, safi: 1 });
export const IPV6_UNICAST: Family = Object.freeze({ afi: 2, safi: 1 });
export const VPNV4_UNICAST: Family = Object.freeze({ afi: 1, safi: 128 });
export const VPNV6_UNICAST: Family = Object.freeze({ afi: 2, safi: 128 });

export function familyKey(f: Family): string {
  return `${f.afi}/${f.safi}`;
}

export function sameFamily(a: Family, b: Family): boolean {
  return a.afi === b.afi && a.safi === b.safi;
}

/** Graceful Restart capability (RFC 4724 §3) as advertised by one speaker. */
export interface GracefulRestartCapability {
  /** R bit: the sender has restarted. */
  restarting: boolean;
  /** Restart Time in seconds (12 bits). */
  restartTime: number;
  /** Families with their F bit (forwarding state preserved). */
  families: { family: Family; forwardingPreserved: boolean }[];
}

/** The capabilities of one OPEN, already decoded. */
export interface Capabilities {
  /** Multiprotocol capabilities (RFC 4760). Empty: none were sent. */
  multiprotocol: Family[];
  /** 4-octet AS capability present (RFC 6793); the AS itself is OpenSummary.myAs. */
  fourOctetAs: boolean;
  /** Route refresh capability present (RFC 2918). */
  routeRefresh: boolean;
  /** Graceful restart capability, if present. */
  gracefulRestart?: GracefulRestartCapability;
  /** Extended Message capability present (RFC 8654). */
  extendedMessage?: boolean;
}

/** What the FSM needs from an OPEN message (RFC 4271 §4.2). */
export interface OpenSummary {
  version: number;
  /** Effective AS: the 4-octet AS capability's value when present, else My Autonomous System. */
  myAs: number;
  /** Hold Time in seconds. */
  holdTime: number;
  /** BGP Identifier as an unsigned 32-bit integer. */
  bgpId: number;
  capabilities: Capabilities;
}

/** A NOTIFICATION message (RFC 4271 §4.5); the codes are in ../wire/constants.ts. */
export type Notification = BgpError;

export type State = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold';

/** Why a ManualStop was given; selects the Cease subcode (RFC 4486). */
export type StopReason = 'shutdown' | 'deconfigured' | 'reset';

/**
 * The events of RFC 4271 §8.1 (names as there). Events 6/7 (damp peer
 * oscillations) are not separate: damping is the FSM's idle-hold backoff.
 * Event 20 (BGPOpen with DelayOpenTimer running) is BGPOpen; the FSM knows
 * whether its DelayOpenTimer runs.
 */
export type FsmEvent =
  | { type: 'ManualStart' }
  | { type: 'AutomaticStart' }
  | { type: 'ManualStart_with_PassiveTcpEstablishment' }
  | { type: 'AutomaticStart_with_PassiveTcpEstablishment' }
  /** communication: RFC 8203/9003 shutdown communication, for 'shutdown' and 'reset'. */
  | { type: 'ManualStop'; reason?: StopReason; communication?: string }
  /** subcode: the Cease subcode to send (e.g. MaxPrefixes); data: its data (RFC 4486 §4: AFI, SAFI, upper bound). */
  | { type: 'AutomaticStop'; subcode: number; data?: Uint8Array }
  | { type: 'ConnectRetryTimer_Expires' }
  | { type: 'HoldTimer_Expires' }
  | { type: 'KeepaliveTimer_Expires' }
  | { type: 'DelayOpenTimer_Expires' }
  | { type: 'IdleHoldTimer_Expires' }
  | { type: 'TcpConnection_Valid' }
  | { type: 'Tcp_CR_Invalid' }
  | { type: 'Tcp_CR_Acked' }
  | { type: 'TcpConnectionConfirmed' }
  | { type: 'TcpConnectionFails' }
  | { type: 'BGPOpen'; open: OpenSummary }
  /** notification: what the decoder says to send (RFC 4271 §6.1). */
  | { type: 'BGPHeaderErr'; notification: Notification }
  | { type: 'BGPOpenMsgErr'; notification: Notification }
  | { type: 'OpenCollisionDump' }
  | { type: 'NotifMsgVerErr'; notification: Notification }
  | { type: 'NotifMsg'; notification: Notification }
  | { type: 'KeepAliveMsg' }
  /** update: the decoded UPDATE, passed through untouched in deliverUpdate. */
  | { type: 'UpdateMsg'; update: unknown }
  /** Only errors that reset the session (RFC 7606 §2); treat-as-withdraw stays an UpdateMsg. */
  | { type: 'UpdateMsgErr'; notification: Notification }
  | { type: 'RouteRefresh'; family: Family }
  /** Not an RFC event: an UPDATE was sent, which restarts the KeepaliveTimer (RFC 4271 §4.4). */
  | { type: 'UpdateSent' };

export type FsmEventType = FsmEvent['type'];

/** What the session's RIB should do with the peer's routes when the session goes down. */
export type RouteDisposal =
  | { kind: 'none' } // never reached Established: there are no routes
  | { kind: 'delete' }
  /** RFC 4724 §4.2: keep the routes as stale for restartTime seconds. */
  | { kind: 'retainStale'; restartTime: number; families: Family[] };

export type FsmAction =
  /** (Re)start a timer; replaces one already running. */
  | { type: 'startTimer'; timer: TimerName; seconds: number }
  | { type: 'stopTimer'; timer: TimerName }
  /** Initiate a TCP connection to the peer. */
  | { type: 'connect' }
  /** Close the TCP connection (after flushing any NOTIFICATION queued before). */
  | { type: 'dropConnection' }
  | { type: 'sendOpen'; open: OpenSummary }
  | { type: 'sendKeepalive' }
  | { type: 'sendNotification'; notification: Notification }
  /** Release the session's resources; routes says what to do with the peer's routes. */
  | { type: 'releaseResources'; routes: RouteDisposal }
  | { type: 'stateChange'; from: State; to: State; event: FsmEventType }
  /** Emitted once on entering Established, after stateChange. */
  | { type: 'sessionEstablished'; session: NegotiatedSession }
  | { type: 'deliverUpdate'; update: unknown }
  | { type: 'deliverRouteRefresh'; family: Family };

/** The result of the OPEN exchange: what both sides agreed on. */
export interface NegotiatedSession {
  remoteAs: number;
  remoteBgpId: number;
  /** min(local, remote) Hold Time; 0 means no hold timer and no KEEPALIVEs. */
  holdTime: number;
  /** holdTime / 3 rounded down; 0 when holdTime is 0. */
  keepaliveTime: number;
  /** Families both sides support, in the local configuration's order. */
  families: Family[];
  fourOctetAs: boolean;
  routeRefresh: boolean;
  /** Both sent Extended Message (RFC 8654 §3): messages up to 65535 octets, OPEN and KEEPALIVE excepted. */
  extendedMessage: boolean;
  /** Present when both advertised Graceful Restart: we act as the receiving speaker (RFC 4724 §4.2). */
  gracefulRestart?: PeerGracefulRestart;
}

export interface PeerGracefulRestart {
  /** How long to keep the peer's routes as stale after the session drops. */
  restartTime: number;
  /** R bit of the peer's latest OPEN: it has just restarted. */
  peerRestarting: boolean;
  /** Negotiated families the peer listed; forwardingPreserved false means delete its stale routes now (§4.2). */
  families: { family: Family; forwardingPreserved: boolean }[];
}

/** Per-peer FSM settings (RFC 4271 §8.1.1 session attributes). */
export interface FsmConfig {
  localAs: number;
  localBgpId: number;
  /** The AS the peer must open with; iBGP when equal to localAs. */
  peerAs: number;
  /** What we advertise in our OPEN. */
  capabilities: Capabilities;
  /** Proposed Hold Time, 0 or >= 3. Default 90 (§10). */
  holdTime?: number;
  /** KeepaliveTime: at most one third of the negotiated Hold Time (§4.4); default exactly that third. */
  keepaliveTime?: number;
  /** ConnectRetryTime. Default 120 (§10). */
  connectRetryTime?: number;
  /**
   * Cap for the ConnectRetryTimer's exponential backoff: each expiry without
   * reaching Established doubles the next value. Default connectRetryTime (no
   * backoff, exactly RFC 4271).
   */
  connectRetryMaxTime?: number;
  /** Hold Time used in OpenSent before the peer's OPEN arrives (§8.2.2 suggests 4 minutes). Default 240. */
  largeHoldTime?: number;
  /** DelayOpenTime in seconds (§8.1.1); 0/undefined: DelayOpen off. */
  delayOpenTime?: number;
  /**
   * Automatic restart (AllowAutomaticStart, §8.1.1): after a failure the FSM
   * waits idleHoldTime * 2^(failures-1) s (capped at idleHoldMaxTime) in Idle,
   * then starts again by itself. Undefined: stay Idle until a start event.
   */
  idleHoldTime?: number;
  /** Default max(idleHoldTime, 120). */
  idleHoldMaxTime?: number;
  /** SendNOTIFICATIONwithoutOPEN (§8.1.1). Default false. */
  sendNotificationWithoutOpen?: boolean;
  /**
   * The Restart State bit of our graceful restart capability, read each
   * time an OPEN is sent (RFC 4724 §4.1: set while the speaker restarts,
   * which ends during the life of a connection's FSM). Default: as in
   * `capabilities`.
   */
  restarting?: () => boolean;
}
