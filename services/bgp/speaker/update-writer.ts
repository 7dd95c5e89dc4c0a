// Writes UPDATEs straight from held paths (destination key + label), many
// messages per output chunk, without building Route objects: one UPDATE per
// attribute set filled up to the session's maximum message size (RFC 4271
// §9.2 packing; RFC 8654 sizes). MP_REACH_NLRI / MP_UNREACH_NLRI always use
// the Extended Length flag (RFC 4271 §4.3 allows it at any length) so a
// message's layout is fixed before its routes are counted.
import { AttrFlag, AttrType, HEADER_LENGTH, MessageType, Safi, Afi, WITHDRAW_LABEL_FIELD } from '../wire/constants.js';
import { familyShape, type Family } from '../wire/nlri.js';
import { RibPath, NO_LABEL, type Path } from '../rib/path.js';

const CHUNK = 256 * 1024;

/** Sink of whole-message chunks; returns false when the connection asks us to wait (backpressure). */
export type ChunkSink = (chunk: Uint8Array, messages: number) => boolean;

export class UpdateWriter {
  private buf: Buffer = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private messages = 0;
  /** False once the sink pushed back; cleared by the next flush the caller makes. */
  writable = true;

  constructor(
    private readonly max: number,
    private readonly sink: ChunkSink,
  ) {}

  /** Hands what is written to the sink. */
  flush(): boolean {
    if (this.pos === 0) return this.writable;
    const chunk = this.buf.subarray(0, this.pos);
    const n = this.messages;
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
    this.messages = 0;
    this.writable = this.sink(chunk, n);
    return this.writable;
  }

  private room(): void {
    if (CHUNK - this.pos < this.max) this.flush();
  }

  /** Appends a prepared message (End-of-RIB and the like). */
  raw(message: Uint8Array): void {
    this.room();
    this.buf.set(message, this.pos);
    this.pos += message.length;
    this.messages++;
  }

  /**
   * UPDATEs announcing `paths` of one family with one attribute set.
   * `attrs`: the encoded attributes (IPv4 unicast: NEXT_HOP included);
   * `mpHead`: MP_REACH_NLRI value up to the NLRI (AFI, SAFI, next hop, reserved), undefined for IPv4 unicast.
   */
  announce(family: Family, attrs: Uint8Array, mpHead: Uint8Array | undefined, paths: readonly Path[]): void {
    const labeled = familyShape(family.afi, family.safi)!.labeled;
    let i = 0;
    while (i < paths.length) {
      this.room();
      const b = this.buf;
      const start = this.pos;
      const limit = start + this.max;
      let o = start + HEADER_LENGTH;
      b[o++] = 0;
      b[o++] = 0; // no withdrawn routes
      const aLenAt = o;
      o += 2;
      let mpLenAt = 0;
      if (mpHead) {
        b[o++] = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;
        b[o++] = AttrType.MP_REACH_NLRI;
        mpLenAt = o;
        o += 2;
        b.set(mpHead, o);
        o += mpHead.length;
      } else {
        b.set(attrs, o);
        o += attrs.length;
      }
      const nlriStart = o;
      const tail = mpHead ? attrs.length : 0;
      let n = 0;
      for (; i < paths.length; i++) {
        const p = paths[i]!;
        const need = entryLength(p, labeled);
        if (o + need + tail > limit) break;
        o = writeEntry(b, o, p, labeled);
        n++;
      }
      if (n === 0) throw new RangeError('attributes leave no room for a single route');
      if (mpHead) {
        b.writeUInt16BE(mpHead.length + (o - nlriStart), mpLenAt);
        b.set(attrs, o);
        o += attrs.length;
        b.writeUInt16BE(o - aLenAt - 2, aLenAt);
      } else {
        b.writeUInt16BE(attrs.length, aLenAt);
      }
      header(b, start, o - start);
      this.pos = o;
      this.messages++;
    }
  }

  /** UPDATEs withdrawing the destinations `keys` of one family. */
  withdraw(family: Family, keys: readonly string[]): void {
    const labeled = familyShape(family.afi, family.safi)!.labeled;
    const v4 = family.afi === Afi.IPV4 && family.safi === Safi.UNICAST;
    let i = 0;
    while (i < keys.length) {
      this.room();
      const b = this.buf;
      const start = this.pos;
      const limit = start + this.max;
      let o = start + HEADER_LENGTH;
      const wLenAt = o;
      o += 2;
      let mpLenAt = 0;
      if (!v4) {
        o += 2; // attribute length, filled below
        b[o++] = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;
        b[o++] = AttrType.MP_UNREACH_NLRI;
        mpLenAt = o;
        o += 2;
        b.writeUInt16BE(family.afi, o);
        b[o + 2] = family.safi;
        o += 3;
      }
      const nlriStart = o;
      const tail = v4 ? 2 : 0;
      for (; i < keys.length; i++) {
        const key = keys[i]!;
        const need = key.length + (labeled ? 3 : 0);
        if (o + need + tail > limit) break;
        const bits = key.charCodeAt(0) + (labeled ? 24 : 0) + (familyShape(family.afi, family.safi)!.hasRd ? 64 : 0);
        b[o++] = bits;
        if (labeled) {
          b[o++] = WITHDRAW_LABEL_FIELD >>> 16;
          b[o++] = (WITHDRAW_LABEL_FIELD >>> 8) & 0xff;
          b[o++] = WITHDRAW_LABEL_FIELD & 0xff;
        }
        for (let k = 1; k < key.length; k++) b[o++] = key.charCodeAt(k);
      }
      const nlriLen = o - nlriStart;
      if (v4) {
        b.writeUInt16BE(nlriLen, wLenAt);
        b[o++] = 0;
        b[o++] = 0;
      } else {
        b.writeUInt16BE(0, wLenAt);
        b.writeUInt16BE(3 + nlriLen, mpLenAt);
        b.writeUInt16BE(o - wLenAt - 4, wLenAt + 2);
      }
      header(b, start, o - start);
      this.pos = o;
      this.messages++;
    }
  }
}

function header(b: Buffer, at: number, length: number): void {
  b.fill(0xff, at, at + 16);
  b.writeUInt16BE(length, at + 16);
  b[at + 18] = MessageType.UPDATE;
}

function labelStack(p: Path): number | readonly number[] {
  if (p instanceof RibPath) return p.label;
  const l = p.route.labels;
  return !l || l.length === 0 ? NO_LABEL : l.length === 1 ? l[0]! : l;
}

function entryLength(p: Path, labeled: boolean): number {
  if (!labeled) return p.key.length;
  const s = labelStack(p);
  return p.key.length + 3 * (typeof s === 'number' ? 1 : s.length);
}

/** One NLRI entry: length in bits, label fields (bottom-of-stack on the last), then the key's RD and prefix. */
function writeEntry(b: Buffer, o: number, p: Path, labeled: boolean): number {
  const key = p.key;
  let bits = key.charCodeAt(0) + 8 * (key.length - 1 - ((key.charCodeAt(0) + 7) >> 3));
  const lenAt = o++;
  if (labeled) {
    const s = labelStack(p);
    if (typeof s === 'number') {
      if (s === NO_LABEL) throw new RangeError('a labeled route needs a label');
      const f = (s << 4) | 1;
      b[o++] = f >>> 16;
      b[o++] = (f >>> 8) & 0xff;
      b[o++] = f & 0xff;
      bits += 24;
    } else {
      for (let j = 0; j < s.length; j++) {
        const f = (s[j]! << 4) | (j === s.length - 1 ? 1 : 0);
        b[o++] = f >>> 16;
        b[o++] = (f >>> 8) & 0xff;
        b[o++] = f & 0xff;
        bits += 24;
      }
    }
  }
  b[lenAt] = bits;
  for (let k = 1; k < key.length; k++) b[o++] = key.charCodeAt(k);
  return o;
}
