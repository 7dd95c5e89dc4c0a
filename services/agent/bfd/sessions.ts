// The node's BFD sessions, one per core link (RFC 5881 single hop over UDP,
// destination port 3784, TTL 255), carried by the driver's CoreIo through
// the data plane. Demultiplexes received packets (§6.3: Your Discriminator,
// else the interface and source address), runs each session's timers on an
// injectable clock and tells of state changes. I/O only through CoreIo and
// the timer functions given.
import type { CoreDatagram, CoreIo } from '../driver.js';
import { decodeControl, encodeControl, BfdState } from './packet.js';
import { BfdSession, type BfdEvent, type BfdTimers } from './session.js';

/** RFC 5881 §4: single-hop BFD Control packets go to UDP port 3784. */
export const BFD_PORT = 3784;
/** RFC 5881 §4: source ports 49152–65535, one per session. */
const SOURCE_PORT_BASE = 49152;
/** RFC 5881 §5: sent with TTL 255, and only packets received with 255 are accepted (GTSM, RFC 5082). */
const TTL = 255;

export interface BfdPeer {
  interface: string;
  /** This node's address on the link (no length), and the neighbour's. */
  local: string;
  remote: string;
}

export interface BfdClock {
  now(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: BfdClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    // BFD never keeps a process alive on its own (the controller link and the switch connection do).
    const t = setTimeout(fn, Math.max(0, ms)).unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface SessionView {
  peer: BfdPeer;
  state: BfdState;
  /** Whether the session has been Up since it was created (a Down after that is a failure, before it a start). */
  everUp: boolean;
  /** The remote went AdminDown (its agent stopped): RFC 5882 §3.2, not a forwarding failure. */
  neighborAdminDown: boolean;
  reason: string;
}

interface Entry {
  peer: BfdPeer;
  session: BfdSession;
  sourcePort: number;
  everUp: boolean;
  reason: string;
}

export class BfdSessions {
  private readonly byInterface = new Map<string, Entry>();
  private readonly byDiscriminator = new Map<number, Entry>();
  private nextDiscriminator: number;
  private timer: { cancel(): void } | undefined;
  private timerAt = Infinity;
  private closed = false;
  /** Packets discarded by the checks of §6.8.6 and RFC 5881 §5, for logs. */
  discarded = 0;

  constructor(
    private readonly io: CoreIo,
    private readonly timers: BfdTimers,
    private readonly onChange: (view: SessionView, event: Extract<BfdEvent, { type: 'state' }>) => void,
    private readonly clock: BfdClock = systemClock,
  ) {
    // Discriminators unique to this agent run (§6.3); a restarted agent starts elsewhere.
    this.nextDiscriminator = 1 + Math.floor(Math.random() * 0x7fff0000);
    io.onDatagram((d) => this.receive(d));
  }

  /** Makes the sessions those of `peers`: new links get a session, gone ones lose theirs, changed addresses restart. */
  async setPeers(peers: readonly BfdPeer[]): Promise<void> {
    const wanted = new Map(peers.map((p) => [p.interface, p]));
    for (const [itf, e] of this.byInterface) {
      const p = wanted.get(itf);
      if (!p || p.local !== e.peer.local || p.remote !== e.peer.remote) {
        this.byInterface.delete(itf);
        this.byDiscriminator.delete(e.session.localDiscriminator);
      }
    }
    const now = this.clock.now();
    for (const p of peers) {
      if (this.byInterface.has(p.interface)) continue;
      const discriminator = this.nextDiscriminator++;
      const e: Entry = {
        peer: p,
        session: new BfdSession({ ...this.timers, localDiscriminator: discriminator }, now),
        sourcePort: SOURCE_PORT_BASE + (discriminator % 16384),
        everUp: false,
        reason: 'BFD: session starting',
      };
      this.byInterface.set(p.interface, e);
      this.byDiscriminator.set(discriminator, e);
    }
    await this.io.bind(
      peers.map((p) => ({ interface: p.interface, address: p.local })),
      BFD_PORT,
    );
    this.run();
  }

  views(): SessionView[] {
    return [...this.byInterface.values()].map((e) => this.viewOf(e));
  }

  view(itf: string): SessionView | undefined {
    const e = this.byInterface.get(itf);
    return e && this.viewOf(e);
  }

  private viewOf(e: Entry): SessionView {
    return { peer: e.peer, state: e.session.state, everUp: e.everUp, reason: e.reason, neighborAdminDown: e.session.neighborAdminDown };
  }

  /** Stops every session; each remote is told AdminDown first (RFC 5880 §6.8.16), so it keeps the link. */
  close(): void {
    if (!this.closed) for (const e of this.byInterface.values()) this.handle(e, [{ type: 'send', packet: e.session.adminDown() }]);
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private receive(d: CoreDatagram): void {
    if (this.closed || d.destinationPort !== BFD_PORT) return;
    if (d.ttl !== TTL) {
      this.discarded++;
      return;
    }
    const decoded = decodeControl(d.payload);
    if (!decoded.ok) {
      this.discarded++;
      return;
    }
    const p = decoded.packet;
    const e = p.yourDiscriminator ? this.byDiscriminator.get(p.yourDiscriminator) : this.byInterface.get(d.interface);
    if (!e || e.peer.interface !== d.interface || e.peer.remote !== d.source) {
      this.discarded++;
      return;
    }
    this.handle(e, e.session.receive(p, this.clock.now()));
    this.run();
  }

  /** Runs every timer that is due and sets the next one. */
  private run(): void {
    if (this.closed) return;
    const now = this.clock.now();
    let next = Infinity;
    for (const e of this.byInterface.values()) {
      if (e.session.nextDeadline() <= now) this.handle(e, e.session.poll(now));
      next = Math.min(next, e.session.nextDeadline());
    }
    if (next === this.timerAt && this.timer) return;
    this.timer?.cancel();
    this.timerAt = next;
    this.timer = next === Infinity ? undefined : this.clock.setTimer(() => ((this.timer = undefined), (this.timerAt = Infinity), this.run()), next - now);
  }

  private handle(e: Entry, events: BfdEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'send') {
        this.io.send({
          interface: e.peer.interface,
          source: e.peer.local,
          destination: e.peer.remote,
          sourcePort: e.sourcePort,
          destinationPort: BFD_PORT,
          ttl: TTL,
          payload: encodeControl(ev.packet),
        });
      } else {
        if (ev.to === BfdState.UP) e.everUp = true;
        e.reason = `BFD: ${ev.reason}`;
        // The session may have been replaced meanwhile (setPeers): only current ones speak.
        if (this.byInterface.get(e.peer.interface) === e) this.onChange(this.viewOf(e), ev);
      }
    }
  }
}
