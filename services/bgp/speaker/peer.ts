// One configured neighbour at the edge: its TCP connections (ours and the
// ones it opens, collisions resolved by fsm/PeerConnections), the codec on
// each, the FSM's actions carried out, its Adj-RIB-In, and what we advertise
// to it. Protocol decisions live in fsm/, wire/, inbound.ts and export.ts.
import { connect as tcpConnect } from 'node:net';
import { BgpFsm } from '../fsm/fsm.js';
import { formatBgpId, parseBgpId } from '../fsm/negotiate.js';
import { PeerConnections, type PeerConnection } from '../fsm/driver.js';
import type { Capabilities, FsmAction, NegotiatedSession, Notification, RouteDisposal, State } from '../fsm/types.js';
import { AdjRibIn, type RibChange } from '../rib/adj-rib-in.js';
import type { Path } from '../rib/path.js';
import { PathTable } from '../rib/table.js';
import { KEEPALIVE } from '../wire/header.js';
import { decodeMessage } from '../wire/message.js';
import { encodeNotification, maxPrefixData, shutdownCommunication, type BgpError } from '../wire/notification.js';
import { encodeRouteRefresh } from '../wire/route-refresh.js';
import { AttributeSetCache, type UpdateMessage } from '../wire/update.js';
import { DEFAULT_SESSION, type SessionOptions } from '../wire/session.js';
import { familyKey, type Family } from '../wire/nlri.js';
import { CeaseSubcode, MessageType } from '../wire/constants.js';
import type { Logger } from '../../common/logger.js';
import type { RtMembership } from '../wire/rt-membership-nlri.js';
import { DEFAULT_RTC_WAIT_TIME, type PeerConfig, type SpeakerConfig, familyName, isRtc, peerKey } from './config.js';
import { MessageCounters } from './counters.js';
import { AdjRibOut, type OutboundSource } from './adj-rib-out.js';
import { isLoop } from './reflection.js';
import { MaxPrefixGuard, describeVerdict, type MaxPrefixVerdict } from './max-prefix.js';
import { RtConstraintSession } from './rt-constraint.js';
import { UpdateWriter } from './update-writer.js';
import { eventFor, eventForError } from './inbound.js';
import { encodeOpenSummary, sessionOptions } from './open-summary.js';
import { Transport, type Conduit } from './transport.js';

/** RFC 4724 §4.2: how long stale routes may wait for End-of-RIB once the session is back. */
const STALE_PATH_SECONDS = 360;

export interface NotificationRecord {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  /** RFC 8203/9003 shutdown communication, when the NOTIFICATION carries one. */
  readonly communication?: string;
  readonly at: number;
}

export type PeerEvent =
  | { readonly type: 'state'; readonly peer: string; readonly from: State; readonly to: State; readonly at: number; readonly reason?: string }
  | { readonly type: 'routes'; readonly peer: string; readonly announced: readonly Path[]; readonly withdrawn: readonly Path[] };

export interface PeerContext {
  readonly speaker: SpeakerConfig;
  /** CLUSTER_ID (RFC 4456 §7): bgp.cluster-id, the router id by default. */
  readonly clusterId: string;
  readonly log: Logger;
  /** The Loc-RIB and peer facts the Adj-RIB-Out is computed from. */
  readonly outbound: OutboundSource;
  /** Adj-RIB-In changed (including routes dropped when the session ends). */
  routes(peer: Peer, change: RibChange): void;
  /** The session came up (the peer's BGP Identifier is known) or went down. */
  sessionChanged(peer: Peer, session: NegotiatedSession | undefined): void;
  emit(event: PeerEvent): void;
  /** Whether anyone listens for route events (they are not built otherwise). */
  watchingRoutes(): boolean;
  /** The RT memberships (RFC 4684) we advertise to this peer now. */
  memberships(peer: Peer): readonly RtMembership[];
  /** The speaker is restarting (RFC 4724 §4.1): End-of-RIB waits, OPENs set the Restart State bit. */
  restarting(): boolean;
}

interface Established {
  readonly connection: PeerConnection;
  readonly transport: Transport;
  readonly session: NegotiatedSession;
  readonly options: SessionOptions;
  readonly out: AdjRibOut;
  readonly writer: UpdateWriter;
  readonly since: number;
  /** RFC 4684 state, when the session negotiated RT constraint. */
  readonly rtc: RtConstraintSession | undefined;
  rtcTimer?: NodeJS.Timeout;
}

function record(n: BgpError): NotificationRecord {
  return { code: n.code, subcode: n.subcode, data: n.data.slice(), communication: shutdownCommunication(n), at: Date.now() };
}

export class Peer {
  readonly adjRibIn: AdjRibIn;
  private readonly key: string;
  private readonly offered = new PathTable();
  readonly sent = new MessageCounters();
  readonly received = new MessageCounters();
  private connections: PeerConnections;
  private readonly transports = new Map<number, Transport>();
  private readonly options = new Map<number, SessionOptions>();
  private established: Established | undefined;
  private lastState: State = 'Idle';
  private staleTimer: NodeJS.Timeout | undefined;
  lastNotificationSent: NotificationRecord | undefined;
  lastNotificationReceived: NotificationRecord | undefined;
  lastError: string | undefined;
  /** Times the session left Established. */
  flaps = 0;
  /** Set by disable(): the operator's shutdown communication. */
  adminShutdown: { communication?: string } | undefined;
  /** max-prefix marks and counters (RFC 4486 §4). */
  readonly maxPrefix = new MaxPrefixGuard();
  /** Set while the session is held down by max-prefix (action limit); `until` undefined: until reset, enable or a config change. */
  maxPrefixHeld: { readonly reason: string; readonly until: number | undefined } | undefined;
  private maxPrefixTimer: NodeJS.Timeout | undefined;
  private log: Logger;
  /** The message being handled, so the Adj-RIB-In can key attribute sets on its octets. */
  private lastMessage: Uint8Array | undefined;
  /** Receive time of the current chunk (one Date.now() per socket read). */
  private now = Date.now();

  constructor(
    public config: PeerConfig,
    private readonly ctx: PeerContext,
  ) {
    this.key = peerKey(config);
    this.adjRibIn = new AdjRibIn(this.key);
    this.log = ctx.log.child({ peer: this.key });
    this.connections = this.makeConnections();
    if (config.adminDown) this.adminShutdown = {};
  }

  /**
   * The peer's name: its address, "<address>%<vrf>" for a relayed one
   * (config.peerKey). Path sources, events and metrics use it. Fixed for the
   * peer's life: an update naming another key is another peer.
   */
  get address(): string {
    return this.key;
  }

  get state(): State {
    return this.connections.state;
  }

  get session(): NegotiatedSession | undefined {
    return this.established?.session;
  }

  get establishedSince(): number | undefined {
    return this.established?.since;
  }

  get localAddressInUse(): string | undefined {
    return this.established?.transport.localAddress;
  }

  /** Our capabilities, as the FSM advertises them. */
  localCapabilities(): Capabilities {
    return {
      multiprotocol: [...this.config.families],
      fourOctetAs: true,
      routeRefresh: true,
      // RFC 4724 §3: every family of the session, its Forwarding State bit set: the forwarding of our routes is done by
      // the PEs' agents, which keep it while this speaker restarts, so peers keep our routes (stale) until we are back.
      // Not towards a peer we never dial (passive, relayed CEs): a helper may wait for the restarting side to connect
      // (FRR does, for the whole Restart Time), so such a peer gets the capability as a receiving speaker's, no families.
      gracefulRestart:
        this.ctx.speaker.gracefulRestartTime > 0
          ? {
              restarting: this.ctx.restarting(),
              restartTime: this.ctx.speaker.gracefulRestartTime,
              families: this.config.passive || this.config.relayed ? [] : this.config.families.map((family) => ({ family, forwardingPreserved: true })),
            }
          : undefined,
    };
  }

  /** The peer's last OPEN as accepted on the established connection. */
  remoteOpen() {
    return this.established?.connection.driver.fsm.remoteOpen;
  }

  start(): void {
    if (this.adminShutdown) return;
    this.connections.start();
  }

  /** The session negotiated graceful restart and our capability listed families: the peer keeps our routes if we go. */
  get keepsRoutesOverRestart(): boolean {
    return !!this.established?.session.gracefulRestart && (this.localCapabilities().gracefulRestart?.families.length ?? 0) > 0;
  }

  /** The speaker's restart ended: the End-of-RIB held back goes out. */
  restartComplete(): void {
    if (this.established) this.schedule();
  }

  /** Administrative shutdown (Cease/2, RFC 8203 communication); stays down until enable(). */
  disable(communication?: string): void {
    this.adminShutdown = { communication };
    this.connections.stop('shutdown', communication);
  }

  enable(): void {
    this.adminShutdown = undefined;
    this.releaseMaxPrefixHold();
    this.connections.start();
  }

  /** Hard reset: Cease/4 (Administrative Reset), then a new session. */
  reset(communication?: string): void {
    this.releaseMaxPrefixHold();
    this.connections.stop('reset', communication);
    if (!this.adminShutdown) this.connections.start();
  }

  /** Cease/3 on every connection, for good. */
  async remove(): Promise<void> {
    this.connections.stop('deconfigured');
    this.dispose();
  }

  /** New settings; a session-level change restarts the session with Cease/6 (RFC 4486). */
  reconfigure(config: PeerConfig, reset: boolean): void {
    // A new max-prefix setting judges the current counts afresh (warning-only -> limit tears down now).
    if (JSON.stringify(this.config.maxPrefix) !== JSON.stringify(config.maxPrefix)) this.maxPrefix.clear();
    this.config = config;
    // Any configuration change lifts a max-prefix hold, as a new neighbour configuration does on routers.
    const held = this.maxPrefixHeld !== undefined;
    this.releaseMaxPrefixHold();
    if (!reset) {
      if (held) this.start();
      else this.checkMaxPrefix();
      return;
    }
    for (const c of this.connections.list()) c.driver.dispatch({ type: 'AutomaticStop', subcode: 6 });
    this.connections.dispose();
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.connections = this.makeConnections();
    if (config.adminDown) this.adminShutdown ??= {};
    this.start();
  }

  dispose(): void {
    this.releaseMaxPrefixHold();
    this.connections.dispose();
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    if (this.staleTimer) clearTimeout(this.staleTimer);
  }

  /**
   * A connection the peer opened: to our TCP listener, or relayed to us.
   * False when refused (Idle: administratively down, held down by
   * max-prefix, or stopped); the caller closes it. A second connection while
   * one is up is resolved by RFC 4271 §6.8 like any other.
   */
  accept(conduit: Conduit): boolean {
    const conn = this.connections.accept((c) => this.bind(c, conduit));
    if (!conn) this.log.debug('incoming connection refused (Idle)');
    return conn !== undefined;
  }

  /** Route refresh towards us (soft reset in, RFC 2918) for the families given (all negotiated when empty). */
  requestRefresh(families: readonly Family[]): number {
    const e = this.established;
    if (!e || !e.session.routeRefresh) return 0;
    let n = 0;
    for (const f of e.session.families) {
      if (families.length && !families.some((x) => familyKey(x.afi, x.safi) === familyKey(f.afi, f.safi))) continue;
      this.write(e.transport, encodeRouteRefresh(f.afi, f.safi));
      n++;
    }
    return n;
  }

  /** Re-sends everything we advertise (soft reset out), from the Adj-RIB-Out. */
  resend(families: readonly Family[]): void {
    const e = this.established;
    if (!e) return;
    for (const f of e.session.families) {
      if (families.length && !families.some((x) => familyKey(x.afi, x.safi) === familyKey(f.afi, f.safi))) continue;
      e.out.refresh(f);
    }
    this.schedule();
  }

  /**
   * Paths offered to this peer alone (a PE-CE peer bound to a VRF: the VRF
   * layer decides what it gets; the global Loc-RIB is not sent to it).
   * Replaces the offered path of the same key; sent when the connection can take it.
   */
  announce(family: Family, paths: readonly Path[]): void {
    for (const p of paths) {
      this.offered.set(p);
      this.mark(family, p.key);
    }
  }

  withdraw(family: Family, paths: readonly Path[]): void {
    for (const p of paths) {
      if (this.offered.delete(family, p.key)) this.mark(family, p.key);
    }
  }

  /** What this peer's Adj-RIB-Out is computed from: the global Loc-RIB, or the offered paths of a VRF peer. */
  private outboundSource(): OutboundSource {
    if (!this.config.vrf) return this.ctx.outbound;
    const g = this.ctx.outbound;
    return {
      best: (f, k) => this.offered.get(f, k),
      bests: (f) => this.offered.paths(f),
      session: (source) => g.session(source),
      clusterId: g.clusterId,
    };
  }

  /** A Loc-RIB destination changed: queued for the Adj-RIB-Out, sent when the connection can take it. */
  mark(family: Family, key: string): void {
    const e = this.established;
    if (e && e.out.mark(family, key)) this.schedule();
  }

  /** The Adj-RIB-Out, while Established. */
  get adjRibOut(): AdjRibOut | undefined {
    return this.established?.out;
  }

  /** Whether UPDATEs wait for the socket to drain (RFC-less, but bounded memory for a slow peer). */
  get blocked(): boolean {
    return this.waitingDrain;
  }

  private scheduled = false;
  private waitingDrain = false;

  private schedule(): void {
    if (this.scheduled || this.waitingDrain) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Produces UPDATEs until done or the socket pushes back; resumes on 'drain'. */
  private pump(): void {
    const e = this.established;
    if (!e || this.waitingDrain) return;
    e.writer.writable = true;
    const done = e.out.produce(e.writer);
    if (!done || !e.writer.writable) {
      if (!e.writer.writable) {
        this.waitingDrain = true;
        e.transport.onDrain(() => {
          this.waitingDrain = false;
          if (this.established === e) this.pump();
        });
      } else this.schedule();
    }
  }

  negotiated(family: Family): boolean {
    return !!this.established?.session.families.some((f) => f.afi === family.afi && f.safi === family.safi);
  }

  advertisedCount(family: Family): number {
    if (isRtc(family)) return this.established?.rtc?.sentCount ?? 0;
    return this.established?.out.count(family) ?? 0;
  }

  /** Routes the peer announces (accepted, or refused as loops); for RT constraint, the memberships it sent. */
  receivedCount(family: Family): number {
    if (isRtc(family)) return this.established?.rtc?.filter.size ?? 0;
    return this.adjRibIn.table.count(family) + this.adjRibIn.refusedCount(family);
  }

  /** Routes held in the Adj-RIB-In (what max-prefix counts). */
  acceptedCount(family: Family): number {
    if (isRtc(family)) return this.receivedCount(family);
    return this.adjRibIn.table.count(family);
  }

  /** The session's RT constraint state (RFC 4684), when negotiated. */
  get routeTargetConstraint(): RtConstraintSession | undefined {
    return this.established?.rtc;
  }

  /** Brings the RT memberships we advertise to what the speaker wants now (RFC 4684 §4). */
  advertiseMemberships(): void {
    const e = this.established;
    if (!e?.rtc) return;
    for (const u of e.rtc.advertise(this.ctx.memberships(this))) this.sendChunk(e.transport, e.connection.id, u, 1);
  }

  // ---- FSM plumbing ----

  private makeConnections(): PeerConnections {
    const s = this.ctx.speaker;
    const localBgpId = parseBgpId(s.routerId);
    return new PeerConnections({
      localBgpId,
      localAs: s.as,
      passive: this.config.passive,
      makeFsm: () =>
        new BgpFsm({
          localAs: s.as,
          localBgpId,
          peerAs: this.config.remoteAs,
          capabilities: this.localCapabilities(),
          holdTime: this.config.holdTime,
          keepaliveTime: this.config.keepaliveTime || undefined,
          connectRetryTime: this.config.connectRetryTime,
          idleHoldTime: s.idleHoldTime,
          idleHoldMaxTime: s.idleHoldMaxTime,
          restarting: () => this.ctx.restarting(),
        }),
      onAction: (action, conn) => this.perform(action, conn),
    });
  }

  private bind(conn: PeerConnection, socket: Conduit): Transport {
    this.transports.get(conn.id)?.close();
    const transport: Transport = new Transport(socket, {
      onMessages: (messages, error) => this.receive(conn, transport, messages, error),
      onClosed: (reason) => {
        if (this.transports.get(conn.id) !== transport) return;
        this.transports.delete(conn.id);
        this.lastError = reason;
        this.connections.dispatch(conn.id, { type: 'TcpConnectionFails' });
      },
    });
    this.transports.set(conn.id, transport);
    this.options.set(conn.id, DEFAULT_SESSION);
    return transport;
  }

  private connect(conn: PeerConnection): void {
    // A relayed peer is passive, so its FSM never asks; should it, nothing is dialled.
    if (this.config.relayed) return;
    const localAddress = this.config.localAddress ?? this.defaultLocalAddress();
    const socket = tcpConnect({ host: this.config.address, port: this.config.port, localAddress });
    socket.setNoDelay(true);
    const transport = this.bind(conn, socket);
    socket.once('connect', () => {
      if (this.transports.get(conn.id) === transport) this.connections.dispatch(conn.id, { type: 'Tcp_CR_Acked' });
    });
  }

  private defaultLocalAddress(): string | undefined {
    const l = this.ctx.speaker.listenAddress;
    if (l === '0.0.0.0' || l === '::') return undefined;
    // Only an address of the same family can be the source.
    return l.includes(':') === this.config.address.includes(':') ? l : undefined;
  }

  private receive(conn: PeerConnection, transport: Transport, messages: Uint8Array[], error: BgpError | undefined): void {
    this.now = Date.now();
    // Once the FSM has seen one UPDATE of this read on the established
    // session (restarting the hold timer, at this same instant), the rest go
    // straight to the Adj-RIB-In: the FSM would do nothing else with them.
    let holdRestarted = false;
    for (const message of messages) {
      if (this.transports.get(conn.id) !== transport) return; // dropped meanwhile
      this.received.count(message[18]!);
      const result = decodeMessage(message, this.options.get(conn.id) ?? DEFAULT_SESSION);
      if (result.ok && result.message.type === 'update') {
        const e = this.established;
        if (holdRestarted && e !== undefined && e.connection === conn && conn.driver.state === 'Established') {
          if (result.message.problems.length) this.log.warn({ action: result.message.action, problems: result.message.problems.map((p) => p.reason) }, 'UPDATE with errors (RFC 7606)');
          this.applyUpdate(result.message, message);
          continue;
        }
        holdRestarted = true;
      }
      this.lastMessage = message;
      if (result.ok && result.message.type === 'notification') {
        this.lastNotificationReceived = record(result.message);
        this.log.info({ code: result.message.code, subcode: result.message.subcode, communication: this.lastNotificationReceived.communication }, 'NOTIFICATION received');
      } else if (!result.ok) {
        this.log.warn({ code: result.error.code, subcode: result.error.subcode }, 'bad message from peer');
      } else if (result.message.type === 'update' && result.message.problems.length) {
        this.log.warn({ action: result.message.action, problems: result.message.problems.map((p) => p.reason) }, 'UPDATE with errors (RFC 7606)');
      }
      const event = eventFor(result);
      if (event) this.connections.dispatch(conn.id, event);
      this.lastMessage = undefined;
    }
    if (error && this.transports.get(conn.id) === transport) this.connections.dispatch(conn.id, eventForError(error));
  }

  private write(transport: Transport, bytes: Uint8Array): void {
    this.sent.count(bytes[18]!);
    transport.write(bytes);
  }

  /** The writer's sink: one chunk of whole UPDATEs; false when the socket's buffer is full. */
  private sendChunk(transport: Transport, connId: number, chunk: Uint8Array, messages: number): boolean {
    this.sent.count(MessageType.UPDATE, messages);
    const ok = transport.write(chunk);
    this.connections.dispatch(connId, { type: 'UpdateSent' });
    return ok;
  }

  private perform(action: FsmAction, conn: PeerConnection): void {
    const transport = this.transports.get(conn.id);
    switch (action.type) {
      case 'connect':
        this.connect(conn);
        return;
      case 'dropConnection':
        transport?.close();
        this.transports.delete(conn.id);
        this.options.delete(conn.id);
        return;
      case 'sendOpen':
        if (transport) this.write(transport, encodeOpenSummary(action.open));
        return;
      case 'sendKeepalive':
        if (transport) this.write(transport, KEEPALIVE);
        return;
      case 'sendNotification': {
        const n: Notification = action.notification;
        this.lastNotificationSent = record(n);
        this.log.info({ code: n.code, subcode: n.subcode }, 'NOTIFICATION sent');
        if (transport) this.write(transport, encodeNotification(n));
        return;
      }
      case 'releaseResources':
        if (this.established?.connection === conn) this.sessionDown(action.routes);
        return;
      case 'stateChange':
        this.stateChanged();
        return;
      case 'sessionEstablished':
        if (transport) this.sessionUp(conn, transport, action.session);
        return;
      case 'deliverUpdate':
        this.applyUpdate(action.update as UpdateMessage, this.lastMessage);
        return;
      case 'deliverRouteRefresh':
        // RFC 2918 §4: re-advertise the Adj-RIB-Out of that family.
        if (isRtc(action.family)) this.resendMemberships();
        else this.resend([action.family]);
        return;
      default:
        return;
    }
  }

  private stateChanged(): void {
    const now = this.connections.state;
    if (now === this.lastState) return;
    const previous = this.lastState;
    this.lastState = now;
    if (previous === 'Established') this.flaps++;
    this.log.info({ from: previous, to: now }, 'peer state');
    const reason = now === 'Idle' ? this.idleReason() : undefined;
    this.ctx.emit({ type: 'state', peer: this.address, from: previous, to: now, at: Date.now(), reason });
  }

  private idleReason(): string | undefined {
    const n = this.lastNotificationReceived ?? this.lastNotificationSent;
    return n ? `NOTIFICATION ${n.code}/${n.subcode}${n.communication ? ` "${n.communication}"` : ''}` : this.lastError;
  }

  private sessionUp(conn: PeerConnection, transport: Transport, session: NegotiatedSession): void {
    this.loopMemo = undefined; // the peer's settings may have changed since
    // Attribute sets decoded once per session (RFC 7606 checks still run once per distinct set).
    const options: SessionOptions = { ...sessionOptions(session), external: this.external, attributeCache: new AttributeSetCache() };
    this.options.set(conn.id, options);
    transport.splitter.setMaxLength(options.maxMessageLength ?? 4096);
    const localAddress = transport.localAddress || this.config.localAddress || this.ctx.speaker.routerId;
    const rtc = session.families.some(isRtc)
      ? new RtConstraintSession({
          external: this.external,
          localAs: this.ctx.speaker.as,
          localAddress,
          session: options,
          maxMessageLength: options.maxMessageLength ?? 4096,
        })
      : undefined;
    const out = new AdjRibOut(
      {
        address: this.address,
        external: this.external,
        client: this.config.routeReflectorClient,
        nextHopSelf: this.config.nextHopSelf,
        asOverride: this.config.asOverride,
        localAs: this.ctx.speaker.as,
        remoteAs: this.config.remoteAs,
        localAddress,
        session: options,
      },
      session.families,
      this.outboundSource(),
      rtc,
      () => this.ctx.restarting(),
    );
    const writer = new UpdateWriter(options.maxMessageLength ?? 4096, (chunk, n) => this.sendChunk(transport, conn.id, chunk, n));
    const e: Established = { connection: conn, transport, session, options, out, writer, since: Date.now(), rtc };
    this.established = e;
    this.waitingDrain = false;
    this.ctx.sessionChanged(this, session);
    this.lastError = undefined;
    this.log.info({ families: session.families.map(familyName), holdTime: session.holdTime, remoteId: formatBgpId(session.remoteBgpId) }, 'session established');
    this.keepOrSweepStale(session);
    if (rtc) {
      // RFC 4684 §6: our memberships go first, then (with the other families) their End-of-RIB.
      this.advertiseMemberships();
      const wait = this.ctx.speaker.rtcWaitTime ?? DEFAULT_RTC_WAIT_TIME;
      if (wait === 0) rtc.ready = true;
      else {
        e.rtcTimer = setTimeout(() => {
          if (this.established !== e || rtc.ready) return;
          this.log.info({ memberships: rtc.filter.size }, 'no RT membership End-of-RIB in time: VPN routes go out now (RFC 4684 §6)');
          this.routeTargetsReady(e);
        }, wait * 1000);
        e.rtcTimer.unref();
      }
    }
    // Initial advertisement, each family closed by End-of-RIB (RFC 4724 §2).
    out.startSync();
    this.schedule();
  }

  private routeTargetsReady(e: Established): void {
    if (e.rtcTimer) clearTimeout(e.rtcTimer);
    e.rtcTimer = undefined;
    e.rtc!.ready = true;
    if (e.out.routeTargetsChanged()) this.schedule();
  }

  /** RFC 2918 for the RT constraint family: every membership we advertise, again. */
  private resendMemberships(): void {
    const e = this.established;
    if (!e?.rtc) return;
    for (const u of e.rtc.resend(this.ctx.memberships(this))) this.sendChunk(e.transport, e.connection.id, u, 1);
  }

  /** RFC 4724 §4.2 once the session is back: families the peer no longer preserves lose their stale routes now. */
  private keepOrSweepStale(session: NegotiatedSession): void {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    const gr = session.gracefulRestart;
    let kept = false;
    for (const f of this.adjRibIn.table.families()) {
      if (this.adjRibIn.staleCount(f) === 0) continue;
      const preserved = gr?.families.some((g) => g.family.afi === f.afi && g.family.safi === f.safi && g.forwardingPreserved);
      if (preserved) kept = true;
      else this.emitRoutes({ announced: [], withdrawn: this.adjRibIn.sweepStale(f), endOfRib: [], ignored: 0 });
    }
    if (kept) this.startStaleTimer(STALE_PATH_SECONDS);
  }

  private startStaleTimer(seconds: number): void {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => {
      this.staleTimer = undefined;
      const withdrawn = this.adjRibIn.sweepStale();
      if (withdrawn.length) this.log.info({ routes: withdrawn.length }, 'stale routes expired');
      this.emitRoutes({ announced: [], withdrawn, endOfRib: [], ignored: 0 });
    }, seconds * 1000);
    this.staleTimer.unref();
  }

  private sessionDown(disposal: RouteDisposal): void {
    if (this.established?.rtcTimer) clearTimeout(this.established.rtcTimer);
    this.maxPrefix.clear();
    this.established = undefined;
    this.waitingDrain = false;
    this.ctx.sessionChanged(this, undefined);
    if (disposal.kind === 'retainStale') {
      // RFC 4724 §4.2: keep the families the peer listed, as stale, for its Restart Time.
      const keep = disposal.families;
      const withdrawn: Path[] = [];
      for (const f of this.adjRibIn.table.families()) {
        if (!keep.some((k) => k.afi === f.afi && k.safi === f.safi)) for (const p of this.adjRibIn.clear(f)) withdrawn.push(p);
      }
      const n = this.adjRibIn.markStale(keep);
      this.log.info({ stale: n, restartTime: disposal.restartTime }, 'peer restarting: routes kept as stale');
      this.emitRoutes({ announced: [], withdrawn, endOfRib: [], ignored: 0 });
      if (disposal.restartTime > 0) this.startStaleTimer(disposal.restartTime);
      else this.emitRoutes({ announced: [], withdrawn: this.adjRibIn.sweepStale(), endOfRib: [], ignored: 0 });
      return;
    }
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    this.emitRoutes({ announced: [], withdrawn: this.adjRibIn.clear(), endOfRib: [], ignored: 0 });
  }

  get external(): boolean {
    return this.config.remoteAs !== this.ctx.speaker.as;
  }

  /** The last attribute set checked for loops and the outcome (sets are shared and immutable: runs of UPDATEs carry the same one). */
  private loopMemo: { readonly attributes: object; readonly loop: boolean } | undefined;

  private readonly rejectLoop = (a: UpdateMessage['attributes']): boolean => {
    const m = this.loopMemo;
    if (m !== undefined && m.attributes === a) return m.loop;
    const loop = isLoop(a, {
      routerId: this.ctx.speaker.routerId,
      clusterId: this.ctx.clusterId,
      localAs: this.ctx.speaker.as,
      external: this.external,
      allowOwnAs: this.config.allowAsIn,
    });
    this.loopMemo = { attributes: a, loop };
    return loop;
  };

  private applyUpdate(update: UpdateMessage, raw: Uint8Array | undefined): void {
    const e = this.established;
    if (!e) return;
    if (e.rtc) this.applyMemberships(e, update);
    const change = this.adjRibIn.apply(update, e.session.families, this.now, raw, this.rejectLoop);
    if (change.ignored) this.log.debug({ ignored: change.ignored }, 'NLRI of a family not negotiated ignored (RFC 4760 §7)');
    if (change.endOfRib.length) {
      this.log.debug({ families: change.endOfRib.map(familyName) }, 'End-of-RIB received');
      if (this.staleTimer && !this.adjRibIn.table.families().some((f) => this.adjRibIn.staleCount(f) > 0)) {
        clearTimeout(this.staleTimer);
        this.staleTimer = undefined;
      }
    }
    if (this.config.maxPrefix && this.checkMaxPrefix()) {
      // Torn down: what this UPDATE announced is not passed on (the session's end withdraws it all).
      this.emitRoutes({ ...change, announced: [] });
      return;
    }
    this.emitRoutes(change);
  }

  /**
   * Checks every negotiated family against max-prefix; reports crossings.
   * Returns true when the session was torn down (action limit).
   */
  private checkMaxPrefix(): boolean {
    const e = this.established;
    if (!e) return false;
    for (const f of e.session.families) {
      if (isRtc(f)) continue;
      for (const v of this.maxPrefix.check(this.config.maxPrefix, f, this.adjRibIn.table.count(f))) {
        if (v.kind === 'exceeded' && v.teardown) {
          this.maxPrefixTeardown(v);
          return true;
        }
        this.lastError = describeVerdict(v);
        this.log.warn({ family: familyName(v.family), count: v.count, limit: v.limit }, describeVerdict(v));
      }
    }
    return false;
  }

  /** RFC 4486 §4: Cease / Maximum Number of Prefixes Reached with AFI, SAFI and the bound; down until the restart interval or an operator. */
  private maxPrefixTeardown(v: MaxPrefixVerdict): void {
    const reason = describeVerdict(v);
    const restart = this.config.maxPrefix?.restartInterval ?? 0;
    this.log.warn({ family: familyName(v.family), count: v.count, limit: v.limit, restartInterval: restart }, `${reason}: session torn down`);
    this.maxPrefixHeld = { reason, until: restart > 0 ? Date.now() + restart * 1000 : undefined };
    if (restart > 0) {
      this.maxPrefixTimer = setTimeout(() => {
        this.maxPrefixTimer = undefined;
        this.maxPrefixHeld = undefined;
        if (!this.adminShutdown) this.connections.start();
      }, restart * 1000);
      this.maxPrefixTimer.unref();
    }
    this.connections.automaticStop(CeaseSubcode.MAXIMUM_PREFIXES_REACHED, maxPrefixData(v.family.afi, v.family.safi, v.limit));
    // After the FSM's actions (the transport close does not overwrite it).
    this.lastError = reason;
  }

  private releaseMaxPrefixHold(): void {
    if (this.maxPrefixTimer) clearTimeout(this.maxPrefixTimer);
    this.maxPrefixTimer = undefined;
    this.maxPrefixHeld = undefined;
  }

  /** RFC 4684: the peer's memberships changed: its VPN routes are walked again (§3.1); its End-of-RIB opens the gate (§6). */
  private applyMemberships(e: Established, update: UpdateMessage): void {
    const rtc = e.rtc!;
    const r = rtc.receive(update);
    if (r.endOfRib && !rtc.ready) {
      this.log.debug({ memberships: rtc.filter.size }, 'RT membership End-of-RIB received');
      this.routeTargetsReady(e);
    } else if (r.changed && e.out.routeTargetsChanged()) this.schedule();
  }

  private emitRoutes(change: RibChange): void {
    if (change.announced.length === 0 && change.withdrawn.length === 0) return;
    this.ctx.routes(this, change);
    if (!this.ctx.watchingRoutes()) return;
    this.ctx.emit({ type: 'routes', peer: this.address, announced: change.announced, withdrawn: change.withdrawn });
  }
}
