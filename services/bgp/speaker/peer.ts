// One configured neighbour at the edge: its TCP connections (ours and the
// ones it opens, collisions resolved by fsm/PeerConnections), the codec on
// each, the FSM's actions carried out, its Adj-RIB-In, and what we advertise
// to it. Protocol decisions live in fsm/, wire/, inbound.ts and export.ts.
import { connect as tcpConnect, type Socket } from 'node:net';
import { BgpFsm } from '../fsm/fsm.js';
import { formatBgpId, parseBgpId } from '../fsm/negotiate.js';
import { PeerConnections, type PeerConnection } from '../fsm/driver.js';
import type { Capabilities, FsmAction, NegotiatedSession, Notification, RouteDisposal, State } from '../fsm/types.js';
import { AdjRibIn, type RibChange } from '../rib/adj-rib-in.js';
import type { Path } from '../rib/path.js';
import { KEEPALIVE } from '../wire/header.js';
import { decodeMessage } from '../wire/message.js';
import { encodeNotification, shutdownCommunication, type BgpError } from '../wire/notification.js';
import { encodeRouteRefresh } from '../wire/route-refresh.js';
import { encodeEndOfRib, type UpdateMessage } from '../wire/update.js';
import { DEFAULT_SESSION, type SessionOptions } from '../wire/session.js';
import { familyKey, type Family } from '../wire/nlri.js';
import type { Logger } from '../../common/logger.js';
import { type PeerConfig, type SpeakerConfig, familyName } from './config.js';
import { MessageCounters } from './counters.js';
import { announcementUpdates, withdrawalUpdates, type ExportPeer } from './export.js';
import { eventFor, eventForError } from './inbound.js';
import { encodeOpenSummary, sessionOptions } from './open-summary.js';
import { Transport } from './transport.js';

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
  readonly log: Logger;
  /** Local paths of a family, to advertise. */
  localPaths(family: Family): Iterable<Path>;
  emit(event: PeerEvent): void;
  /** Whether anyone listens for route events (they are not built otherwise). */
  watchingRoutes(): boolean;
}

interface Established {
  readonly connection: PeerConnection;
  readonly transport: Transport;
  readonly session: NegotiatedSession;
  readonly options: SessionOptions;
  readonly export: ExportPeer;
  readonly since: number;
}

function record(n: BgpError): NotificationRecord {
  return { code: n.code, subcode: n.subcode, data: n.data.slice(), communication: shutdownCommunication(n), at: Date.now() };
}

export class Peer {
  readonly adjRibIn: AdjRibIn;
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
  private log: Logger;

  constructor(
    public config: PeerConfig,
    private readonly ctx: PeerContext,
  ) {
    this.adjRibIn = new AdjRibIn(config.address);
    this.log = ctx.log.child({ peer: config.address });
    this.connections = this.makeConnections();
    if (config.adminDown) this.adminShutdown = {};
  }

  get address(): string {
    return this.config.address;
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
      // RFC 4724 §3: receiving speaker only, so no families and no F bits.
      gracefulRestart: this.ctx.speaker.gracefulRestartTime > 0 ? { restarting: false, restartTime: this.ctx.speaker.gracefulRestartTime, families: [] } : undefined,
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

  /** Administrative shutdown (Cease/2, RFC 8203 communication); stays down until enable(). */
  disable(communication?: string): void {
    this.adminShutdown = { communication };
    this.connections.stop('shutdown', communication);
  }

  enable(): void {
    this.adminShutdown = undefined;
    this.connections.start();
  }

  /** Hard reset: Cease/4 (Administrative Reset), then a new session. */
  reset(communication?: string): void {
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
    this.config = config;
    if (!reset) return;
    for (const c of this.connections.list()) c.driver.dispatch({ type: 'AutomaticStop', subcode: 6 });
    this.connections.dispose();
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.connections = this.makeConnections();
    if (config.adminDown) this.adminShutdown ??= {};
    this.start();
  }

  dispose(): void {
    this.connections.dispose();
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    if (this.staleTimer) clearTimeout(this.staleTimer);
  }

  /** A TCP connection the peer opened to our listener. */
  accept(socket: Socket): void {
    const conn = this.connections.accept((c) => this.bind(c, socket));
    if (!conn) {
      this.log.debug('incoming connection refused (Idle)');
      socket.destroy();
    }
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

  /** Re-sends everything we advertise (soft reset out). */
  resend(families: readonly Family[]): void {
    const e = this.established;
    if (!e) return;
    for (const f of e.session.families) {
      if (families.length && !families.some((x) => familyKey(x.afi, x.safi) === familyKey(f.afi, f.safi))) continue;
      this.sendUpdates(announcementUpdates(f, this.ctx.localPaths(f), e.export));
    }
  }

  /** Paths of one family that changed locally. */
  announce(family: Family, paths: readonly Path[]): void {
    const e = this.established;
    if (!e || !this.negotiated(family)) return;
    this.sendUpdates(announcementUpdates(family, paths, e.export));
  }

  withdraw(family: Family, paths: readonly Path[]): void {
    const e = this.established;
    if (!e || !this.negotiated(family)) return;
    this.sendUpdates(withdrawalUpdates(family, paths.map((p) => p.route), e.options));
  }

  negotiated(family: Family): boolean {
    return !!this.established?.session.families.some((f) => f.afi === family.afi && f.safi === family.safi);
  }

  advertisedCount(family: Family): number {
    if (!this.negotiated(family)) return 0;
    let n = 0;
    for (const _ of this.ctx.localPaths(family)) n++;
    return n;
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
        }),
      onAction: (action, conn) => this.perform(action, conn),
    });
  }

  private bind(conn: PeerConnection, socket: Socket): Transport {
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
    const localAddress = this.config.localAddress ?? this.defaultLocalAddress();
    const socket = tcpConnect({ host: this.config.address, port: this.config.port, localAddress });
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
    for (const message of messages) {
      if (this.transports.get(conn.id) !== transport) return; // dropped meanwhile
      this.received.count(message[18]!);
      const result = decodeMessage(message, this.options.get(conn.id) ?? DEFAULT_SESSION);
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
    }
    if (error && this.transports.get(conn.id) === transport) this.connections.dispatch(conn.id, eventForError(error));
  }

  private write(transport: Transport, bytes: Uint8Array): void {
    this.sent.count(bytes[18]!);
    transport.write(bytes);
  }

  private sendUpdates(messages: Uint8Array[]): void {
    const e = this.established;
    if (!e || messages.length === 0) return;
    for (const m of messages) this.write(e.transport, m);
    this.connections.dispatch(e.connection.id, { type: 'UpdateSent' });
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
        this.applyUpdate(action.update as UpdateMessage);
        return;
      case 'deliverRouteRefresh':
        // RFC 2918 §4: re-advertise the Adj-RIB-Out of that family.
        this.resend([action.family]);
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
    const options = sessionOptions(session);
    this.options.set(conn.id, options);
    transport.splitter.setMaxLength(options.maxMessageLength ?? 4096);
    const localAddress = transport.localAddress || this.config.localAddress || this.ctx.speaker.routerId;
    this.established = {
      connection: conn,
      transport,
      session,
      options,
      export: { localAs: this.ctx.speaker.as, remoteAs: this.config.remoteAs, localAddress, session: options },
      since: Date.now(),
    };
    this.lastError = undefined;
    this.log.info({ families: session.families.map(familyName), holdTime: session.holdTime, remoteId: formatBgpId(session.remoteBgpId) }, 'session established');
    this.keepOrSweepStale(session);
    // Initial advertisement, each family closed by End-of-RIB (RFC 4724 §2).
    for (const f of session.families) {
      this.sendUpdates(announcementUpdates(f, this.ctx.localPaths(f), this.established.export));
      this.sendUpdates([encodeEndOfRib(f.afi, f.safi)]);
    }
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
    this.established = undefined;
    if (disposal.kind === 'retainStale') {
      // RFC 4724 §4.2: keep the families the peer listed, as stale, for its Restart Time.
      const keep = disposal.families;
      const withdrawn: Path[] = [];
      for (const f of this.adjRibIn.table.families()) {
        if (!keep.some((k) => k.afi === f.afi && k.safi === f.safi)) withdrawn.push(...this.adjRibIn.table.clear(f));
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
    this.emitRoutes({ announced: [], withdrawn: this.adjRibIn.table.clear(), endOfRib: [], ignored: 0 });
  }

  private applyUpdate(update: UpdateMessage): void {
    const e = this.established;
    if (!e) return;
    const change = this.adjRibIn.apply(update, e.session.families, Date.now());
    if (change.ignored) this.log.debug({ ignored: change.ignored }, 'NLRI of a family not negotiated ignored (RFC 4760 §7)');
    if (change.endOfRib.length) {
      this.log.debug({ families: change.endOfRib.map(familyName) }, 'End-of-RIB received');
      if (this.staleTimer && !this.adjRibIn.table.families().some((f) => this.adjRibIn.staleCount(f) > 0)) {
        clearTimeout(this.staleTimer);
        this.staleTimer = undefined;
      }
    }
    this.emitRoutes(change);
  }

  private emitRoutes(change: RibChange): void {
    if (!this.ctx.watchingRoutes() || (change.announced.length === 0 && change.withdrawn.length === 0)) return;
    this.ctx.emit({ type: 'routes', peer: this.address, announced: change.announced, withdrawn: change.withdrawn });
  }
}
