// What one peer has been sent (RFC 4271 §3.2 Adj-RIB-Out) and what it still
// must be sent. Held compactly: per family a Map destination key -> the
// Loc-RIB path object last announced (a reference, never a copy: the export
// attributes are derived from it again, the same way, when needed).
//
// Work is level-triggered: a changed destination is only marked dirty; when
// the connection can take more, the current Loc-RIB best is looked up, the
// export rules applied, and the outcome compared with what was sent. So a
// route that flaps while the peer is slow is sent once, and the pending
// queue (de-duplicated when it outgrows twice its distinct keys, at least
// 64 Ki) stays within a few entries per destination. A new session walks the
// Loc-RIB with an iterator (no copy), then sends End-of-RIB (RFC 4724 §2).
// Route refresh (RFC 2918 §4) walks this Adj-RIB-Out again.
//
// RT constraint (RFC 4684): with a gate, a VPN route goes out only when the
// peer's memberships allow its RTs. The VPN families are held (not even
// walked) until the gate is ready (§6: the peer's RT membership End-of-RIB);
// a membership change walks the VPN bests again, which announces what is
// newly allowed and withdraws what is newly refused.
//
// Pure: bytes go to an UpdateWriter whose sink reports backpressure.
import { encodeAttributes, type PathAttributes } from '../wire/attributes.js';
import { Afi, Safi } from '../wire/constants.js';
import { mpReachHead } from '../wire/mp-nlri.js';
import type { NextHop } from '../wire/next-hop.js';
import { type Family, familyKey } from '../wire/nlri.js';
import { encodeEndOfRib } from '../wire/update.js';
import { RibPath, type Path } from '../rib/path.js';
import { exportAttributes, exportNextHop, mayAdvertise, type ExportPeer } from './export.js';
import { isReflection, mayReflect, reflect, type SourceSession, type TargetSession } from './reflection.js';
import type { UpdateWriter } from './update-writer.js';

/** What the outbound side reads of the speaker. */
export interface OutboundSource {
  best(family: Family, key: string): Path | undefined;
  bests(family: Family): Iterator<Path>;
  /** The session a path's source names; undefined for local paths (and unknown sources). */
  session(source: string): SourceSession | undefined;
  readonly clusterId: string;
}

/** The peer's RT membership filter (RFC 4684), when it negotiated the family. */
export interface RouteTargetGate {
  /** Its RT membership End-of-RIB arrived: VPN routes may go out. */
  readonly ready: boolean;
  allows(attributes: Readonly<PathAttributes>): boolean;
}

export interface OutboundPeer extends ExportPeer, TargetSession {
  /** Our address as next hop towards this iBGP peer (next-hop-self). */
  readonly nextHopSelf: boolean;
}

/** Export attributes of one attribute set towards this peer, encoded once. */
interface Encoded {
  readonly family: number;
  readonly source: string;
  readonly nhKey: string;
  readonly attrs: Uint8Array;
  readonly mpHead: Uint8Array | undefined;
  /** Paths queued with this encoding in the batch being built. */
  batch: Path[];
}

/** Routes per round before bytes are handed over: keeps each round short. */
const ROUND = 4096;

/** Dirty keys before the queue is de-duplicated (it may hold a key more than once). */
const MIN_DIRTY_COMPACT = 65536;

class FamilyOut {
  readonly sent = new Map<string, Path>();
  /**
   * Destinations to look at again, in marking order, from `head` on. A
   * key may appear more than once (looking at it again is a no-op: work is
   * level-triggered); the queue is de-duplicated when it outgrows
   * `compactAt`, so pending work stays within a few entries per destination.
   * An array push is much cheaper than a Set insertion on the receive path.
   */
  dirty: string[] = [];
  head = 0;
  compactAt = MIN_DIRTY_COMPACT;
  sync: Iterator<Path> | undefined;
  refresh: Iterator<Path> | undefined;
  endOfRib = false;
  /** Waiting for the RT constraint gate: nothing is produced. */
  held = false;
  constructor(readonly family: Family) {}

  /** Nothing to produce; an End-of-RIB held back (`eorHeld`) is nothing to produce yet. */
  idle(eorHeld: boolean): boolean {
    return this.held || (this.head === this.dirty.length && !this.sync && !this.refresh && !(this.endOfRib && !eorHeld));
  }

  get pending(): number {
    return this.dirty.length - this.head;
  }

  mark(key: string): void {
    if (this.dirty.push(key) >= this.compactAt) this.compact();
  }

  /** The pending keys, once each, in first-marked order. */
  private compact(): void {
    const unique = [...new Set(this.head === 0 ? this.dirty : this.dirty.slice(this.head))];
    this.dirty = unique;
    this.head = 0;
    this.compactAt = Math.max(MIN_DIRTY_COMPACT, 2 * unique.length);
  }

  /** The next pending key (call only while pending > 0). */
  next(): string {
    const key = this.dirty[this.head++]!;
    if (this.head === this.dirty.length) {
      this.dirty.length = 0;
      this.head = 0;
    }
    return key;
  }
}

function isV4Unicast(f: Family): boolean {
  return f.afi === Afi.IPV4 && f.safi === Safi.UNICAST;
}

function isVpn(f: Family): boolean {
  return f.safi === Safi.MPLS_VPN;
}

export class AdjRibOut {
  private readonly families = new Map<number, FamilyOut>();
  private readonly encodings = new WeakMap<object, Encoded[]>();
  private readonly touched: Encoded[] = [];
  /** The last encoding looked up for a received path, and that path's shared part. */
  private lastShared: object | undefined;
  private lastEncoded: Encoded | undefined;

  constructor(
    readonly peer: OutboundPeer,
    families: readonly Family[],
    private readonly source: OutboundSource,
    private readonly gate?: RouteTargetGate,
    /** End-of-RIB is held back while this says so (the speaker restarting, RFC 4724 §4.1). */
    private readonly eorHeld: () => boolean = () => false,
  ) {
    for (const f of families) this.families.set(familyKey(f.afi, f.safi), new FamilyOut(f));
  }

  /** Routes announced and held for the family. */
  count(family: Family): number {
    return this.families.get(familyKey(family.afi, family.safi))?.sent.size ?? 0;
  }

  /** What was sent, for APIs and tests. */
  sentPaths(family: Family): IterableIterator<Path> {
    return (this.families.get(familyKey(family.afi, family.safi))?.sent ?? new Map<string, Path>()).values();
  }

  get idle(): boolean {
    const held = this.eorHeld();
    for (const f of this.families.values()) if (!f.idle(held)) return false;
    return true;
  }

  /** Starts the initial advertisement: the whole Loc-RIB, then End-of-RIB. */
  startSync(): void {
    for (const f of this.families.values()) {
      f.endOfRib = true;
      if (this.gate && !this.gate.ready && isVpn(f.family)) f.held = true;
      else f.sync = this.source.bests(f.family);
    }
  }

  /**
   * The gate became ready or its memberships changed: held VPN families
   * start their initial walk, the others walk again (RFC 4684 §3.1).
   * Returns true when there is work.
   */
  routeTargetsChanged(): boolean {
    if (!this.gate?.ready) return false;
    let work = false;
    for (const f of this.families.values()) {
      if (!isVpn(f.family)) continue;
      f.held = false;
      f.sync = this.source.bests(f.family);
      work = true;
    }
    return work;
  }

  /** A destination's best changed. Returns false when the family is not carried. */
  mark(family: Family, key: string): boolean {
    const f = this.families.get(familyKey(family.afi, family.safi));
    if (!f) return false;
    f.mark(key);
    return true;
  }

  /** RFC 2918 §4: the peer asked for the family again; answered from what we sent. */
  refresh(family: Family): boolean {
    const f = this.families.get(familyKey(family.afi, family.safi));
    if (!f) return false;
    f.refresh = f.sent.values();
    return true;
  }

  /**
   * Writes pending work until done or until the writer's sink pushes back.
   * Returns true when nothing is left.
   */
  produce(w: UpdateWriter): boolean {
    const held = this.eorHeld();
    for (const f of this.families.values()) {
      while (!f.idle(held)) {
        this.round(f, w);
        if (!w.flush()) return this.idle;
      }
    }
    return true;
  }

  /** One batch of at most ROUND routes of a family into the writer. */
  private round(f: FamilyOut, w: UpdateWriter): void {
    const withdrawn: string[] = [];
    let n = 0;
    if (f.refresh) {
      for (; n < ROUND; n++) {
        const r = f.refresh.next();
        if (r.done) {
          f.refresh = undefined;
          break;
        }
        this.queue(r.value, f.family);
      }
    }
    while (n < ROUND && f.pending > 0) {
      const key = f.next();
      this.consider(f, key, this.source.best(f.family, key), withdrawn);
      n++;
    }
    if (f.sync && n < ROUND) {
      for (; n < ROUND; n++) {
        const r = f.sync.next();
        if (r.done) {
          f.sync = undefined;
          break;
        }
        this.consider(f, r.value.key, r.value, withdrawn);
      }
    }
    if (withdrawn.length) w.withdraw(f.family, withdrawn);
    for (const e of this.touched) {
      w.announce(f.family, e.attrs, e.mpHead, e.batch);
      e.batch = [];
    }
    this.touched.length = 0;
    if (f.endOfRib && !f.sync && f.pending === 0 && !f.refresh && !this.eorHeld()) {
      f.endOfRib = false;
      w.raw(encodeEndOfRib(f.family.afi, f.family.safi));
    }
  }

  /** Compares the current best with what was sent; queues the difference. */
  private consider(f: FamilyOut, key: string, best: Path | undefined, withdrawn: string[]): void {
    const sent = f.sent.get(key);
    const send = best !== undefined && this.exportable(best) ? best : undefined;
    if (send === sent) return;
    if (send) {
      f.sent.set(key, send);
      this.queue(send, f.family);
    } else {
      f.sent.delete(key);
      withdrawn.push(key);
    }
  }

  private exportable(p: Path): boolean {
    if (!mayAdvertise(p, this.peer)) return false;
    if (this.gate && isVpn(p.family) && !this.gate.allows(p.attributes)) return false;
    return mayReflect(p.source === 'local' ? undefined : this.source.session(p.source), this.peer);
  }

  private queue(p: Path, family: Family): void {
    const e = this.encoding(p, family);
    if (e.batch.length === 0) this.touched.push(e);
    e.batch.push(p);
  }

  /** The export form of a path's attribute set, cached per shared attribute object. */
  private encoding(p: Path, family: Family): Encoded {
    const fk = familyKey(family.afi, family.safi);
    // A received path's shared part (family, next hop, attributes, source)
    // decides its encoding: runs of paths sharing one skip the lookup.
    const rib = p instanceof RibPath;
    if (rib && p.shared === this.lastShared && this.lastEncoded !== undefined && this.lastEncoded.family === fk) return this.lastEncoded;
    const e = this.lookupEncoding(p, family, fk);
    this.lastShared = rib ? p.shared : undefined;
    this.lastEncoded = e;
    return e;
  }

  private lookupEncoding(p: Path, family: Family, fk: number): Encoded {
    const holder: object = p instanceof RibPath ? p.shared : p.attributes;
    const nh = this.nextHop(p);
    const nhKey = nh.linkLocal ? `${nh.address}%${nh.linkLocal}` : nh.address;
    let list = this.encodings.get(holder);
    if (list) {
      for (const e of list) if (e.source === p.source && e.nhKey === nhKey && e.family === fk) return e;
    } else this.encodings.set(holder, (list = []));
    const attrs = this.attributes(p);
    const v4 = isV4Unicast(family);
    if (v4) attrs.nextHop = nh.address;
    const e: Encoded = {
      family: fk,
      source: p.source,
      nhKey,
      attrs: encodeAttributes(attrs, this.peer.session),
      mpHead: v4 ? undefined : mpReachHead(family, nh),
      batch: [],
    };
    list.push(e);
    return e;
  }

  private nextHop(p: Path): NextHop {
    if (this.peer.nextHopSelf && !this.peer.external) return { address: this.peer.localAddress };
    return exportNextHop(p, this.peer);
  }

  private attributes(p: Path): PathAttributes {
    const out = exportAttributes(p, this.peer);
    const from = p.source === 'local' ? undefined : this.source.session(p.source);
    if (from && isReflection(from, this.peer)) reflect(out, from, this.source.clusterId);
    return out;
  }
}
