// The BGP finite state machine of RFC 4271 §8, one instance per TCP
// connection attempt to a peer, free of I/O: handle(event) returns the
// actions to perform, in order. Timers are abstract (startTimer/stopTimer);
// driver.ts runs them on a clock.
//
// Where this file deliberately differs from the letter of §8.2.2, a comment
// says so. Connection collisions (§6.8) involve two FSMs and are resolved
// outside (collision.ts, driver.ts), which then feed OpenCollisionDump.
import { ceaseForStop, checkOpen, fsmError, notification } from './negotiate.js';
import {
  FsmAction,
  FsmConfig,
  FsmEvent,
  NegotiatedSession,
  Notification,
  OpenSummary,
  RouteDisposal,
  State,
  TimerName,
  familyKey,
} from './types.js';
import { CeaseSubcode, ErrorCode } from '../wire/constants.js';

const TIMER_OF_EVENT: Partial<Record<FsmEvent['type'], TimerName>> = {
  ConnectRetryTimer_Expires: 'ConnectRetry',
  HoldTimer_Expires: 'Hold',
  KeepaliveTimer_Expires: 'Keepalive',
  DelayOpenTimer_Expires: 'DelayOpen',
  IdleHoldTimer_Expires: 'IdleHold',
};

type CounterChange = 'zero' | 'increment' | 'keep';

interface IdleOptions {
  notify?: Notification;
  counter: CounterChange;
  /** false for stop events: an operator/policy stop does not restart by itself. */
  restart?: boolean;
  /** The TCP connection died without a NOTIFICATION: graceful restart applies (RFC 4724 §4.2). */
  transportFailure?: boolean;
}

export class BgpFsm {
  readonly config: Readonly<Required<Omit<FsmConfig, 'idleHoldTime' | 'keepaliveTime' | 'restarting'>>> & {
    idleHoldTime: number | undefined;
    keepaliveTime: number | undefined;
    restarting: (() => boolean) | undefined;
  };
  private _state: State = 'Idle';
  private _connectRetryCounter = 0;
  private passive = false;
  private readonly running = new Set<TimerName>();
  /** Consecutive ConnectRetryTimer expiries: the exponent of its backoff. */
  private retryAttempts = 0;
  /** Consecutive failures that sent us to Idle: the exponent of the idle-hold backoff. */
  private failures = 0;
  private _remoteOpen: OpenSummary | undefined;
  private _session: NegotiatedSession | undefined;
  private out: FsmAction[] = [];

  constructor(config: FsmConfig) {
    const holdTime = config.holdTime ?? 90;
    if (!Number.isInteger(holdTime) || holdTime < 0 || holdTime > 65535 || holdTime === 1 || holdTime === 2) {
      throw new RangeError(`hold time must be 0 or 3..65535 seconds, got ${holdTime}`);
    }
    const connectRetryTime = config.connectRetryTime ?? 120;
    if (!(connectRetryTime > 0)) throw new RangeError('connect retry time must be positive');
    const idleHoldTime = config.idleHoldTime;
    this.config = {
      localAs: config.localAs,
      localBgpId: config.localBgpId >>> 0,
      peerAs: config.peerAs,
      capabilities: config.capabilities,
      holdTime,
      keepaliveTime: config.keepaliveTime,
      connectRetryTime,
      connectRetryMaxTime: Math.max(connectRetryTime, config.connectRetryMaxTime ?? connectRetryTime),
      largeHoldTime: config.largeHoldTime ?? 240,
      delayOpenTime: config.delayOpenTime ?? 0,
      idleHoldTime,
      idleHoldMaxTime: Math.max(idleHoldTime ?? 0, config.idleHoldMaxTime ?? 120),
      sendNotificationWithoutOpen: config.sendNotificationWithoutOpen ?? false,
      restarting: config.restarting,
    };
  }

  get state(): State {
    return this._state;
  }

  get connectRetryCounter(): number {
    return this._connectRetryCounter;
  }

  /** The peer's OPEN once accepted (OpenConfirm, Established); used for collision detection. */
  get remoteOpen(): OpenSummary | undefined {
    return this._remoteOpen;
  }

  /** The negotiated parameters once the peer's OPEN was accepted. */
  get session(): NegotiatedSession | undefined {
    return this._session;
  }

  /** Timers the FSM considers running (the driver's view must match). */
  get runningTimers(): ReadonlySet<TimerName> {
    return this.running;
  }

  /** Our OPEN, as sent in sendOpen actions. */
  localOpen(): OpenSummary {
    const { capabilities, restarting } = this.config;
    const gr = capabilities.gracefulRestart;
    return {
      version: 4,
      myAs: this.config.localAs,
      holdTime: this.config.holdTime,
      bgpId: this.config.localBgpId,
      capabilities: gr && restarting ? { ...capabilities, gracefulRestart: { ...gr, restarting: restarting() } } : capabilities,
    };
  }

  handle(event: FsmEvent): FsmAction[] {
    this.out = [];
    const timer = TIMER_OF_EVENT[event.type];
    if (timer !== undefined) {
      // An expiry for a timer we have stopped can only be a stale callback that
      // raced the stop; ignoring it is safer than §8.2.2's "any other event"
      // (which would, e.g., tear down an OpenSent session for it).
      if (!this.running.delete(timer)) return [];
    }
    switch (this._state) {
      case 'Idle':
        this.idle(event);
        break;
      case 'Connect':
      case 'Active':
        this.connectOrActive(event);
        break;
      case 'OpenSent':
        this.openSent(event);
        break;
      case 'OpenConfirm':
        this.openConfirm(event);
        break;
      case 'Established':
        this.established(event);
        break;
    }
    return this.out;
  }

  // §8.2.2 Idle
  private idle(ev: FsmEvent): void {
    switch (ev.type) {
      case 'ManualStart':
      case 'AutomaticStart':
        this.begin(ev, false, true);
        return;
      case 'ManualStart_with_PassiveTcpEstablishment':
      case 'AutomaticStart_with_PassiveTcpEstablishment':
        this.begin(ev, true, true);
        return;
      case 'IdleHoldTimer_Expires':
        // Our automatic restart: keeps the counters so backoff keeps growing.
        this.begin(ev, this.passive, false);
        return;
      case 'ManualStop':
        // Ignored by §8.2.2, except that it cancels a pending automatic restart.
        this.stop('IdleHold');
        this._connectRetryCounter = 0;
        this.failures = 0;
        return;
      case 'TcpConnection_Valid':
      case 'TcpConnectionConfirmed':
        // Idle refuses incoming connections for this peer.
        this.emit({ type: 'dropConnection' });
        return;
      default:
        return; // events 9-12, 15-28: no change
    }
  }

  private begin(ev: FsmEvent, passive: boolean, resetCounters: boolean): void {
    this.stop('IdleHold');
    if (resetCounters) {
      this._connectRetryCounter = 0;
      this.retryAttempts = 0;
      if (ev.type === 'ManualStart' || ev.type === 'ManualStart_with_PassiveTcpEstablishment') this.failures = 0;
    }
    this.passive = passive;
    if (passive) {
      // Deviation: §8.2.2 starts the ConnectRetryTimer here too, so a "passive"
      // peer would connect out after 120 s. Operators mean "never initiate"
      // (as in FRR, BIRD, GoBGP), so a passive FSM only waits in Active.
      this.go('Active', ev);
      return;
    }
    this.start('ConnectRetry', this.connectRetryDelay());
    this.emit({ type: 'connect' });
    this.go('Connect', ev);
  }

  // §8.2.2 Connect and Active: they differ in few places, marked below.
  private connectOrActive(ev: FsmEvent): void {
    const inConnect = this._state === 'Connect';
    switch (ev.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'ManualStart_with_PassiveTcpEstablishment':
      case 'AutomaticStart_with_PassiveTcpEstablishment':
        return; // ignored
      case 'ManualStop': {
        const notify =
          this.running.has('DelayOpen') && this.config.sendNotificationWithoutOpen
            ? ceaseForStop(ev.reason, ev.communication)
            : undefined;
        this.toIdle(ev, { notify, counter: 'zero', restart: false });
        return;
      }
      case 'ConnectRetryTimer_Expires':
        // Connect: abandon the attempt and try again. Active: try (again).
        if (inConnect) this.emit({ type: 'dropConnection' });
        this.stop('DelayOpen');
        this.retryAttempts++;
        this.start('ConnectRetry', this.connectRetryDelay());
        this.emit({ type: 'connect' });
        this.go('Connect', ev);
        return;
      case 'DelayOpenTimer_Expires':
        this.stop('ConnectRetry');
        this.sendOpenAndWait(ev);
        return;
      case 'TcpConnection_Valid':
      case 'Tcp_CR_Invalid':
        return; // the connection is (or was) processed by whoever accepted it
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
        this.stop('ConnectRetry');
        if (this.config.delayOpenTime > 0) {
          this.start('DelayOpen', this.config.delayOpenTime);
          return;
        }
        this.sendOpenAndWait(ev);
        return;
      case 'TcpConnectionFails':
        if (inConnect && this.running.has('DelayOpen')) {
          this.stop('DelayOpen');
          if (!this.passive) this.start('ConnectRetry', this.connectRetryDelay());
          this.go('Active', ev);
          return;
        }
        // Connect without DelayOpen: no counter increment (§8.2.2); Active: increment.
        this.toIdle(ev, { counter: inConnect ? 'keep' : 'increment', transportFailure: true });
        return;
      case 'BGPOpen':
        if (this.running.has('DelayOpen')) {
          this.acceptOpen(ev, ev.open); // event 20
          return;
        }
        this.toIdle(ev, { counter: 'increment' });
        return;
      case 'BGPHeaderErr':
      case 'BGPOpenMsgErr':
        this.toIdle(ev, {
          notify: this.config.sendNotificationWithoutOpen ? ev.notification : undefined,
          counter: 'increment',
        });
        return;
      case 'NotifMsgVerErr':
        this.toIdle(ev, { counter: this.running.has('DelayOpen') ? 'keep' : 'increment' });
        return;
      case 'UpdateSent':
        return;
      case 'AutomaticStop':
        this.toIdle(ev, { counter: 'increment', restart: false });
        return;
      default:
        this.toIdle(ev, { counter: 'increment' });
        return;
    }
  }

  /** Send our OPEN and wait for the peer's with the large hold time (§8.2.2). */
  private sendOpenAndWait(ev: FsmEvent): void {
    this.stop('DelayOpen');
    this.emit({ type: 'sendOpen', open: this.localOpen() });
    this.start('Hold', this.config.largeHoldTime);
    this.go('OpenSent', ev);
  }

  /** A valid-looking OPEN arrived in OpenSent, or in Connect/Active with DelayOpenTimer running. */
  private acceptOpen(ev: FsmEvent, open: OpenSummary): void {
    const result = checkOpen(this.config, open);
    if (!result.ok) {
      // Handled as BGPOpenMsgErr (event 22) in the current state.
      this.handleOpenError(ev, result.notification);
      return;
    }
    const delayed = this._state !== 'OpenSent';
    this._remoteOpen = open;
    this._session = result.session;
    this.stop('ConnectRetry');
    this.stop('DelayOpen');
    if (delayed) this.emit({ type: 'sendOpen', open: this.localOpen() });
    this.emit({ type: 'sendKeepalive' });
    this.armSessionTimers();
    this.go('OpenConfirm', ev);
  }

  private handleOpenError(ev: FsmEvent, notify: Notification): void {
    const opened = this._state === 'OpenSent'; // we sent our OPEN: a NOTIFICATION is allowed
    this.toIdle(ev, {
      notify: opened || this.config.sendNotificationWithoutOpen ? notify : undefined,
      counter: 'increment',
    });
  }

  /** Negotiated hold time non-zero: start KeepaliveTimer and HoldTimer; zero: neither runs (§4.4). */
  private armSessionTimers(): void {
    const s = this._session!;
    if (s.holdTime > 0) {
      this.start('Keepalive', s.keepaliveTime);
      this.start('Hold', s.holdTime);
    } else {
      this.stop('Keepalive');
      this.stop('Hold');
    }
  }

  private restartHold(): void {
    const hold = this._session?.holdTime ?? 0;
    if (hold > 0) this.start('Hold', hold);
  }

  private restartKeepalive(): void {
    const keepalive = this._session?.keepaliveTime ?? 0;
    if (keepalive > 0) this.start('Keepalive', keepalive);
  }

  // §8.2.2 OpenSent
  private openSent(ev: FsmEvent): void {
    switch (ev.type) {
      case 'BGPOpen':
        this.acceptOpen(ev, ev.open);
        return;
      case 'TcpConnectionFails':
        // Back to Active to wait for (or retry) a connection.
        this.stop('Hold');
        this.emit({ type: 'dropConnection' });
        if (!this.passive) this.start('ConnectRetry', this.connectRetryDelay());
        this.go('Active', ev);
        return;
      case 'NotifMsg':
        // Deviation: §8.2.2 lists NotifMsg among "any other event", which
        // would answer a NOTIFICATION with an FSM Error one. The peer has
        // already closed; like OpenConfirm, just go Idle.
        this.toIdle(ev, { counter: 'increment' });
        return;
      default:
        this.common(ev);
    }
  }

  // §8.2.2 OpenConfirm
  private openConfirm(ev: FsmEvent): void {
    switch (ev.type) {
      case 'KeepaliveTimer_Expires':
        this.emit({ type: 'sendKeepalive' });
        this.restartKeepalive();
        return;
      case 'TcpConnectionFails':
      case 'NotifMsg':
        this.toIdle(ev, { counter: 'increment' });
        return;
      case 'KeepAliveMsg':
        this.restartHold();
        this.retryAttempts = 0;
        this.failures = 0;
        this.go('Established', ev);
        this.emit({ type: 'sessionEstablished', session: this._session! });
        return;
      default:
        this.common(ev);
    }
  }

  // §8.2.2 Established
  private established(ev: FsmEvent): void {
    switch (ev.type) {
      case 'KeepaliveTimer_Expires':
        this.emit({ type: 'sendKeepalive' });
        this.restartKeepalive();
        return;
      case 'UpdateSent':
        this.restartKeepalive(); // §4.4: each KEEPALIVE or UPDATE sent restarts it
        return;
      case 'KeepAliveMsg':
        this.restartHold();
        return;
      case 'UpdateMsg':
        this.restartHold();
        this.emit({ type: 'deliverUpdate', update: ev.update });
        return;
      case 'RouteRefresh':
        // Not named by §8 (RFC 2918 came later); any message proves the peer alive.
        this.restartHold();
        // RFC 2918 §4: a refresh for a family not negotiated is ignored.
        if (this._session!.families.some((f) => familyKey(f) === familyKey(ev.family))) {
          this.emit({ type: 'deliverRouteRefresh', family: ev.family });
        }
        return;
      case 'TcpConnectionFails':
        this.toIdle(ev, { counter: 'increment', transportFailure: true });
        return;
      case 'NotifMsg':
      case 'NotifMsgVerErr':
        this.toIdle(ev, { counter: 'increment' });
        return;
      case 'UpdateMsgErr':
        this.toIdle(ev, { notify: ev.notification, counter: 'increment' });
        return;
      default:
        this.common(ev);
    }
  }

  /** Handling shared by OpenSent, OpenConfirm and Established. */
  private common(ev: FsmEvent): void {
    switch (ev.type) {
      case 'ManualStart':
      case 'AutomaticStart':
      case 'ManualStart_with_PassiveTcpEstablishment':
      case 'AutomaticStart_with_PassiveTcpEstablishment':
      case 'IdleHoldTimer_Expires':
      // A second connection for this peer is another FSM's business (§6.8 is
      // resolved by the driver), so these do not concern this one.
      case 'TcpConnection_Valid':
      case 'Tcp_CR_Invalid':
      case 'Tcp_CR_Acked':
      case 'TcpConnectionConfirmed':
      case 'UpdateSent':
        return;
      case 'ManualStop':
        this.toIdle(ev, { notify: ceaseForStop(ev.reason, ev.communication), counter: 'zero', restart: false });
        return;
      case 'AutomaticStop':
        this.toIdle(ev, { notify: notification(ErrorCode.CEASE, ev.subcode, ev.data), counter: 'increment', restart: false });
        return;
      case 'HoldTimer_Expires':
        this.toIdle(ev, { notify: notification(ErrorCode.HOLD_TIMER_EXPIRED, 0), counter: 'increment' });
        return;
      case 'BGPHeaderErr':
      case 'BGPOpenMsgErr':
        // In Established §8.2.2 says FSM Error for these; the decoder's own
        // code (§6.1, §6.2) tells the peer more, so we send that.
        this.toIdle(ev, { notify: ev.notification, counter: 'increment' });
        return;
      case 'OpenCollisionDump':
        this.toIdle(ev, {
          notify: notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION),
          counter: 'increment',
        });
        return;
      case 'NotifMsgVerErr':
        this.toIdle(ev, { counter: 'keep' });
        return;
      default:
        // Any other event: an unexpected message (RFC 6608) or a timer that
        // cannot run in this state.
        this.toIdle(ev, { notify: fsmError(this._state), counter: 'increment' });
        return;
    }
  }

  /**
   * The common tail of most error paths in §8.2.2: optionally send a
   * NOTIFICATION, stop all timers, release resources (deleting routes, or
   * keeping them stale under graceful restart), drop the connection, update
   * ConnectRetryCounter, go Idle, and schedule an automatic restart if set.
   */
  private toIdle(ev: FsmEvent, o: IdleOptions): void {
    if (o.notify) this.emit({ type: 'sendNotification', notification: o.notify });
    for (const t of [...this.running]) this.stop(t);
    this.emit({ type: 'releaseResources', routes: this.routeDisposal(o) });
    this.emit({ type: 'dropConnection' });
    if (o.counter === 'zero') this._connectRetryCounter = 0;
    else if (o.counter === 'increment') this._connectRetryCounter++;
    this._remoteOpen = undefined;
    this._session = undefined;
    if (o.restart !== false && this.config.idleHoldTime !== undefined) {
      this.failures++;
      const delay = Math.min(this.config.idleHoldMaxTime, this.config.idleHoldTime * 2 ** (this.failures - 1));
      this.start('IdleHold', delay);
    }
    this.go('Idle', ev);
  }

  private routeDisposal(o: IdleOptions): RouteDisposal {
    if (this._state !== 'Established') return { kind: 'none' };
    const gr = this._session?.gracefulRestart;
    // RFC 4724 §4.2: only a TCP failure (not a NOTIFICATION exchange) keeps them.
    if (o.transportFailure && gr && gr.families.length > 0) {
      return { kind: 'retainStale', restartTime: gr.restartTime, families: gr.families.map((f) => f.family) };
    }
    return { kind: 'delete' };
  }

  private connectRetryDelay(): number {
    const { connectRetryTime, connectRetryMaxTime } = this.config;
    return Math.min(connectRetryMaxTime, connectRetryTime * 2 ** this.retryAttempts);
  }

  private start(timer: TimerName, seconds: number): void {
    if (seconds <= 0) {
      this.stop(timer);
      return;
    }
    this.running.add(timer);
    this.emit({ type: 'startTimer', timer, seconds });
  }

  private stop(timer: TimerName): void {
    if (this.running.delete(timer)) this.emit({ type: 'stopTimer', timer });
  }

  private go(to: State, ev: FsmEvent): void {
    if (to === this._state) return;
    const from = this._state;
    this._state = to;
    this.emit({ type: 'stateChange', from, to, event: ev.type });
  }

  private emit(action: FsmAction): void {
    this.out.push(action);
  }
}
