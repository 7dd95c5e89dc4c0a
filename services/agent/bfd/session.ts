// One BFD session in asynchronous mode (RFC 5880 §6), on an injectable
// clock: the caller passes the time (ms) to every call and asks when the
// next timer is due; the session returns packets to send and state changes.
// No sockets, no timers of its own (session-runner.ts drives it).
import { BfdDiag, BfdState, type BfdControl, DIAG_TEXT, STATE_NAMES } from './packet.js';

export interface BfdTimers {
  /** bfd.DesiredMinTxInterval once Up (µs). */
  desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval (µs). */
  requiredMinRxUs: number;
  /** bfd.DetectMult. */
  detectMult: number;
}

export interface BfdSessionOptions extends BfdTimers {
  /** bfd.LocalDiscr: nonzero, unique among the node's sessions (§6.8.1). */
  localDiscriminator: number;
  /** [0, 1): jitter of the transmit interval (§6.8.7). */
  random?: () => number;
}

export type BfdEvent =
  | { type: 'send'; packet: BfdControl }
  | { type: 'state'; from: BfdState; to: BfdState; diag: BfdDiag; reason: string };

/** §6.8.3: while not Up, bfd.DesiredMinTxInterval is at least one second. */
const SLOW_TX_US = 1_000_000;

export class BfdSession {
  private sessionState = BfdState.DOWN;
  private remoteState = BfdState.DOWN;
  private remoteDiscr = 0;
  private remoteAdminDown = false;
  private localDiag = BfdDiag.NONE;
  /** bfd.RemoteMinRxInterval: 1 µs until the remote tells (§6.8.1). */
  private remoteMinRxUs = 1;
  private remoteDesiredMinTxUs = 0;
  private remoteDetectMult = 0;
  /** The DesiredMinTxInterval sent in packets now, and the one the transmit interval uses. */
  private desiredTxUs = SLOW_TX_US;
  private txBasisUs = SLOW_TX_US;
  private polling = false;
  private nextTxAt: number;
  private detectAt = Infinity;
  private readonly random: () => number;

  constructor(
    private readonly o: BfdSessionOptions,
    now: number,
  ) {
    if (!o.localDiscriminator) throw new Error('a BFD session needs a nonzero local discriminator');
    this.random = o.random ?? Math.random;
    this.nextTxAt = now;
  }

  get state(): BfdState {
    return this.sessionState;
  }

  get diag(): BfdDiag {
    return this.localDiag;
  }

  get localDiscriminator(): number {
    return this.o.localDiscriminator;
  }

  get remoteDiscriminator(): number {
    return this.remoteDiscr;
  }

  /** Detection time in ms (§6.8.4, asynchronous mode); Infinity before the remote is heard. */
  get detectionTimeMs(): number {
    if (!this.remoteDetectMult) return Infinity;
    return (this.remoteDetectMult * Math.max(this.o.requiredMinRxUs, this.remoteDesiredMinTxUs)) / 1000;
  }

  /** When poll() next has something to do (ms). */
  nextDeadline(): number {
    return Math.min(this.nextTxAt, this.detectAt);
  }

  /** Whether the remote signalled AdminDown since the session was last Up (RFC 5882 §3.2: not a forwarding failure). */
  get neighborAdminDown(): boolean {
    return this.remoteAdminDown;
  }

  /**
   * Takes the session administratively down (§6.8.16) and answers the packet
   * that tells the remote so: sent when the agent stops, so that its
   * neighbours do not mistake a stopped control plane for a failed link.
   */
  adminDown(): BfdControl {
    this.sessionState = BfdState.ADMIN_DOWN;
    this.localDiag = BfdDiag.ADMINISTRATIVELY_DOWN;
    this.detectAt = Infinity;
    this.nextTxAt = Infinity;
    return this.control({});
  }

  /** A received Control packet that passed decodeControl's checks (§6.8.6). */
  receive(p: BfdControl, now: number): BfdEvent[] {
    const out: BfdEvent[] = [];
    if (p.yourDiscriminator !== 0 && p.yourDiscriminator !== this.o.localDiscriminator) return out;
    if (this.sessionState === BfdState.ADMIN_DOWN) return out;
    this.remoteDiscr = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteDesiredMinTxUs = p.desiredMinTxUs;
    this.remoteDetectMult = p.detectMult;
    if (p.final && this.polling) {
      // The Poll Sequence ends: the new transmit interval holds from now (§6.8.3).
      this.polling = false;
      this.txBasisUs = this.desiredTxUs;
    }
    if (p.state === BfdState.ADMIN_DOWN) {
      this.remoteAdminDown = true;
      if (this.sessionState !== BfdState.DOWN) this.change(BfdState.DOWN, BfdDiag.NEIGHBOR_SIGNALED_DOWN, out);
    } else if (this.sessionState === BfdState.DOWN) {
      if (p.state === BfdState.DOWN) this.change(BfdState.INIT, BfdDiag.NONE, out);
      else if (p.state === BfdState.INIT) this.change(BfdState.UP, BfdDiag.NONE, out);
    } else if (this.sessionState === BfdState.INIT) {
      if (p.state === BfdState.INIT || p.state === BfdState.UP) this.change(BfdState.UP, BfdDiag.NONE, out);
    } else if (p.state === BfdState.DOWN) {
      this.change(BfdState.DOWN, BfdDiag.NEIGHBOR_SIGNALED_DOWN, out);
    }
    // The detection timer restarts with every packet while Init or Up.
    this.detectAt = this.sessionState === BfdState.DOWN ? Infinity : now + this.detectionTimeMs;
    // A Poll is answered at once with Final, whatever the transmit timer says (§6.8.7).
    if (p.poll) out.push({ type: 'send', packet: this.control({ final: true }) });
    if (out.some((e) => e.type === 'state')) {
      // A state change goes out at once too, so the remote need not wait a whole interval.
      if (!p.poll) out.push({ type: 'send', packet: this.control({}) });
      this.scheduleTx(now);
    } else {
      // A shorter interval (ours after a Poll Sequence, or the remote's RequiredMinRx) holds from now.
      this.nextTxAt = Math.min(this.nextTxAt, now + this.intervalMs());
    }
    return out;
  }

  /** Runs the timers due at `now`: detection time expiry, periodic transmission. */
  poll(now: number): BfdEvent[] {
    const out: BfdEvent[] = [];
    if (now >= this.detectAt) {
      this.detectAt = Infinity;
      if (this.sessionState === BfdState.INIT || this.sessionState === BfdState.UP) {
        this.remoteDiscr = 0;
        this.remoteState = BfdState.DOWN;
        this.change(BfdState.DOWN, BfdDiag.CONTROL_DETECTION_TIME_EXPIRED, out);
      }
    }
    if (now >= this.nextTxAt) {
      // §6.8.7: no periodic transmission while the remote asks for none.
      if (this.remoteMinRxUs !== 0) out.push({ type: 'send', packet: this.control({}) });
      this.scheduleTx(now);
    }
    return out;
  }

  private control(flags: { final?: boolean }): BfdControl {
    return {
      diag: this.localDiag,
      state: this.sessionState,
      poll: this.polling && !flags.final,
      final: flags.final ?? false,
      cpi: false,
      demand: false,
      detectMult: this.o.detectMult,
      myDiscriminator: this.o.localDiscriminator,
      yourDiscriminator: this.remoteDiscr,
      desiredMinTxUs: this.desiredTxUs,
      requiredMinRxUs: this.o.requiredMinRxUs,
      requiredMinEchoRxUs: 0,
    };
  }

  /** §6.8.7: max(DesiredMinTx, RemoteMinRx), less 0–25% jitter (10–25% with a multiplier of 1). */
  private intervalMs(): number {
    return Math.max(this.txBasisUs, this.remoteMinRxUs) / 1000;
  }

  private scheduleTx(now: number): void {
    const intervalMs = this.intervalMs();
    const minFactor = 0.75;
    const maxFactor = this.o.detectMult === 1 ? 0.9 : 1;
    this.nextTxAt = now + intervalMs * (minFactor + (maxFactor - minFactor) * this.random());
  }

  private change(to: BfdState, diag: BfdDiag, out: BfdEvent[]): void {
    const from = this.sessionState;
    this.sessionState = to;
    if (to === BfdState.UP) this.remoteAdminDown = false;
    this.localDiag = diag;
    // §6.8.3: fast timers only while Up; a change of DesiredMinTx while Up goes through a Poll Sequence.
    const wanted = to === BfdState.UP ? Math.max(this.o.desiredMinTxUs, 1) : Math.max(this.o.desiredMinTxUs, SLOW_TX_US);
    if (wanted !== this.desiredTxUs) {
      this.desiredTxUs = wanted;
      if (to === BfdState.UP) {
        this.polling = true;
        // A shorter interval may be used at once; a longer one only after the Poll Sequence.
        if (wanted < this.txBasisUs) this.txBasisUs = wanted;
      } else {
        this.polling = false;
        this.txBasisUs = wanted;
      }
    }
    out.push({ type: 'state', from, to, diag, reason: `${STATE_NAMES[from]} -> ${STATE_NAMES[to]}: ${DIAG_TEXT[diag]}` });
  }
}
