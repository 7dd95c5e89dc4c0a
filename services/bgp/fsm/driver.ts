// Runs BgpFsm instances against a clock: timer actions become setTimeout
// calls whose expiry is fed back as the matching event; every other action
// goes to the caller (the glue that owns sockets and the codec). The clock is
// injectable so tests drive time by hand.
//
// PeerConnections groups the FSMs of one peer (the configured one plus any
// connection the peer opened meanwhile) and applies collision resolution
// (RFC 4271 §6.8) between them.
import { CollisionResolver, Direction } from './collision.js';
import { BgpFsm } from './fsm.js';
import { FsmAction, FsmEvent, State, StopReason, TimerName } from './types.js';

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const t = setTimeout(callback, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A manual clock: time moves only through advance(). */
export class FakeClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; seq: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.time + Math.max(0, ms), seq: id, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves time forward, firing due callbacks in time order (including ones they schedule). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; seq: number; callback: () => void }] | undefined;
      for (const entry of this.pending) {
        if (entry[1].at > end) continue;
        if (!next || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[1].seq < next[1].seq)) {
          next = entry;
        }
      }
      if (!next) break;
      this.pending.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
    }
    this.time = end;
  }

  /** Number of callbacks still scheduled. */
  get size(): number {
    return this.pending.size;
  }
}

const EXPIRY_EVENT: Record<TimerName, FsmEvent> = {
  ConnectRetry: { type: 'ConnectRetryTimer_Expires' },
  Hold: { type: 'HoldTimer_Expires' },
  Keepalive: { type: 'KeepaliveTimer_Expires' },
  DelayOpen: { type: 'DelayOpenTimer_Expires' },
  IdleHold: { type: 'IdleHoldTimer_Expires' },
};

/**
 * RFC 4271 §10: ConnectRetry and Keepalive intervals are jittered by a factor
 * in [0.75, 1]. IdleHold too, so that many peers dropped at once (a restart of
 * the remote router) do not all reconnect in the same instant.
 */
const JITTERED: ReadonlySet<TimerName> = new Set<TimerName>(['ConnectRetry', 'Keepalive', 'IdleHold']);

export interface FsmDriverOptions {
  clock?: Clock;
  /** Random source in [0, 1) for timer jitter; false disables jitter. Default Math.random. */
  jitter?: (() => number) | false;
  /** Receives every action except startTimer/stopTimer, in order. */
  onAction: (action: FsmAction, driver: FsmDriver) => void;
}

export class FsmDriver {
  private readonly clock: Clock;
  private readonly jitter: (() => number) | false;
  private readonly onAction: FsmDriverOptions['onAction'];
  /**
   * Armed timers. A restart that moves a timer later (the hold timer, on every
   * UPDATE and KEEPALIVE) only moves `due`: the armed timeout, when it fires
   * early, re-arms itself for the rest, so a busy session does not create
   * and cancel a timeout per message.
   */
  private readonly timers = new Map<TimerName, { handle: unknown; due: number; firesAt: number }>();
  private readonly queue: FsmEvent[] = [];
  private busy = false;
  private disposed = false;

  constructor(
    readonly fsm: BgpFsm,
    options: FsmDriverOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.jitter = options.jitter ?? Math.random;
    this.onAction = options.onAction;
  }

  get state(): State {
    return this.fsm.state;
  }

  /**
   * Feeds one event. Events dispatched from inside onAction are queued and run
   * after the current event's actions, so the FSM never re-enters itself.
   */
  dispatch(event: FsmEvent): void {
    if (this.disposed) return;
    this.queue.push(event);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let ev = this.queue.shift(); ev !== undefined; ev = this.queue.shift()) {
        for (const action of this.fsm.handle(ev)) this.perform(action);
      }
    } finally {
      this.busy = false;
    }
  }

  /** Cancels all timers; later dispatches are ignored. */
  dispose(): void {
    for (const t of this.timers.values()) this.clock.clearTimeout(t.handle);
    this.timers.clear();
    this.queue.length = 0;
    this.disposed = true;
  }

  private perform(action: FsmAction): void {
    if (this.disposed) return;
    switch (action.type) {
      case 'startTimer': {
        let ms = action.seconds * 1000;
        if (this.jitter && JITTERED.has(action.timer)) ms *= 0.75 + 0.25 * this.jitter();
        const timer = action.timer;
        const due = this.clock.now() + ms;
        const armed = this.timers.get(timer);
        if (armed && armed.firesAt <= due) {
          armed.due = due;
          return;
        }
        this.cancel(timer);
        const entry = { handle: undefined as unknown, due, firesAt: due };
        const fire = (): void => {
          if (this.timers.get(timer) !== entry) return;
          const left = entry.due - this.clock.now();
          if (left > 0) {
            entry.firesAt = entry.due;
            entry.handle = this.clock.setTimeout(fire, left);
            return;
          }
          this.timers.delete(timer);
          this.dispatch(EXPIRY_EVENT[timer]);
        };
        entry.handle = this.clock.setTimeout(fire, ms);
        this.timers.set(timer, entry);
        return;
      }
      case 'stopTimer':
        this.cancel(action.timer);
        return;
      default:
        this.onAction(action, this);
    }
  }

  private cancel(timer: TimerName): void {
    const t = this.timers.get(timer);
    if (t === undefined) return;
    this.clock.clearTimeout(t.handle);
    this.timers.delete(timer);
  }
}

/** One connection of a peer: an FSM, its driver, and who opened the TCP connection. */
export interface PeerConnection {
  readonly id: number;
  /** 'outbound' once its FSM asked to connect, 'inbound' when it was handed an accepted socket. */
  direction: Direction;
  readonly driver: FsmDriver;
  readonly primary: boolean;
}

export interface PeerConnectionsOptions {
  localBgpId: number;
  localAs: number;
  /** Creates the FSM for a connection (same peer config each time). */
  makeFsm: () => BgpFsm;
  /** Never initiate connections: the primary FSM waits in Active. */
  passive?: boolean;
  collisionDetectEstablishedState?: boolean;
  clock?: Clock;
  jitter?: (() => number) | false;
  /** Every non-timer action of every connection; `connection.id` tells the glue which socket. */
  onAction: (action: FsmAction, connection: PeerConnection) => void;
}

/**
 * The connections to one peer. The primary FSM is the configured session: it
 * connects, retries and restarts. A connection the peer opens while the
 * primary is busy with its own gets a secondary FSM; when either accepts an
 * OPEN, CollisionResolver picks the loser, which is sent OpenCollisionDump
 * (Cease / Connection Collision Resolution). While a secondary is Established
 * the primary is parked; it restarts when that session ends.
 */
export class PeerConnections {
  private readonly resolver: CollisionResolver;
  private readonly connections = new Map<number, PeerConnection>();
  private nextId = 1;
  private primaryConn: PeerConnection | undefined;
  private parked = false;

  constructor(private readonly options: PeerConnectionsOptions) {
    this.resolver = new CollisionResolver(options);
  }

  get primary(): PeerConnection | undefined {
    return this.primaryConn;
  }

  list(): PeerConnection[] {
    return [...this.connections.values()];
  }

  /** The connection in the most advanced state (Established > OpenConfirm > ...): the peer's state to report. */
  get state(): State {
    const order: State[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
    let best: State = 'Idle';
    for (const c of this.connections.values()) if (order.indexOf(c.driver.state) > order.indexOf(best)) best = c.driver.state;
    return best;
  }

  /** ManualStart (or its passive variant) on a fresh primary FSM. */
  start(): PeerConnection {
    if (!this.primaryConn) this.primaryConn = this.add(true, this.options.passive ? 'inbound' : 'outbound');
    this.parked = false;
    this.primaryConn.driver.dispatch({
      type: this.options.passive ? 'ManualStart_with_PassiveTcpEstablishment' : 'ManualStart',
    });
    return this.primaryConn;
  }

  /** ManualStop on every connection: Cease with the reason's subcode (RFC 4486), then Idle. */
  stop(reason: StopReason = 'shutdown', communication?: string): void {
    this.parked = false;
    for (const c of this.list()) c.driver.dispatch({ type: 'ManualStop', reason, communication });
  }

  /**
   * AutomaticStop on every connection (Cease with `subcode` and `data`, RFC
   * 4486): Idle with no automatic restart, incoming connections refused,
   * until start().
   */
  automaticStop(subcode: number, data?: Uint8Array): void {
    // Not parked: the end of an Established secondary must not wake the primary.
    this.parked = false;
    for (const c of this.list()) c.driver.dispatch({ type: 'AutomaticStop', subcode, data });
  }

  /**
   * The peer opened a TCP connection to us. Returns the connection that takes
   * the socket (the glue binds it to connection.id), or undefined: refuse it.
   */
  accept(bind?: (connection: PeerConnection) => void): PeerConnection | undefined {
    const primary = this.primaryConn;
    if (!primary) return undefined;
    if (primary.driver.state === 'Active') {
      // Waiting for a connection: the RFC's own case (§8.2.2 Active, event 17).
      primary.direction = 'inbound';
      bind?.(primary);
      primary.driver.dispatch({ type: 'TcpConnectionConfirmed' });
      return primary;
    }
    // Idle refuses (§8.2.2), unless it is only parked behind an Established
    // secondary (this connection will lose the collision anyway), or waiting
    // out its automatic-restart backoff: that damping limits our own attempts,
    // and a peer that dials in is the surest sign it is back.
    const restarting = primary.driver.fsm.runningTimers.has('IdleHold');
    if (primary.driver.state === 'Idle' && !this.parked && !restarting) return undefined;
    const conn = this.add(false, 'inbound');
    bind?.(conn);
    conn.driver.dispatch({ type: 'ManualStart_with_PassiveTcpEstablishment' });
    conn.driver.dispatch({ type: 'TcpConnectionConfirmed' });
    return conn;
  }

  /** Feeds an event (message, TCP outcome) from connection `id`'s socket. */
  dispatch(id: number, event: FsmEvent): void {
    this.connections.get(id)?.driver.dispatch(event);
  }

  dispose(): void {
    for (const c of this.connections.values()) c.driver.dispose();
    this.connections.clear();
    this.primaryConn = undefined;
  }

  private add(primary: boolean, direction: Direction): PeerConnection {
    const id = this.nextId++;
    const conn: PeerConnection = {
      id,
      direction,
      primary,
      driver: new FsmDriver(this.options.makeFsm(), {
        clock: this.options.clock,
        jitter: this.options.jitter,
        onAction: (action) => this.onAction(conn, action),
      }),
    };
    this.connections.set(id, conn);
    return conn;
  }

  private onAction(conn: PeerConnection, action: FsmAction): void {
    if (action.type === 'connect') conn.direction = 'outbound';
    this.options.onAction(action, conn);
    if (action.type !== 'stateChange') return;
    if (action.to === 'OpenConfirm') this.resolveCollisions(conn);
    if (action.to === 'Established' && !conn.primary) this.parkPrimary();
    if (action.to === 'Idle' && !conn.primary) {
      conn.driver.dispose();
      this.connections.delete(conn.id);
      if (action.from === 'Established') this.unparkPrimary();
    }
  }

  private resolveCollisions(opened: PeerConnection): void {
    const view = (c: PeerConnection) => ({
      conn: c,
      direction: c.direction,
      state: c.driver.state,
      remoteBgpId: c.driver.fsm.remoteOpen?.bgpId,
      remoteAs: c.driver.fsm.remoteOpen?.myAs,
    });
    const me = view(opened);
    for (const other of this.list()) {
      if (other === opened) continue;
      const loser = this.resolver.resolve(me, view(other));
      if (!loser) continue;
      // Deferred by FsmDriver's queue when the loser is `opened` itself.
      loser.conn.driver.dispatch({ type: 'OpenCollisionDump' });
      if (loser.conn === opened) return;
    }
  }

  /** A secondary is Established: stop the primary's own attempts (§6.8 would close them anyway). */
  private parkPrimary(): void {
    const p = this.primaryConn;
    if (!p) return;
    const s = p.driver.state;
    if (s === 'Idle' || s === 'Connect' || s === 'Active') {
      p.driver.dispatch({ type: 'ManualStop' }); // no NOTIFICATION: no OPEN was sent on it
      this.parked = true;
    }
  }

  private unparkPrimary(): void {
    const p = this.primaryConn;
    if (!p || !this.parked) return;
    this.parked = false;
    p.driver.dispatch({
      type: this.options.passive ? 'AutomaticStart_with_PassiveTcpEstablishment' : 'AutomaticStart',
    });
  }
}
